//! Reading and saving `dashboard.json`: the previous file is copied to
//! `dashboard_backups/` first, and the new one replaces it atomically (a
//! temporary sibling, fsync, rename, directory fsync), so a crash leaves
//! either the old or the new document, never a torn one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A failed read or save.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading the configured file failed (other than "not found").
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the backup or the new file failed.
    #[error("write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The file's bytes, or `None` when it does not exist.
pub fn load(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// `<dir>/dashboard_backups/<stem>.<UTC YYYYMMDDTHHMMSS.nnnnnnnnnZ><ext>`.
pub fn backup_path(path: &Path, now: jiff::Timestamp) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let stamp = now.strftime("%Y%m%dT%H%M%S.%9fZ").to_string();
    dir.join("dashboard_backups")
        .join(format!("{stem}.{stamp}{ext}"))
}

fn werr(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Saves `content` to `path`, backing up the previous file (if any); returns
/// the backup's path.
pub fn save(path: &Path, content: &[u8]) -> Result<Option<PathBuf>, StoreError> {
    let backup = match fs::read(path) {
        Ok(old) => {
            let b = backup_path(path, jiff::Timestamp::now());
            if let Some(d) = b.parent() {
                fs::create_dir_all(d).map_err(werr(d))?;
            }
            write_atomic(&b, &old)?;
            Some(b)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(d).map_err(werr(d))?;
    }
    write_atomic(path, content)?;
    Ok(backup)
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(werr(path)(e));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(werr(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_name() {
        let t: jiff::Timestamp = "2026-05-24T12:00:01.000000042Z".parse().expect("ts");
        let p = backup_path(Path::new("/r/dashboard.json"), t);
        assert_eq!(
            p,
            Path::new("/r/dashboard_backups/dashboard.20260524T120001.000000042Z.json")
        );
    }

    #[test]
    fn save_backs_up_previous() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("dashboard.json");
        assert!(load(&f).expect("load").is_none());
        assert!(save(&f, b"one").expect("save").is_none());
        let b = save(&f, b"two").expect("save").expect("backup");
        assert_eq!(fs::read(&b).expect("read"), b"one");
        assert_eq!(load(&f).expect("load").as_deref(), Some(&b"two"[..]));
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 2);
    }
}
