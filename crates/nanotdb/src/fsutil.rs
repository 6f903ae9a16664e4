//! Small filesystem helpers shared by the writers.

use std::fs;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Fsyncs the directory holding `path`, so a rename or create in it survives
/// a power loss.
pub fn sync_parent(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(dir)
}

/// Fsyncs a directory.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).at(dir)?.sync_all().at(dir)
}

/// Writes `bytes` to `path` atomically: a `.tmp` sibling, fsync, rename,
/// directory fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp).at(&tmp)?;
        f.write_all(bytes).at(&tmp)?;
        f.sync_all().at(&tmp)?;
    }
    fs::rename(&tmp, path).at(path)?;
    sync_parent(path)
}

/// Keeps the bytes of `path` from `offset` to its end in a sibling file whose
/// name says why (`<name>.torn-at-<offset>`, never ending in `.dat`/`.wal`),
/// then truncates `path` to `offset`. Returns the copy's path.
pub fn preserve_and_truncate(path: &Path, offset: u64) -> Result<std::path::PathBuf> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let copy = unused_sibling(path, &format!("torn-at-{offset}"));
    let mut src = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .at(path)?;
    src.seek(SeekFrom::Start(offset)).at(path)?;
    let mut tail = Vec::new();
    src.read_to_end(&mut tail).at(path)?;
    {
        let mut out = fs::File::create(&copy).at(&copy)?;
        out.write_all(&tail).at(&copy)?;
        out.sync_all().at(&copy)?;
    }
    src.set_len(offset).at(path)?;
    src.sync_all().at(path)?;
    sync_parent(path)?;
    Ok(copy)
}

/// Keeps `bytes`, the whole content of `path` before it is rewritten, in a
/// sibling `<name>.damaged-at-<offset>` (fsynced) for inspection.
pub fn preserve_copy(path: &Path, bytes: &[u8], offset: u64) -> Result<std::path::PathBuf> {
    use std::io::Write;
    let copy = unused_sibling(path, &format!("damaged-at-{offset}"));
    let mut out = fs::File::create(&copy).at(&copy)?;
    out.write_all(bytes).at(&copy)?;
    out.sync_all().at(&copy)?;
    sync_parent(&copy)?;
    Ok(copy)
}

/// `<name>.<label>`, or with `.1`, `.2`, … appended if that exists.
fn unused_sibling(path: &Path, label: &str) -> std::path::PathBuf {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut copy = path.with_file_name(format!("{file_name}.{label}"));
    let mut n = 1;
    while copy.exists() {
        copy = path.with_file_name(format!("{file_name}.{label}.{n}"));
        n += 1;
    }
    copy
}
