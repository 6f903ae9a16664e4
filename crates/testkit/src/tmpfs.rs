//! A small tmpfs for disk-full tests: a real ENOSPC without filling the
//! machine's disk. Mounting needs root, as CI has; without it the tests
//! fail and say so (they never pass by skipping).

use std::io::Write;
use std::path::Path;
use std::process::Command;

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop.
pub struct Tmpfs {
    /// The mount point.
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=`, e.g. `"1m"`).
    pub fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs (this test needs root, as CI has): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    /// A data root on the tmpfs with `engine_toml`.
    pub fn root_with(&self, engine_toml: &str) -> std::path::PathBuf {
        let root = self.dir.path().join("root");
        std::fs::create_dir_all(&root).expect("mkdir root");
        std::fs::write(root.join("engine.toml"), engine_toml).expect("write engine.toml");
        root
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the filesystem holding `path` by writing `path` until a write
/// fails (remove the file to give the room back).
pub fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
}
