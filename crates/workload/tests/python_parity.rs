//! Byte-for-byte parity with `gen_workload.py` (CPython 3.11.7).
//!
//! The expected digests were produced once with the Python script (it lives
//! outside this repository; these tests only compare against the constants):
//! `python3 gen_workload.py ARGS | sha256sum`, and for the fleet prefix
//! `python3 gen_workload.py fleet --hours 1 | head -n 200000 | sha256sum`.

use nanotdb_workload::{Options, Workload, generate, parse_start};
use sha2::{Digest, Sha256};
use std::io::{self, Write};

/// A writer that hashes everything and counts bytes and lines, stopping
/// (with an error) after `max_lines` lines.
struct Hasher {
    sha: Sha256,
    bytes: u64,
    lines: u64,
    max_lines: u64,
}

impl Hasher {
    fn new(max_lines: u64) -> Self {
        Self {
            sha: Sha256::new(),
            bytes: 0,
            lines: 0,
            max_lines,
        }
    }

    fn hex(self) -> String {
        self.sha
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut take = buf.len();
        let mut full = false;
        for (i, &b) in buf.iter().enumerate() {
            if b == b'\n' {
                self.lines += 1;
                if self.lines == self.max_lines {
                    take = i + 1;
                    full = true;
                    break;
                }
            }
        }
        self.sha.update(&buf[..take]);
        self.bytes += take as u64;
        if full {
            return Err(io::Error::other("prefix complete"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Expect {
    /// The script's arguments, for messages.
    args: &'static str,
    lines: u64,
    bytes: u64,
    sha256: &'static str,
}

fn check(opts: &Options, max_lines: u64, want: &Expect) {
    let mut h = Hasher::new(max_lines);
    let res = generate(opts, &mut h);
    if max_lines == u64::MAX {
        assert_eq!(
            res.ok(),
            Some(want.lines),
            "{}: line count returned",
            want.args
        );
    }
    assert_eq!(
        (h.lines, h.bytes),
        (want.lines, want.bytes),
        "{}: lines, bytes",
        want.args
    );
    assert_eq!(h.hex(), want.sha256, "{}: sha256", want.args);
}

fn opts(workload: Workload, hours: i64) -> Options {
    Options {
        hours,
        ..Options::new(workload)
    }
}

#[test]
fn edge_1h() {
    // python3 gen_workload.py edge --hours 1 | sha256sum
    let want = Expect {
        args: "edge --hours 1",
        lines: 30_960,
        bytes: 1_464_617,
        sha256: "3a63e25d513a3fcaa2e11e8ee18e6639e71e59b0fdf693b59ade1f9a14a3e13f",
    };
    check(&opts(Workload::Edge, 1), u64::MAX, &want);
}

#[test]
fn edge_2h_seed_db_start() {
    // python3 gen_workload.py edge --hours 2 --seed 7 --db x --start 2024-03-01 | sha256sum
    let want = Expect {
        args: "edge --hours 2 --seed 7 --db x --start 2024-03-01",
        lines: 61_920,
        bytes: 2_747_008,
        sha256: "708c903c40977d975ad202b436a0267d9220bb00d79f79433015de0d62069685",
    };
    let o = Options {
        seed: 7,
        db: Some("x".into()),
        start_ns: parse_start("2024-03-01").expect("valid date"),
        ..opts(Workload::Edge, 2)
    };
    check(&o, u64::MAX, &want);
}

#[test]
fn fleet_1h_first_200k_lines() {
    // python3 gen_workload.py fleet --hours 1 | head -n 200000 | sha256sum
    // (the whole hour is 3,600,000 lines, sha256
    // 7054d706eafa8545319122406655ba131035386ae05c39e05c1a27e8691cc35c;
    // too slow for a debug test, checked in release by hand)
    let want = Expect {
        args: "fleet --hours 1 | head -n 200000",
        lines: 200_000,
        bytes: 10_281_685,
        sha256: "71796e474cfc820149fb67da75d198622e2ebd18f872adeb4d7ad4cc498e47c7",
    };
    check(&opts(Workload::Fleet, 1), 200_000, &want);
}

#[test]
fn sparse_2h() {
    // python3 gen_workload.py sparse --hours 2 | sha256sum
    let want = Expect {
        args: "sparse --hours 2",
        lines: 1_094_772,
        bytes: 55_910_028,
        sha256: "cb5fb5a3e4771e142260ed170d656f786df48696ab004b36f11b0be7ab284083",
    };
    check(&opts(Workload::Sparse, 2), u64::MAX, &want);
}

#[test]
fn history_240h() {
    // python3 gen_workload.py history --hours 240 | sha256sum
    let want = Expect {
        args: "history --hours 240",
        lines: 46_080,
        bytes: 2_277_003,
        sha256: "c261f14802bd769805a5a5abcd85335911234a2b0eacac8975975effd38363ee",
    };
    check(&opts(Workload::History, 240), u64::MAX, &want);
}

#[test]
fn first_and_last_lines() {
    // python3 gen_workload.py edge --hours 1 | head -n 3
    let edge = nanotdb_workload::generate_to_vec(&opts(Workload::Edge, 1));
    let text = String::from_utf8(edge).expect("utf-8");
    let head: Vec<&str> = text.lines().take(3).collect();
    assert_eq!(
        head,
        [
            "edge/proc.nanotdb.rss_kb 20000 1767225600076737773",
            "edge/proc.nanotdb.threads 7 1767225600076737773",
            "edge/proc.nanotdb.fds 12 1767225600076737773",
        ]
    );
    // python3 gen_workload.py history --hours 240 | tail -n 2
    let hist = nanotdb_workload::generate_to_vec(&opts(Workload::History, 240));
    let text = String::from_utf8(hist).expect("utf-8");
    let tail: Vec<&str> = text.lines().rev().take(2).collect();
    assert_eq!(
        tail,
        [
            "history/wt4.alarm_count 0 1768089000000000000",
            "history/wt4.grid_freq_hz 50.034 1768089000000000000",
        ]
    );
}
