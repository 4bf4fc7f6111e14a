//! Durable storage as services see it (the [`Storage`] contract), and the simulated disk the
//! world keeps for each node. Below both the node layer and the world, so neither imports the
//! other.
//!
//! The contract is the POSIX one that matters for crash consistency: writes land in a page
//! cache and are visible to reads at once, but only a completed `sync` makes them durable. A
//! crash throws away everything written since the last completed sync. Services never see the
//! simulator; they get a `&mut dyn Storage`.

use std::collections::BTreeMap;
use thiserror::Error;

/// A storage operation that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StorageError {
    /// The name would escape the data directory.
    #[error("file name {0:?} is not a plain name")]
    BadName(String),
    /// The operating system refused.
    #[error("i/o error on {file}: {message}")]
    Io {
        /// The file.
        file: String,
        /// What the operating system said.
        message: String,
    },
}

/// What a service may do with its node's disk between two inputs.
pub trait Storage {
    /// The file's current content (including unsynced writes), if it exists.
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Replaces the file's content. Not durable until the next sync completes.
    fn write(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError>;
    /// Appends to the file. Not durable until the next sync completes.
    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError>;
}

/// Rejects names that would escape a data directory on a real disk.
pub fn check_file_name(file: &str) -> Result<(), StorageError> {
    let plain = !file.is_empty()
        && file.len() <= 128
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !file.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(StorageError::BadName(file.to_string()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SimFile {
    durable: Option<Vec<u8>>,
    cached: Option<Vec<u8>>,
}

/// One node's simulated disk. Owned by the world, so it outlives crashes of the node.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    files: BTreeMap<String, SimFile>,
}

/// What a crash did to a disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrashLoss {
    /// Files whose page cache was thrown away.
    pub files_reverted: u32,
    /// Unsynced bytes lost.
    pub bytes_lost: u64,
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes written but not yet durable.
    pub fn unsynced_bytes(&self) -> u64 {
        self.files
            .values()
            .filter(|f| f.cached != f.durable)
            .map(|f| f.cached.as_ref().map_or(0, |c| c.len() as u64))
            .sum()
    }

    /// Makes every write so far durable. Called when a sync *completes*.
    pub fn sync_all(&mut self) {
        for f in self.files.values_mut() {
            if f.cached != f.durable {
                f.durable.clone_from(&f.cached);
            }
        }
    }

    /// Power loss: the page cache is gone; durable content survives.
    pub fn crash(&mut self) -> CrashLoss {
        let mut loss = CrashLoss::default();
        for f in self.files.values_mut() {
            if f.cached != f.durable {
                loss.files_reverted += 1;
                loss.bytes_lost += f.cached.as_ref().map_or(0, |c| c.len() as u64);
                f.cached.clone_from(&f.durable);
            }
        }
        self.files.retain(|_, f| f.durable.is_some());
        loss
    }
}

impl Storage for SimDisk {
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_file_name(file)?;
        Ok(self.files.get(file).and_then(|f| f.cached.clone()))
    }

    fn write(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
        check_file_name(file)?;
        self.files.entry(file.to_string()).or_default().cached = Some(data.to_vec());
        Ok(())
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
        check_file_name(file)?;
        let f = self.files.entry(file.to_string()).or_default();
        f.cached
            .get_or_insert_with(Vec::new)
            .extend_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_are_lost_on_crash() -> Result<(), StorageError> {
        let mut d = SimDisk::new();
        d.write("a", b"one")?;
        d.sync_all();
        d.write("a", b"two")?;
        d.append("b", b"xy")?;
        assert_eq!(d.read("a")?, Some(b"two".to_vec()));
        assert_eq!(d.unsynced_bytes(), 5);
        let loss = d.crash();
        assert_eq!(
            loss,
            CrashLoss {
                files_reverted: 2,
                bytes_lost: 5
            }
        );
        assert_eq!(d.read("a")?, Some(b"one".to_vec()));
        assert_eq!(d.read("b")?, None);
        Ok(())
    }

    #[test]
    fn synced_appends_survive() -> Result<(), StorageError> {
        let mut d = SimDisk::new();
        d.append("log", b"ab")?;
        d.append("log", b"cd")?;
        d.sync_all();
        assert_eq!(d.crash(), CrashLoss::default());
        assert_eq!(d.read("log")?, Some(b"abcd".to_vec()));
        Ok(())
    }

    #[test]
    fn names_cannot_escape() {
        assert!(check_file_name("../etc/passwd").is_err());
        assert!(check_file_name(".hidden").is_err());
        assert!(check_file_name("").is_err());
        assert!(check_file_name("idgen.state").is_ok());
    }
}
