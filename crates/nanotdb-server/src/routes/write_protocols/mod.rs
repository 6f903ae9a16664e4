//! The write endpoints real agents use: Prometheus remote write 1.0
//! ([`remote_write`]) and the InfluxDB line protocol ([`influx`]). Their wire
//! formats are decoded by `nanotdb-protocols`; this module maps the decoded
//! series to databases and samples and stores them.
//!
//! Unlike `/api/v1/import`, these writes are not all-or-nothing: agents send
//! what they scraped, and one refused sample (out of order, wrong type) must
//! not cost the others. Good samples are stored; the answer counts the rest.

pub mod influx;
pub mod remote_write;

use nanotdb::{Engine, Value, WriteSample};
use nanotdb_protocols::influx::Number;

/// At most this many reasons are spelled out in an answer.
const MAX_LISTED: usize = 10;

/// Owned names of the series of one request, so that the samples handed to
/// the engine can borrow them (one allocation per series, none per sample).
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Database names, each once.
    dbs: Vec<String>,
    /// Canonical series names, concatenated.
    names: String,
    /// (database index, name start, name end, ts ns, value) per sample.
    samples: Vec<(usize, usize, usize, i64, Value)>,
    /// Samples (or series, lines) refused before reaching the engine.
    pub refused: Vec<String>,
    /// How many samples `refused` stands for.
    pub refused_samples: usize,
}

impl Batch {
    /// Index of database `db` in this batch.
    pub fn db_index(&mut self, db: &str) -> usize {
        match self.dbs.iter().position(|d| d == db) {
            Some(i) => i,
            None => {
                self.dbs.push(db.to_string());
                self.dbs.len() - 1
            }
        }
    }

    /// Starts a series: its name is stored once; returns its (start, end).
    pub fn series(&mut self, name: &str) -> (usize, usize) {
        let start = self.names.len();
        self.names.push_str(name);
        (start, self.names.len())
    }

    /// Whether no sample was added.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Adds a sample of a series started with [`Batch::series`].
    pub fn push(&mut self, db: usize, name: (usize, usize), ts: i64, value: Value) {
        self.samples.push((db, name.0, name.1, ts, value));
    }

    /// Stores the samples (not atomically: each refused one is reported
    /// and the others are stored). Returns the outcome to answer with.
    pub fn write(self, engine: &Engine) -> Result<Outcome, nanotdb::Error> {
        let samples: Vec<WriteSample<'_>> = self
            .samples
            .iter()
            .map(|&(db, s, e, ts, value)| WriteSample {
                db: &self.dbs[db],
                metric: &self.names[s..e],
                ts,
                value,
            })
            .collect();
        let report = engine.write(&samples)?;
        let mut refused = self.refused;
        let refused_samples = self.refused_samples + report.rejected.len();
        for (i, e) in report.rejected {
            if refused.len() >= MAX_LISTED {
                break;
            }
            let s = &samples[i];
            refused.push(format!("{}/{} at {}: {e}", s.db, s.metric, s.ts));
        }
        Ok(Outcome {
            stored: report.accepted,
            duplicates: report.duplicates,
            refused,
            refused_samples,
        })
    }
}

/// What a write stored and refused.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Samples stored.
    pub stored: u64,
    /// Samples already stored before (a retry): acknowledged, not stored
    /// again.
    pub duplicates: u64,
    /// The first reasons for refusals.
    pub refused: Vec<String>,
    /// Samples refused in all.
    pub refused_samples: usize,
}

impl Outcome {
    /// `stored N samples, refused M: reason; reason`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "stored {} samples ({} already stored), refused {}",
            self.stored, self.duplicates, self.refused_samples
        );
        for (i, r) in self.refused.iter().take(MAX_LISTED).enumerate() {
            s.push_str(if i == 0 { ": " } else { "; " });
            s.push_str(r);
        }
        s
    }
}

/// The engine value of a protocol number, without loss: floats as float64,
/// integers (signed or unsigned) as int64. An unsigned value beyond int64
/// is refused rather than rounded.
pub(crate) fn value_of(n: Number) -> Result<Value, String> {
    match n {
        Number::F64(v) => Ok(Value::F64(v)),
        Number::I64(v) => Ok(Value::I64(v)),
        Number::U64(v) => i64::try_from(v)
            .map(Value::I64)
            .map_err(|_| format!("unsigned value {v} does not fit int64")),
    }
}

/// Counts a write-protocol request and its body bytes for `/metrics`.
pub(crate) fn count_request(st: &crate::SharedState, bytes: usize) {
    use std::sync::atomic::Ordering;
    let m = &st.metrics;
    m.ingest_requests.fetch_add(1, Ordering::Relaxed);
    m.ingest_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
}

/// Counts what a write-protocol request stored, and whether it was refused
/// in part, for `/metrics`.
pub(crate) fn count_outcome(st: &crate::SharedState, o: &Outcome) {
    use std::sync::atomic::Ordering;
    let m = &st.metrics;
    m.ingest_samples.fetch_add(o.stored, Ordering::Relaxed);
    if o.refused_samples > 0 {
        m.ingest_rejected_requests.fetch_add(1, Ordering::Relaxed);
    }
}
