//! Running one operation as a child process, bounded in time and memory.
//!
//! Everything the sweep exercises runs in a child: a panic, an abort or a
//! runaway allocation must be observed, not take the test process down, and
//! a hang must be cut off.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one operation may take (a debug build reads the largest
/// fixture in well under a second).
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Address-space limit of each child, in KiB (`ulimit -v`): a length field
/// trusted by a decoder shows up as a failed allocation, not a swapping host.
const MEMORY_KIB: u64 = 2 * 1024 * 1024;

/// What a child did.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code; `None` when killed by a signal or by the timeout.
    pub code: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Why this outcome is a crash (panic, abort, signal, hang), if it is one.
    pub fn crash(&self) -> Option<String> {
        if self.timed_out {
            return Some(format!("hang (killed after {TIMEOUT:?})"));
        }
        if self.stderr.contains("panicked") || self.code == Some(101) {
            return Some(format!("panic: {}", tail(&self.stderr)));
        }
        match self.code {
            None => Some(format!("killed by a signal: {}", tail(&self.stderr))),
            Some(0 | 1) => None,
            Some(c) => Some(format!("unexpected exit code {c}: {}", tail(&self.stderr))),
        }
    }
}

/// The last lines of `s`, for failure messages.
pub fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

/// Runs `program args…` under `ulimit -v`, with `envs`, stdout and stderr
/// going to files in `scratch`; kills it at [`TIMEOUT`].
pub fn run(program: &Path, args: &[&str], envs: &[(&str, &str)], scratch: &Path) -> Outcome {
    let out_path = scratch.join("child.stdout");
    let err_path = scratch.join("child.stderr");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn sh");
    let started = Instant::now();
    let (code, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break (status.code(), false);
        }
        if started.elapsed() > TIMEOUT {
            // Our own child, by its id.
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Outcome {
        code,
        timed_out,
        stdout: read(&out_path),
        stderr: read(&err_path),
    }
}
