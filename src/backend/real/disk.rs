//! Storage on a real disk: a directory of files. Writes go to a page cache in memory; `sync`
//! writes each changed file to a temporary, fsyncs it, renames it over the old one and fsyncs
//! the directory — so a crash leaves either the old or the new content, never a mix.

use crate::disk::{Storage, StorageError, check_file_name};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file in a data directory.
pub const LOCK_FILE: &str = "faultlab.lock";

/// Holds a data directory for this process (released when dropped, or when the process dies):
/// two processes writing one Raft log corrupt it for good.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (created if needed), or says which process holds it.
    pub fn acquire(dir: &Path) -> std::io::Result<DirLock> {
        use std::io::{Read, Seek};
        fs::create_dir_all(dir)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                file.seek(std::io::SeekFrom::Start(0))?;
                writeln!(file, "{}", std::process::id())?;
                file.sync_all()?;
                Ok(DirLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "{}: data directory in use by process {} (it holds {LOCK_FILE}); one \
                         node per data directory",
                        dir.display(),
                        holder.trim()
                    ),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// A directory of files as a node's disk.
pub struct DirStorage {
    dir: PathBuf,
    /// Content written since the last sync (whole files).
    pending: BTreeMap<String, Vec<u8>>,
}

fn io_err(file: &str, e: std::io::Error) -> StorageError {
    StorageError::Io {
        file: file.to_string(),
        message: e.to_string(),
    }
}

impl DirStorage {
    /// Opens (creating it if needed) the directory `dir`.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|e| io_err(&dir.display().to_string(), e))?;
        Ok(DirStorage {
            dir: dir.to_path_buf(),
            pending: BTreeMap::new(),
        })
    }

    fn durable(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match fs::read(self.dir.join(file)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(file, e)),
        }
    }

    /// Makes every pending write durable.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        let pending = std::mem::take(&mut self.pending);
        for (file, bytes) in &pending {
            let tmp = self.dir.join(format!("{file}.tmp"));
            let mut f = File::create(&tmp).map_err(|e| io_err(file, e))?;
            f.write_all(bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| io_err(file, e))?;
            fs::rename(&tmp, self.dir.join(file)).map_err(|e| io_err(file, e))?;
        }
        if !pending.is_empty() {
            let d = OpenOptions::new()
                .read(true)
                .open(&self.dir)
                .map_err(|e| io_err(".", e))?;
            d.sync_all().map_err(|e| io_err(".", e))?;
        }
        Ok(())
    }
}

impl Storage for DirStorage {
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_file_name(file)?;
        match self.pending.get(file) {
            Some(bytes) => Ok(Some(bytes.clone())),
            None => self.durable(file),
        }
    }

    fn write(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
        check_file_name(file)?;
        self.pending.insert(file.to_string(), data.to_vec());
        Ok(())
    }

    fn append(&mut self, file: &str, data: &[u8]) -> Result<(), StorageError> {
        check_file_name(file)?;
        let mut current = match self.pending.remove(file) {
            Some(bytes) => bytes,
            None => self.durable(file)?.unwrap_or_default(),
        };
        current.extend_from_slice(data);
        self.pending.insert(file.to_string(), current);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_synced_writes_reach_the_disk() -> Result<(), StorageError> {
        let dir = std::env::temp_dir().join(format!("faultlab-dirstorage-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut s = DirStorage::open(&dir)?;
        s.write("a", b"1")?;
        s.append("a", b"2")?;
        assert_eq!(s.read("a")?, Some(b"12".to_vec()));
        assert_eq!(
            DirStorage::open(&dir)?.read("a")?,
            None,
            "not durable before sync"
        );
        s.sync()?;
        assert_eq!(DirStorage::open(&dir)?.read("a")?, Some(b"12".to_vec()));
        s.append("a", b"3")?;
        drop(s); // a crash: the pending append is gone
        assert_eq!(DirStorage::open(&dir)?.read("a")?, Some(b"12".to_vec()));
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }
}
