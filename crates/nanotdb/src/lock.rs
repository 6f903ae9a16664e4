//! Exclusive per-database lock, so two writers (two `nanocli` runs, or
//! `nanocli` beside a running server) can never write one database at once.
//!
//! The lock is an `flock` on `<db>/nanotdb.lock`, held for as long as the
//! database is open for writing; the kernel drops it when the process dies,
//! so a crash never leaves a stale lock. The file's text names the holder
//! for the error message of the process that finds it taken.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Name of the lock file inside a database directory.
pub const LOCK_FILE: &str = "nanotdb.lock";

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct DbLock {
    _file: File,
}

impl DbLock {
    /// Takes the lock of the database in `dir` or fails with
    /// [`Error::Locked`] naming the current holder.
    pub fn acquire(dir: &Path, db: &str) -> Result<DbLock> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .at(&path)?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::Locked {
                    db: db.to_string(),
                    path,
                    holder: holder.trim().to_string(),
                });
            }
            return Err(Error::io(&path, err));
        }
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unknown".into());
        let text = format!(
            "pid {} ({exe}) since {}\n",
            std::process::id(),
            crate::time::format_rfc3339(crate::time::now_ns())
        );
        file.set_len(0).at(&path)?;
        file.seek(SeekFrom::Start(0)).at(&path)?;
        file.write_all(text.as_bytes()).at(&path)?;
        Ok(DbLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = DbLock::acquire(dir.path(), "d").unwrap();
        let err = DbLock::acquire(dir.path(), "d").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Locked { .. }));
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        DbLock::acquire(dir.path(), "d").unwrap();
    }
}
