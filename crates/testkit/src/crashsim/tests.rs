//! The parser and the crash model on hand-written logs, and the whole chain
//! on a real `strace` run of this test binary.

use std::path::{Path, PathBuf};

use super::parse::{Arg, Ret, calls, parse_args};
use super::state::Fate;
use super::*;

/// Hex-encodes like `strace -xx`.
fn x(s: &str) -> String {
    let hex: String = s.bytes().map(|b| format!("\\x{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn empty_root() -> Fs {
    let d = tempfile::tempdir().unwrap();
    Fs::snapshot(d.path())
}

#[test]
fn arguments_parse_into_values() {
    let a = parse_args(&format!(
        "3, [{{iov_base={}, iov_len=2}}, {{iov_base={}, iov_len=1}}], 2",
        x("ab"),
        x("c")
    ))
    .unwrap();
    assert_eq!(a[0], Arg::Int(3));
    let Arg::Array(items) = &a[1] else { panic!() };
    assert_eq!(items.len(), 2);
    let a = parse_args(&format!(
        "AT_FDCWD, {}, O_WRONLY|O_CREAT|O_CLOEXEC, 0666",
        x("/r/f")
    ))
    .unwrap();
    assert!(a[2].has_flag("O_CREAT"));
    assert_eq!(a[1].bytes().unwrap(), b"/r/f");
    let err = parse_args(&format!("3, {}..., 100", x("ab"))).unwrap_err();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn split_calls_are_joined_and_failures_kept_apart() {
    let log = format!(
        "10 write(3, {}, 2 <unfinished ...>\n\
         11 read(4,  <unfinished ...>\n\
         10 <... write resumed>) = 2\n\
         11 <... read resumed>{}, 10) = 1\n\
         10 openat(AT_FDCWD, {}, O_RDONLY) = -1 ENOENT (No such file or directory)\n\
         10 +++ exited with 0 +++\n",
        x("ab"),
        x("z"),
        x("/nope")
    );
    let c = calls(&log).unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(
        (c[0].name.as_str(), c[0].ret, c[0].line),
        ("write", Ret::Ok(2), 3)
    );
    assert_eq!(parse_args(&c[0].args).unwrap()[1], Arg::Str(b"ab".to_vec()));
    assert_eq!(parse_args(&c[1].args).unwrap().len(), 3);
    assert_eq!(c[2].ret, Ret::Failed);
}

/// A log writing `/r/db/wal` (appending), a file renamed over another, and
/// acks, in the format strace prints.
fn sample_log() -> String {
    [
        format!("1 mkdir({}, 0777) = 0", x("/r/db")),
        format!(
            "1 openat(AT_FDCWD, {}, O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, 0666) = 3",
            x("/r/db/wal")
        ),
        format!("1 write(3, {}, 3) = 3", x("abc")),
        "1 fdatasync(3) = 0".to_string(),
        format!("1 write(1, {}, 6) = 6", x("ack 1\n")),
        format!("1 write(3, {}, 2) = 2", x("de")),
        format!(
            "1 openat(AT_FDCWD, {}, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 4",
            x("/r/db/c.tmp")
        ),
        format!(
            "1 writev(4, [{{iov_base={}, iov_len=1}}, {{iov_base={}, iov_len=1}}], 2) = 2",
            x("x"),
            x("y")
        ),
        "1 fsync(4) = 0".to_string(),
        "1 close(4) = 0".to_string(),
        format!("1 rename({}, {}) = 0", x("/r/db/c.tmp"), x("/r/db/c")),
        format!("1 openat(AT_FDCWD, {}, O_RDONLY|O_CLOEXEC) = 4", x("/r/db")),
        "1 fsync(4) = 0".to_string(),
        format!("1 write(1, {}, 6) = 6", x("ack 2\n")),
        "1 lseek(3, 0, SEEK_SET) = 0".to_string(),
        format!("1 pwrite64(3, {}, 1, 1) = 1", x("B")),
    ]
    .join("\n")
}

fn sample_recording() -> Recording {
    Recording::from_strace(&sample_log(), Path::new("/r"), Path::new("/"), empty_root()).unwrap()
}

#[test]
fn recording_resolves_descriptors_offsets_and_names() {
    let r = sample_recording();
    let files = r.live.files();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0], (PathBuf::from("db/c"), &b"xy"[..]));
    assert_eq!(files[1], (PathBuf::from("db/wal"), &b"aBcde"[..]));
    assert_eq!(r.acked(r.ops.len()), Some(2));
    assert_eq!(r.acked(5), Some(1));
    assert_eq!(r.acked(4), None);
}

#[test]
fn synced_operations_are_required_and_the_journal_keeps_order() {
    let r = sample_recording();
    let n = r.ops.len();
    let req = r.required(n);
    let kinds: Vec<&OpKind> = r.ops.iter().map(|o| &o.kind).collect();
    for (i, k) in kinds.iter().enumerate() {
        let expect = match k {
            // The directory fsync covers the rename, so every namespace
            // operation before it.
            OpKind::Mkdir { .. } | OpKind::Create { .. } | OpKind::Rename { .. } => true,
            // "abc" was fdatasynced, "de" and the pwrite were not.
            OpKind::Write { data, .. } => data == b"abc" || data == b"xy",
            _ => false,
        };
        assert_eq!(req[i], expect, "op {i}: {}", r.ops[i]);
    }
    // Before the directory fsync, nothing says c.tmp or c exist.
    let before_dirsync = kinds
        .iter()
        .position(|k| matches!(k, OpKind::DirSync { .. }))
        .unwrap();
    let req = r.required(before_dirsync);
    assert!(
        r.ops
            .iter()
            .zip(&req)
            .all(|(o, &q)| !q || o.kind.data_ino().is_some())
    );
}

#[test]
fn crash_states_keep_synced_data_and_vary_the_rest() {
    let r = sample_recording();
    let n = r.ops.len();
    let mut wal_contents = std::collections::BTreeSet::new();
    for seed in 0..300 {
        let s = r.crash_state(n, seed);
        let files = s.fs.files();
        assert_eq!(files.len(), 2, "seed {seed}: {files:?}");
        assert_eq!(files[0].1, b"xy");
        let wal = files[1].1;
        assert!(
            wal.starts_with(b"a") && wal.len() >= 3,
            "seed {seed}: {wal:?}"
        );
        wal_contents.insert(wal.to_vec());
        if s.mode == Mode::SyncedOnly {
            assert_eq!(wal, b"abc");
        }
        assert!(
            s.fates
                .iter()
                .zip(r.required(n))
                .all(|(f, q)| !q || *f == Fate::Required)
        );
    }
    // abc, abcde, aBc, aBcde, abc\0\0 ... all show up.
    assert!(wal_contents.len() >= 4, "{wal_contents:?}");
    // Before the create of c.tmp was synced, c.tmp and c may be missing.
    let missing = (0..100).any(|seed| r.crash_state(9, seed).fs.files().len() == 1);
    assert!(missing);
}

#[test]
fn torn_writes_stop_at_a_sector_boundary() {
    let data = "z".repeat(1500);
    let log = [
        format!(
            "1 openat(AT_FDCWD, {}, O_WRONLY|O_CREAT, 0666) = 3",
            x("/r/f")
        ),
        format!("1 openat(AT_FDCWD, {}, O_RDONLY) = 4", x("/r")),
        "1 fsync(4) = 0".to_string(),
        format!("1 pwrite64(3, {}, 1500, 100) = 1500", x(&data)),
    ]
    .join("\n");
    let r = Recording::from_strace(&log, Path::new("/r"), Path::new("/"), empty_root()).unwrap();
    let mut lens = std::collections::BTreeSet::new();
    for seed in 0..400 {
        lens.insert(r.crash_state(r.ops.len(), seed).fs.files()[0].1.len());
    }
    assert!(
        lens.is_subset(&[0, 512, 1024, 1536, 1600].into()),
        "{lens:?}"
    );
    assert!(lens.len() >= 3, "{lens:?}");
}

#[test]
fn processes_and_shared_mappings_are_refused() {
    let log = format!(
        "1 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 7\n{}",
        sample_log()
    );
    let e =
        Recording::from_strace(&log, Path::new("/r"), Path::new("/"), empty_root()).unwrap_err();
    assert!(e.contains("process"), "{e}");
    let log = format!(
        "{}\n1 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0) = 0x7f0000000000",
        sample_log()
    );
    let e =
        Recording::from_strace(&log, Path::new("/r"), Path::new("/"), empty_root()).unwrap_err();
    assert!(e.contains("mmap"), "{e}");
}

/// The child of [`a_real_strace_run_is_reproduced`]: ordinary std file
/// operations, as the engine uses them.
#[test]
fn strace_child() {
    let Ok(root) = std::env::var("CRASHSIM_CHILD_ROOT") else {
        return;
    };
    use std::io::{Seek, Write};
    let root = Path::new(&root);
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::write(root.join("d/a.tmp"), b"hello").unwrap();
    std::fs::File::open(root.join("d/a.tmp"))
        .unwrap()
        .sync_all()
        .unwrap();
    std::fs::rename(root.join("d/a.tmp"), root.join("d/a")).unwrap();
    std::fs::File::open(root.join("d"))
        .unwrap()
        .sync_all()
        .unwrap();
    println!("ack 1");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join("d/a"))
        .unwrap();
    f.write_all(b" world").unwrap();
    f.sync_data().unwrap();
    let mut g = std::fs::OpenOptions::new()
        .write(true)
        .open(root.join("base"))
        .unwrap();
    g.seek(std::io::SeekFrom::Start(2)).unwrap();
    g.write_all(b"XY").unwrap();
    g.set_len(5).unwrap();
    std::fs::hard_link(root.join("d/a"), root.join("d/b")).unwrap();
    std::fs::remove_file(root.join("d/a")).unwrap();
    println!("ack 2");
}

#[test]
fn a_real_strace_run_is_reproduced() {
    if std::env::var("CRASHSIM_CHILD_ROOT").is_ok() {
        return;
    }
    require_strace();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("base"), b"0123456789").unwrap();
    let root = root.canonicalize().unwrap();
    let initial = Fs::snapshot(&root);
    let log = dir.path().join("trace");
    let out = strace_command(&log, &std::env::current_exe().unwrap())
        .args([
            "crashsim::tests::strace_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("CRASHSIM_CHILD_ROOT", &root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let cwd = std::env::current_dir().unwrap();
    let rec = Recording::from_strace(&text, &root, &cwd, initial).unwrap();
    rec.check_final(&root).unwrap();
    assert_eq!(rec.acked(rec.ops.len()), Some(2));
    // After ack 1, d/a holds "hello" in every crash state.
    let ack1 = rec
        .ops
        .iter()
        .position(|o| o.kind == OpKind::Ack(1))
        .unwrap();
    for seed in 0..50 {
        let s = rec.crash_state(ack1 + 1, seed);
        let a =
            s.fs.files()
                .into_iter()
                .find(|(p, _)| p == Path::new("d/a"));
        assert_eq!(a.map(|(_, c)| c), Some(&b"hello"[..]), "seed {seed}");
    }
}
