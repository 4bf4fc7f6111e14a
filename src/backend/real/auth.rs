//! Who may speak on a real cluster's sockets.
//!
//! Without a key, a datagram is believed only from where its sender is known to be: a node's
//! messages only from that node's configured address, a client's only from the address its
//! first datagram came from (bound for as long as the client stays in the bounded table). With
//! a shared cluster key (`--cluster-key FILE`), every datagram also carries a MAC
//! (HMAC-SHA-256, truncated to 128 bits) over the sender's epoch and the whole envelope, and a
//! per-sender window refuses replays: a sender's epoch (a node's incarnation, a load run's start
//! time) only grows, and within an epoch each message id is accepted once.
//!
//! Nothing here is encrypted: a key authenticates, it does not hide.

use crate::ids::Addr;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

type HmacSha256 = Hmac<Sha256>;

/// The first bytes of an authenticated datagram (and the MAC's domain separator).
const MAGIC: &[u8; 4] = b"FLK1";
/// MAC bytes on the wire.
const TAG_BYTES: usize = 16;
/// Magic, epoch, tag.
pub const AUTH_HEADER_BYTES: usize = 4 + 8 + TAG_BYTES;
/// A key file must hold at least this much secret.
pub const KEY_BYTES_MIN: usize = 16;
/// Message ids a window remembers below the highest seen (late datagrams within it pass once).
const WINDOW_IDS: u64 = 64;

/// A key file that cannot be used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// It cannot be read.
    #[error("{file}: cannot read the cluster key: {message}")]
    Io {
        /// The file.
        file: String,
        /// What the OS said.
        message: String,
    },
    /// It holds too little.
    #[error(
        "{file}: a cluster key needs at least {min} bytes of secret (it has {bytes}); e.g. `head -c 32 /dev/urandom > {file}`"
    )]
    TooShort {
        /// The file.
        file: String,
        /// What it holds (trailing whitespace trimmed).
        bytes: usize,
        /// The minimum.
        min: usize,
    },
}

/// A datagram that failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AuthError {
    /// Too short, or without the magic: not sealed with any key.
    #[error("not an authenticated datagram")]
    Unsealed,
    /// The MAC does not match: another key, or changed in flight.
    #[error("bad MAC")]
    BadMac,
}

/// The shared secret of a cluster.
#[derive(Clone)]
pub struct ClusterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(..)")
    }
}

impl ClusterKey {
    /// A key from secret bytes (any length of at least [`KEY_BYTES_MIN`]: hashed to 32).
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"faultlab cluster key v1\0");
        h.update(secret);
        ClusterKey {
            key: h.finalize().into(),
        }
    }

    /// Reads a key file. Trailing whitespace (a newline an editor added) is not part of the
    /// secret. Warns when others can read the file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| KeyError::Io {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let secret = bytes.trim_ascii_end();
        if secret.len() < KEY_BYTES_MIN {
            return Err(KeyError::TooShort {
                file,
                bytes: secret.len(),
                min: KEY_BYTES_MIN,
            });
        }
        warn_if_readable_by_others(path);
        Ok(Self::from_secret(secret))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length; 32 bytes never fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        }
    }

    /// `envelope` sealed by a sender in `epoch`.
    pub fn seal(&self, epoch: u64, envelope: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(AUTH_HEADER_BYTES + envelope.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&epoch.to_le_bytes());
        let mut mac = self.mac();
        mac.update(&out);
        mac.update(envelope);
        let tag = mac.finalize().into_bytes();
        out.extend_from_slice(&tag[..TAG_BYTES]);
        out.extend_from_slice(envelope);
        out
    }

    /// The sender's epoch and the envelope of a datagram this key sealed.
    pub fn open<'a>(&self, datagram: &'a [u8]) -> Result<(u64, &'a [u8]), AuthError> {
        let (head, envelope) = datagram
            .split_at_checked(AUTH_HEADER_BYTES)
            .ok_or(AuthError::Unsealed)?;
        let (signed, tag) = head.split_at(4 + 8);
        if &signed[..4] != MAGIC {
            return Err(AuthError::Unsealed);
        }
        let mut mac = self.mac();
        mac.update(signed);
        mac.update(envelope);
        mac.verify_truncated_left(tag)
            .map_err(|_| AuthError::BadMac)?;
        let mut epoch = [0u8; 8];
        epoch.copy_from_slice(&signed[4..]);
        Ok((u64::from_le_bytes(epoch), envelope))
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "the cluster key file can be read by other users: chmod 600 it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// One sender's replay window.
#[derive(Debug, Clone, Copy)]
struct Window {
    epoch: u64,
    highest: u64,
    /// Bit `i`: message id `highest - i` was seen.
    seen: u64,
}

/// Why an authenticated datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// From an epoch before the sender's latest (an old incarnation).
    StaleEpoch,
    /// This message id was already accepted, or is too far below the highest.
    Seen,
}

/// Per-sender replay windows, bounded: the least recently heard sender is forgotten first
/// (forgetting only lets its still-valid old datagrams in once more, within its epoch).
#[derive(Debug)]
pub struct ReplayGuard {
    windows: BTreeMap<Addr, (Window, u64)>,
    senders_max: usize,
    clock: u64,
}

impl ReplayGuard {
    /// Remembers at most `senders_max` senders.
    pub fn new(senders_max: usize) -> Self {
        ReplayGuard {
            windows: BTreeMap::new(),
            senders_max: senders_max.max(1),
            clock: 0,
        }
    }

    /// Accepts message `msg_id` of `from` in `epoch` once.
    pub fn accept(&mut self, from: Addr, epoch: u64, msg_id: u64) -> Result<(), Replay> {
        self.clock += 1;
        let now = self.clock;
        let Some((w, last)) = self.windows.get_mut(&from) else {
            if self.windows.len() >= self.senders_max {
                let oldest = self
                    .windows
                    .iter()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(a, _)| *a);
                if let Some(a) = oldest {
                    self.windows.remove(&a);
                }
            }
            let w = Window {
                epoch,
                highest: msg_id,
                seen: 1,
            };
            self.windows.insert(from, (w, now));
            return Ok(());
        };
        *last = now;
        if epoch < w.epoch {
            return Err(Replay::StaleEpoch);
        }
        if epoch > w.epoch {
            *w = Window {
                epoch,
                highest: msg_id,
                seen: 1,
            };
            return Ok(());
        }
        if msg_id > w.highest {
            let shift = msg_id - w.highest;
            w.seen = if shift >= WINDOW_IDS {
                0
            } else {
                w.seen << shift
            };
            w.seen |= 1;
            w.highest = msg_id;
            return Ok(());
        }
        let back = w.highest - msg_id;
        if back >= WINDOW_IDS || w.seen & (1 << back) != 0 {
            return Err(Replay::Seen);
        }
        w.seen |= 1 << back;
        Ok(())
    }

    /// Senders remembered.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// True when it remembers no sender.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, NodeId};

    fn key(s: &str) -> ClusterKey {
        ClusterKey::from_secret(s.as_bytes())
    }

    #[test]
    fn a_sealed_datagram_opens_with_its_key_only_and_not_after_any_bit_flips() {
        let k = key("correct horse battery staple");
        let sealed = k.seal(7, b"envelope bytes");
        assert_eq!(k.open(&sealed), Ok((7, &b"envelope bytes"[..])));
        assert_eq!(
            key("another key entirely!").open(&sealed),
            Err(AuthError::BadMac)
        );
        for bit in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(k.open(&bad).is_err(), "bit {bit} flipped was accepted");
        }
        assert_eq!(k.open(b"short"), Err(AuthError::Unsealed));
        assert_eq!(k.open(&[0u8; 64]), Err(AuthError::Unsealed));
    }

    #[test]
    fn each_message_id_passes_once_and_old_epochs_never() {
        let mut g = ReplayGuard::new(8);
        let n = Addr::Node(NodeId(1));
        assert_eq!(g.accept(n, 3, 10), Ok(()));
        assert_eq!(g.accept(n, 3, 10), Err(Replay::Seen));
        assert_eq!(g.accept(n, 3, 12), Ok(()));
        assert_eq!(g.accept(n, 3, 11), Ok(()), "late but within the window");
        assert_eq!(g.accept(n, 3, 11), Err(Replay::Seen));
        assert_eq!(g.accept(n, 3, 200), Ok(()));
        assert_eq!(
            g.accept(n, 3, 12),
            Err(Replay::Seen),
            "too far below the highest"
        );
        assert_eq!(g.accept(n, 2, 500), Err(Replay::StaleEpoch));
        assert_eq!(g.accept(n, 4, 1), Ok(()), "a new incarnation starts over");
        assert_eq!(g.accept(n, 3, 201), Err(Replay::StaleEpoch));
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut g = ReplayGuard::new(4);
        for c in 0..100 {
            assert_eq!(g.accept(Addr::Client(ClientId(c)), 1, 1), Ok(()));
            assert!(g.len() <= 4);
        }
    }
}
