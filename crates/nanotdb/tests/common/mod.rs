//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's `../shared` (override with `NANOTDB_SHARED`).
pub fn shared_dir() -> PathBuf {
    if let Ok(p) = std::env::var("NANOTDB_SHARED") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.join("fixtures").is_dir(),
        "fixtures not found at {} (set NANOTDB_SHARED)",
        p.display()
    );
    p
}

/// A fixture folder path.
pub fn fixture(name: &str) -> PathBuf {
    shared_dir().join("fixtures").join(name)
}

/// Copies a read-only fixture tree into a fresh writable temp dir.
pub fn copy_tree(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(src, dir.path());
    dir
}

/// Recursive copy that makes everything writable.
pub fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).expect("mkdir");
    for e in fs::read_dir(src).expect("read_dir") {
        let e = e.expect("entry");
        let to = dst.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).expect("copy");
            let mut perm = fs::metadata(&to).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            fs::set_permissions(&to, perm).expect("chmod");
        }
    }
}

/// Runs `../shared/tools/lpcompare.py EXPECTED ACTUAL [--rename ...]` and
/// panics with its output when the files differ.
pub fn lpcompare(expected: &Path, actual: &Path, renames: &[(&str, &str)]) {
    let mut cmd = Command::new("python3");
    cmd.arg(shared_dir().join("tools/lpcompare.py"))
        .arg(expected)
        .arg(actual);
    for (a, b) in renames {
        cmd.arg("--rename").arg(format!("{a}={b}"));
    }
    let out = cmd.output().expect("run python3 lpcompare.py");
    assert!(
        out.status.success(),
        "lpcompare {} vs {} failed:\n{}{}",
        expected.display(),
        actual.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checksums of every file under `root` (path → bytes), to prove a
/// read-only operation changed nothing.
pub fn snapshot_tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut entries: Vec<_> = fs::read_dir(dir).expect("read_dir").flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                out.push((p.clone(), Vec::new()));
                walk(&p, out);
            } else {
                out.push((p.clone(), fs::read(&p).expect("read")));
            }
        }
    }
    walk(root, &mut out);
    out
}

/// Writes the first `n` lines of `src` into `dst`.
pub fn head_lines(src: &Path, dst: &Path, n: usize) {
    let text = fs::read_to_string(src).expect("read");
    let mut s = String::new();
    for l in text.lines().take(n) {
        s.push_str(l);
        s.push('\n');
    }
    fs::write(dst, s).expect("write");
}

/// Counts the lines of a file.
pub fn count_lines(p: &Path) -> usize {
    fs::read_to_string(p).expect("read").lines().count()
}
