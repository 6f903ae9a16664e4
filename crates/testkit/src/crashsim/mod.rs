//! Power-loss simulation in the spirit of ALICE and CrashMonkey: record the
//! file-system system calls of a real process with `strace`, then build the
//! states a power loss at any point could have left on disk.
//!
//! A kill only loses what the process had not yet handed to the kernel; a
//! power loss also loses what the kernel had not yet written to the disk,
//! and the disk may have written it in another order than it was issued.
//! Recording the real program's calls (rather than routing its I/O through
//! a test-only trait) tests the code that ships, with every `fsync` exactly
//! where it is.
//!
//! # Pieces
//!
//! * [`strace_command`] runs a program under `strace -f -xx` with the
//!   system calls this module understands.
//! * [`Recording::from_strace`] turns the log into [`Op`]s on an inode
//!   model of the directory tree under a root: file descriptors and
//!   offsets are tracked, paths resolved, failed calls dropped, and the
//!   `<unfinished ...>` / `<... resumed>` halves of calls from different
//!   threads joined. Every write also replays onto a live model, whose end
//!   state [`Recording::check_final`] compares with the real directory, so
//!   a parsing mistake shows up as a failure rather than as false crash
//!   states. Lines `ack N` written to standard output become [`OpKind::Ack`]
//!   markers: the program acknowledged `N` items at that point.
//! * [`Recording::crash_state`] builds one state a power loss right after
//!   the first `cut` operations could leave; [`Fs::materialize`] writes it
//!   into a directory.
//!
//! # The crash model
//!
//! Operations are split into *data* operations on an inode (write,
//! truncate, including `O_TRUNC`) and *namespace* operations (create,
//! mkdir, rename, link, unlink, rmdir). Only completed calls count; a call
//! is placed where it returned.
//!
//! 1. **Synced data survives.** A data operation on an inode followed,
//!    before the cut, by an `fsync`/`fdatasync` of that inode (through any
//!    descriptor) is kept. `fdatasync` counts as `fsync`: it persists the
//!    size as well when the size changed, which is all that matters here.
//! 2. **Synced names survive, and the journal keeps them in order.** A
//!    namespace operation in directory `D` (either directory, for a
//!    rename) followed before the cut by an `fsync` of `D` is kept, and so
//!    is every namespace operation issued before it. ext4 and XFS log
//!    metadata in one journal whose transactions commit in order, so the
//!    surviving namespace operations are always a *prefix* of those issued;
//!    a crash never shows a later rename without an earlier create. Beyond
//!    the synced prefix a random longer prefix survives. An `fsync` of a
//!    file does *not* make its name durable (POSIX does not promise it;
//!    ext4 happens to), which is the conservative choice: a new file needs
//!    an `fsync` of its directory, and a rename over an existing name that
//!    was not followed by one may leave the old file under that name.
//! 3. **Unsynced data is anyone's guess**, in one of three [`Mode`]s picked
//!    at random per state:
//!    * [`Mode::SyncedOnly`]: nothing beyond rules 1 and 2 (the disk wrote
//!      nothing on its own).
//!    * [`Mode::InOrder`]: everything issued before a random point between
//!      the last required operation and the cut (a disk that writes in
//!      order); the last write kept may be torn.
//!    * [`Mode::Reorder`]: each unsynced data operation is kept or not at
//!      random, in issue order (a disk that reorders writes: an earlier
//!      append may be lost while a later one survives, leaving zeros); a
//!      kept write may be torn. A dropped truncate drops the later data
//!      operations on that inode too, since they were issued against the
//!      truncated file.
//!
//!    A *torn* write keeps only the part before a 512-byte sector boundary
//!    inside it.
//! 4. Whatever was in the directory when recording started (the initial
//!    snapshot) is durable.
//!
//! The model assumes one traced process (threads are fine: they share the
//! descriptor table) and no shared writable `mmap` of files under the root
//! (both are checked). Every state is derived from a seed, so a failure
//! names its cut and seed and can be rebuilt exactly.

mod fsmodel;
mod parse;
mod record;
mod state;

pub use fsmodel::{Fs, Ino, Node};
pub use record::{Op, OpKind, Recording};
pub use state::{CrashState, Mode};

use std::path::{Path, PathBuf};
use std::process::Command;

/// The system calls [`Recording::from_strace`] understands; everything
/// that can change a file under the root, plus reads and seeks (which move
/// file offsets) and `mmap` (to refuse shared writable mappings).
pub const TRACED_SYSCALLS: &str = "open,openat,creat,close,dup,dup2,dup3,fcntl,\
write,pwrite64,writev,pwritev,pwritev2,read,readv,lseek,ftruncate,truncate,\
fsync,fdatasync,sync_file_range,sync,syncfs,rename,renameat,renameat2,unlink,unlinkat,\
mkdir,mkdirat,rmdir,link,linkat,symlink,symlinkat,copy_file_range,sendfile,fallocate,\
chdir,fchdir,mmap,clone,clone3,fork,vfork";

/// Largest write `strace` prints in full (`-s`); a longer one fails the
/// parse instead of silently losing bytes.
pub const MAX_STRING: usize = 8 << 20;

/// A command that runs `program` under `strace`, logging to `log` the
/// calls of [`TRACED_SYSCALLS`] with full data, for
/// [`Recording::from_strace`]. Add the program's arguments to it.
pub fn strace_command(log: &Path, program: &Path) -> Command {
    let mut c = Command::new("strace");
    c.arg("-f")
        .arg("-qq")
        .arg("-xx")
        .arg("-s")
        .arg(MAX_STRING.to_string())
        .arg("--seccomp-bpf")
        .arg("-e")
        .arg(format!("trace={TRACED_SYSCALLS}"))
        .arg("-o")
        .arg(log)
        .arg("--")
        .arg(program);
    c
}

/// The environment variable naming the root to a child of [`record_child`].
pub const CHILD_ROOT_ENV: &str = "POWERLOSS_CHILD_ROOT";

/// Runs the test named `child` of the current test binary under `strace`
/// with `envs`, after `setup` prepared the root (`<temp dir>/root`, given
/// canonical), and returns the temporary directory, the root and the
/// recording, checked against the root's final state. The child is the
/// power-loss tests' writer: it finds the root in [`CHILD_ROOT_ENV`] (and
/// returns at once when that is unset: the normal test run), does its work
/// and prints `ack N`.
pub fn record_child(
    child: &str,
    envs: &[(&str, String)],
    setup: impl FnOnce(&Path),
) -> (tempfile::TempDir, PathBuf, Recording) {
    require_strace();
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).expect("root");
    let root = root.canonicalize().expect("canonical root");
    setup(&root);
    let initial = Fs::snapshot(&root);
    let log = dir.path().join("strace.log");
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = strace_command(&log, &exe);
    cmd.args([child, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ROOT_ENV, &root);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("strace runs");
    assert!(
        out.status.success(),
        "child under strace failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).expect("strace log");
    let cwd = std::env::current_dir().expect("current dir");
    let rec = Recording::from_strace(&text, &root, &cwd, initial).expect("strace log parses");
    rec.check_final(&root)
        .expect("the model ends as the disk does");
    (dir, root, rec)
}

/// Panics, saying how to install it, when `strace` cannot be run: the
/// power-loss tests must fail rather than pass without testing anything.
pub fn require_strace() {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "strace is required by the power-loss tests (apt-get install -y strace)"
    );
}

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same crash state on every machine, so failures replay.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 for `n = 0`; the modulo bias is irrelevant
    /// here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// Mixes two numbers into a seed (for one seed per case from a base seed
/// and a case number).
pub fn mix_seed(a: u64, b: u64) -> u64 {
    Rng::new(a ^ b.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
}

#[cfg(test)]
mod tests;
