//! Exclusive per-database lock, so two writers (two `nanocli` runs, or
//! `nanocli` beside a running server) can never write one database at once.
//!
//! The lock is an `flock` (`File::try_lock`) on `<db>/nanotdb.lock`, held for as long as the
//! database is open for writing; the kernel drops it when the process dies,
//! so a crash never leaves a stale lock. The file's text names the holder
//! for the error message of the process that finds it taken.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

use crate::layout::{DB_LOCK_FILE, ROOT_LOCK_FILE};

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct DbLock {
    _file: File,
}

impl DbLock {
    /// Takes the lock of the database in `dir` or fails with
    /// [`Error::Locked`] naming the current holder.
    pub fn acquire(dir: &Path, db: &str) -> Result<DbLock> {
        let file = take(&dir.join(DB_LOCK_FILE), |path, holder| Error::Locked {
            db: db.to_string(),
            path,
            holder,
        })?;
        Ok(DbLock { _file: file })
    }
}

/// The lock a server holds on its whole data root, so a second server on the
/// same root refuses to start instead of serving errors for every database
/// the first one has open. `nanocli` does not take it: it locks only the
/// databases it writes.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
}

impl RootLock {
    /// Takes the lock of the data root `root` or fails with
    /// [`Error::RootLocked`] naming the current holder.
    pub fn acquire(root: &Path) -> Result<RootLock> {
        let file = take(&root.join(ROOT_LOCK_FILE), |path, holder| {
            Error::RootLocked {
                root: root.to_path_buf(),
                path,
                holder,
            }
        })?;
        Ok(RootLock { _file: file })
    }
}

/// Takes an exclusive lock on the file at `path` (created if missing) and
/// writes the holder's description into it; when another process holds it,
/// fails with `held(path, holder)`.
fn take(path: &Path, held: impl FnOnce(PathBuf, String) -> Error) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .at(path)?;
    // The holder may be this very process, for a moment: a child being
    // spawned by another thread holds a copy of every descriptor until it
    // execs, so a lock just released here can still be held by that copy.
    // Such a conflict is waited out (briefly); another holder is not.
    let own = format!("pid {} ", std::process::id());
    let mut waited = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.seek(SeekFrom::Start(0));
                let _ = file.read_to_string(&mut holder);
                if holder.starts_with(&own) && waited < 100 {
                    waited += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                return Err(held(path.to_path_buf(), holder.trim().to_string()));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(path, e)),
        }
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
    file.set_len(0).at(path)?;
    file.seek(SeekFrom::Start(0)).at(path)?;
    file.write_all(text.as_bytes()).at(path)?;
    Ok(file)
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

#[cfg(test)]
mod root_tests {
    use super::*;

    #[test]
    fn a_second_server_lock_on_one_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = RootLock::acquire(dir.path()).unwrap();
        let err = RootLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, Error::RootLocked { .. }), "{err}");
        assert!(err.to_string().contains("already served"), "{err}");
        drop(first);
        RootLock::acquire(dir.path()).unwrap();
    }
}
