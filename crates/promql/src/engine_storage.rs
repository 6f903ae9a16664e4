//! [`Storage`] over a [`nanotdb::Engine`].
//!
//! A series is stored under its canonical name `name{a="x"}` in one database.
//! Restricted to one database, a series carries exactly its own labels (as in
//! Prometheus). Across databases (every one but `internal`, which holds the
//! server's own metrics) each series also carries a `db` label naming its
//! database, replacing any stored `db` label, so `{db="edge"}` selects by
//! database without touching the others' label indexes.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use nanotdb::Engine;
use nanotdb::labels::{MatchOp as EngineOp, Matcher};

use crate::error::Error;
use crate::labels::Labels;
use crate::storage::{LabelMatcher, MatchOp, SeriesRef, Storage};

/// The label naming a series' database in cross-database queries.
pub const DB_LABEL: &str = "db";

/// The database that cross-database queries skip.
pub const INTERNAL_DB: &str = "internal";

/// Engine timestamps are nanoseconds; PromQL's are milliseconds.
const NS_PER_MS: i64 = 1_000_000;

/// Queries one database, or every database but `internal`.
pub struct EngineStorage<'a> {
    engine: &'a Engine,
    db: Option<String>,
}

impl<'a> EngineStorage<'a> {
    /// Storage over `engine`; `db = Some(name)` restricts queries to it.
    pub fn new(engine: &'a Engine, db: Option<String>) -> EngineStorage<'a> {
        EngineStorage { engine, db }
    }

    fn select_in(
        &self,
        db: &str,
        matchers: &[LabelMatcher],
        with_db_label: bool,
        out: &mut Vec<SeriesRef>,
    ) -> Result<(), Error> {
        let mut engine_matchers = Vec::with_capacity(matchers.len());
        for m in matchers {
            if with_db_label && m.name == DB_LABEL {
                if !m.matches(db) {
                    return Ok(());
                }
                continue;
            }
            let op = match m.op {
                MatchOp::Equal => EngineOp::Equal,
                MatchOp::NotEqual => EngineOp::NotEqual,
                MatchOp::Regex => EngineOp::Regex,
                MatchOp::NotRegex => EngineOp::NotRegex,
            };
            engine_matchers.push(
                Matcher::new(&m.name, op, &m.value).map_err(|e| Error::BadQuery(e.to_string()))?,
            );
        }
        let found = match self.engine.select_series(db, &engine_matchers) {
            Ok(found) => found,
            Err(nanotdb::Error::DatabaseNotFound(_)) => return Ok(()),
            Err(e) => return Err(Error::Storage(e.to_string())),
        };
        for info in found {
            let mut labels = Labels::from_pairs(nanotdb::labels::labels_of(&info.name));
            if with_db_label {
                labels.set(DB_LABEL, db);
            }
            out.push(SeriesRef {
                labels,
                key: format!("{db}/{}", info.name),
            });
        }
        Ok(())
    }
}

/// The database and metric of a key made by `select_in`.
fn split_key(s: &SeriesRef) -> Result<(&str, &str), Error> {
    s.key
        .split_once('/')
        .ok_or_else(|| Error::Storage(format!("bad series key {:?}", s.key)))
}

/// `[t0, t1]` ms as ns, widened to whole milliseconds: a sample at 1.5 ms
/// belongs to 1 ms.
fn ns_range(t0: i64, t1: i64) -> (i64, i64) {
    (
        t0.saturating_mul(NS_PER_MS),
        t1.saturating_mul(NS_PER_MS).saturating_add(NS_PER_MS - 1),
    )
}

impl Storage for EngineStorage<'_> {
    fn select(&self, matchers: &[LabelMatcher]) -> Result<Vec<SeriesRef>, Error> {
        let mut out = Vec::new();
        match &self.db {
            Some(db) => self.select_in(db, matchers, false, &mut out)?,
            None => {
                let dbs = self
                    .engine
                    .databases()
                    .map_err(|e| Error::Storage(e.to_string()))?;
                for db in dbs.iter().filter(|d| *d != INTERNAL_DB) {
                    self.select_in(db, matchers, true, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn read_many(
        &self,
        series: &[SeriesRef],
        t0: i64,
        t1: i64,
        f: &mut dyn FnMut(usize, i64, f64) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let (from, to) = ns_range(t0, t1);
        if to < from {
            return Ok(());
        }
        // One pass per database over the files, every wanted metric at once.
        let mut by_db: BTreeMap<&str, (Vec<&str>, Vec<usize>)> = BTreeMap::new();
        for (i, s) in series.iter().enumerate() {
            let (db, name) = split_key(s)?;
            let entry = by_db.entry(db).or_default();
            entry.0.push(name);
            entry.1.push(i);
        }
        for (db, (names, index)) in by_db {
            let mut stopped = false;
            self.engine
                .query_range_many_indexed(db, &names, from, to, 1, |k, s| {
                    let Some(&i) = index.get(k) else {
                        return ControlFlow::Continue(());
                    };
                    let flow = f(i, s.ts.div_euclid(NS_PER_MS), s.value.as_f64());
                    stopped = flow.is_break();
                    flow
                })
                .map_err(|e| Error::Storage(e.to_string()))?;
            if stopped {
                break;
            }
        }
        Ok(())
    }

    fn read(
        &self,
        series: &SeriesRef,
        t0: i64,
        t1: i64,
        f: &mut dyn FnMut(i64, f64) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        let (db, name) = split_key(series)?;
        let (from, to) = ns_range(t0, t1);
        if to < from {
            return Ok(());
        }
        self.engine
            .query_range(db, name, from, to, 1, |s| {
                f(s.ts.div_euclid(NS_PER_MS), s.value.as_f64())
            })
            .map_err(|e| Error::Storage(e.to_string()))
    }
}
