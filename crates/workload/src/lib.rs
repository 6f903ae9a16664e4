//! Deterministic line-protocol workloads for NanoTDB benchmarks and tests.
//!
//! A byte-for-byte port of `gen_workload.py` (CPython 3.11): for the same
//! workload, hours, database name, seed and start the output is identical,
//! because the generator reimplements Python's `random.Random` (MT19937 and
//! the derived distributions), `round(x, n)`, `%g` formatting and the
//! script's float32 printing, and performs the float operations in the
//! same order.
//!
//! Every line is `DB/metric VALUE TIMESTAMP_NS`, globally sorted by
//! timestamp, so any output can be imported as-is.
//!
//! ```
//! use nanotdb_workload::{Options, Workload, generate};
//!
//! let mut opts = Options::new(Workload::Edge);
//! opts.hours = 1;
//! let mut out = Vec::new();
//! let lines = generate(&opts, &mut out).unwrap();
//! assert_eq!(lines, 30_960);
//! assert!(out.starts_with(b"edge/proc.nanotdb.rss_kb 20000 "));
//! ```

#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod pyfmt;
pub mod pyrandom;
mod series;
mod start;
mod workloads;

pub use pyrandom::PyRandom;
pub use start::parse_start;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

/// 2026-01-01 00:00:00 UTC in nanoseconds: the script's default `START_NS`.
pub const DEFAULT_START_NS: i64 = 1_767_225_600_000_000_000;

/// Errors from parsing workload names and start times.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The workload name is not one of `edge`, `fleet`, `sparse`, `history`.
    #[error("unknown workload {0:?} (expected edge, fleet, sparse or history)")]
    UnknownWorkload(String),
    /// The start is neither unix seconds nor `YYYY-MM-DD[THH[:MM[:SS]]]`.
    #[error("invalid start {0:?} (expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or unix seconds)")]
    InvalidStart(String),
    /// The start does not fit in signed 64-bit nanoseconds.
    #[error("start {0:?} is out of range")]
    StartOutOfRange(String),
}

/// Which workload to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Workload {
    /// One edge box: ~90 host and sensor metrics scraped every 10 s by six
    /// collectors with small jitter (30,960 lines per hour).
    Edge,
    /// 1,000 server metrics scraped every second, sharing one timestamp per
    /// scrape (3.6 M lines per hour).
    Fleet,
    /// 5,000 metrics written irregularly (Poisson), so pages interleave many
    /// metrics with few samples each (~550 k lines per hour).
    Sparse,
    /// 4 wind turbines x 8 SCADA variables every 10 minutes (192 lines per
    /// hour); meant for long ranges such as `hours = 17_520` (two years).
    History,
}

impl Workload {
    /// All workloads, in the script's order.
    pub const ALL: [Workload; 4] = [Self::Edge, Self::Fleet, Self::Sparse, Self::History];

    /// The command-line name, which is also the default database name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Edge => "edge",
            Self::Fleet => "fleet",
            Self::Sparse => "sparse",
            Self::History => "history",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| Error::UnknownWorkload(s.to_owned()))
    }
}

/// What to generate: the script's command-line arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The workload.
    pub workload: Workload,
    /// Length of the generated range in hours (`--hours`, default 24).
    /// Zero or negative gives no lines.
    pub hours: i64,
    /// Database name (`--db`); `None` or empty means the workload's name.
    pub db: Option<String>,
    /// Seed of `random.Random(seed)` (`--seed`, default 1).
    pub seed: i64,
    /// First timestamp in unix nanoseconds (`--start`, default
    /// [`DEFAULT_START_NS`]); see [`parse_start`].
    pub start_ns: i64,
}

impl Options {
    /// The script's defaults for `workload`: 24 hours, seed 1, database
    /// named after the workload, starting 2026-01-01.
    pub fn new(workload: Workload) -> Self {
        Self {
            workload,
            hours: 24,
            db: None,
            seed: 1,
            start_ns: DEFAULT_START_NS,
        }
    }

    /// The database name written before each metric (`args.db or workload`).
    pub fn db_name(&self) -> &str {
        match self.db.as_deref() {
            Some(db) if !db.is_empty() => db,
            _ => self.workload.name(),
        }
    }
}

/// Writes the workload described by `opts` to `out` and returns the number
/// of lines. Output is buffered internally, and `out` is flushed at the end.
///
/// Fails with [`io::ErrorKind::InvalidInput`] when the last timestamp would
/// not fit in an `i64`, and otherwise only with the writer's errors.
pub fn generate<W: Write + ?Sized>(opts: &Options, out: &mut W) -> io::Result<u64> {
    let hours = i128::from(opts.hours.max(0));
    // Edge scrapes may land up to 0.92 s after the last 10 s slot.
    let last = i128::from(opts.start_ns) + hours * 3_600_000_000_000 + 1_000_000_000;
    if last > i128::from(i64::MAX) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} hours from {} ns overflow i64 nanoseconds",
                opts.hours, opts.start_ns
            ),
        ));
    }
    let run = workloads::Run {
        db: opts.db_name(),
        hours: opts.hours,
        start_ns: opts.start_ns,
        start_s: opts.start_ns.div_euclid(1_000_000_000),
    };
    let mut rng = PyRandom::new(opts.seed);
    let mut lines = workloads::Lines::new(out);
    match opts.workload {
        Workload::Edge => workloads::edge(&run, &mut rng, &mut lines)?,
        Workload::Fleet => workloads::fleet(&run, &mut rng, &mut lines)?,
        Workload::Sparse => workloads::sparse(&run, &mut rng, &mut lines)?,
        Workload::History => workloads::history(&run, &mut rng, &mut lines)?,
    }
    lines.finish()
}

/// [`generate`] into memory.
pub fn generate_to_vec(opts: &Options) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; an out-of-range request yields nothing.
    let _ = generate(opts, &mut out);
    out
}

/// The default-seed, default-start file `DIR/<workload>-<hours>h.lp`,
/// generated on first use (through a temporary file, so an interrupted run
/// never leaves a short file behind). For benchmarks, which share one copy.
pub fn cached_file(
    dir: &std::path::Path,
    workload: Workload,
    hours: i64,
) -> io::Result<std::path::PathBuf> {
    let path = dir.join(format!("{}-{hours}h.lp", workload.name()));
    if path.is_file() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = Options::new(workload);
    opts.hours = hours;
    generate(&opts, &mut std::fs::File::create(&tmp)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>(), Ok(w));
            assert_eq!(w.to_string(), w.name());
        }
        assert!(matches!(
            "Edge".parse::<Workload>(),
            Err(Error::UnknownWorkload(_))
        ));
    }

    #[test]
    fn db_name_defaults_like_the_script() {
        let mut o = Options::new(Workload::Sparse);
        assert_eq!(o.db_name(), "sparse");
        o.db = Some(String::new());
        assert_eq!(o.db_name(), "sparse");
        o.db = Some("events".into());
        assert_eq!(o.db_name(), "events");
    }

    #[test]
    fn non_positive_hours_give_nothing() {
        for w in Workload::ALL {
            for hours in [0, -3] {
                let o = Options {
                    hours,
                    ..Options::new(w)
                };
                assert!(generate_to_vec(&o).is_empty(), "{w} {hours}");
            }
        }
    }

    #[test]
    fn out_of_range_end_is_rejected() {
        let o = Options {
            start_ns: i64::MAX - 1_000,
            ..Options::new(Workload::History)
        };
        let err = generate(&o, &mut Vec::new()).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::InvalidInput));
    }
}
