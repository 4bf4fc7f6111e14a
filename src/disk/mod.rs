//! Durable storage as services see it (the [`Storage`] contract), and the simulated disk the
//! world keeps for each node. Below both the node layer and the world, so neither imports the
//! other.
//!
//! The contract is the POSIX one that matters for crash consistency: writes land in a page
//! cache and are visible to reads at once, but only a completed `sync` makes them durable. A
//! crash throws away everything written since the last completed sync. Services never see the
//! simulator; they get a `&mut dyn Storage`.
//!
//! Every failure is a [`StorageError`] value: a disk that is full, a sync that failed, a name
//! that would escape the data directory. Nothing here panics on what a disk does.

mod sim;

pub use sim::{CrashLoss, DiskEffect, DiskRule, SECTOR_BYTES, SimDisk};

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
    /// The disk is full (ENOSPC): the write did not happen.
    #[error("no space left on device writing {file}")]
    NoSpace {
        /// The file.
        file: String,
    },
    /// A sync failed (EIO). Like Linux after a failed fsync, the writes it was to make durable
    /// may be gone, even if a later sync succeeds.
    #[error("sync failed: {message}")]
    SyncFailed {
        /// What the disk said.
        message: String,
    },
}

/// What a service may do with its node's disk between two inputs.
pub trait Storage {
    /// The file's current content (including unsynced writes), if it exists.
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Replaces the file's content, atomically: a crash before the next sync completes leaves
    /// the old content or the new, never a mix. Not durable until that sync.
    fn write(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError>;
    /// Appends to the file. Not durable until the next sync completes; a crash before then may
    /// keep any prefix of the unsynced appends (a torn write), so readers must tell a torn tail
    /// from a complete record.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape() {
        assert!(check_file_name("../etc/passwd").is_err());
        assert!(check_file_name(".hidden").is_err());
        assert!(check_file_name("").is_err());
        assert!(check_file_name("idgen.state").is_ok());
    }
}
