//! The label index of a database.
//!
//! A series is a metric name plus a label set, stored under its canonical
//! name `name{a="x",b="y"}` (`nanotdb_protocols::series`), so that v1.4.0
//! still reads the files. This index maps every `(label, value)` pair —
//! `__name__` included — to the ids of the metrics holding it, so selecting
//! series by label matchers never scans names. A name that is not in
//! canonical form (any v1.4.0 name such as `cpu.load`) is a series with that
//! `__name__` and no labels.
//!
//! The index follows the catalog: [`LabelIndex::sync`] adds the metrics
//! registered since the last call (ids are tracked in a bitset, so a sync
//! with nothing new costs one length comparison).

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::idset::IdSet;
use crate::sample::MetricId;

/// The label holding the metric name.
pub const NAME_LABEL: &str = "__name__";

/// How a matcher compares a label's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (the regex must match the whole value)
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher, with Prometheus' semantics: a label a series does not
/// have has the empty value.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name (`__name__` for the metric name).
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or regex source.
    pub value: String,
    re: Option<regex::Regex>,
}

impl Matcher {
    /// A matcher; a regex is anchored at both ends, as in Prometheus.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(regex::Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    Error::InvalidMatcher(format!("{name}{}{value:?}: {e}", op.symbol()))
                })?)
            }
            _ => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// Whether a series whose label has `v` (empty when absent) matches.
    pub fn matches(&self, v: &str) -> bool {
        match (&self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            (_, None) => false,
        }
    }
}

impl MatchOp {
    /// The PromQL spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// Label name → value → ids, over every metric of a catalog.
#[derive(Default)]
pub struct LabelIndex {
    postings: BTreeMap<String, BTreeMap<String, Vec<MetricId>>>,
    indexed: Option<IdSet>,
    count: usize,
}

impl std::fmt::Debug for LabelIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelIndex")
            .field("labels", &self.postings.len())
            .field("series", &self.count)
            .finish()
    }
}

/// The (label, value) pairs of a metric name, `__name__` first.
pub fn labels_of(name: &str) -> Vec<(String, String)> {
    match nanotdb_protocols::parse_canonical(name) {
        Ok(key) => std::iter::once((NAME_LABEL.to_string(), key.name().to_string()))
            .chain(key.labels().iter().cloned())
            .collect(),
        Err(_) => vec![(NAME_LABEL.to_string(), name.to_string())],
    }
}

impl LabelIndex {
    /// Adds the catalog's metrics that are not indexed yet.
    pub fn sync(&mut self, catalog: &Catalog) {
        if catalog.len() == self.count {
            return;
        }
        let indexed = self.indexed.get_or_insert_with(IdSet::empty);
        for info in catalog.iter() {
            if indexed.contains(info.id) {
                continue;
            }
            indexed.insert(info.id);
            self.count += 1;
            for (label, value) in labels_of(&info.name) {
                let ids = self
                    .postings
                    .entry(label)
                    .or_default()
                    .entry(value)
                    .or_default();
                if let Err(at) = ids.binary_search(&info.id) {
                    ids.insert(at, info.id);
                }
            }
        }
    }

    /// Ids of the series every matcher accepts, ascending.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<MetricId> {
        let Some(all) = &self.indexed else {
            return Vec::new();
        };
        let mut set = all.clone();
        for m in matchers {
            // The ids whose value of the label matches; a series without
            // the label has "" and is counted in when "" matches.
            let values = self.postings.get(&m.name);
            let mut with = IdSet::empty();
            let mut having = IdSet::empty();
            for (v, ids) in values.into_iter().flatten() {
                let hit = m.matches(v);
                for &id in ids {
                    having.insert(id);
                    if hit {
                        with.insert(id);
                    }
                }
            }
            if m.matches("") {
                let mut lacking = all.clone();
                lacking.and_not(&having);
                for id in lacking.ids() {
                    with.insert(id);
                }
            }
            set.and(&with);
        }
        set.ids().collect()
    }

    /// Every label name, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.postings.keys().cloned().collect()
    }

    /// Every value of `label`, sorted.
    pub fn label_values(&self, label: &str) -> Vec<String> {
        self.postings
            .get(label)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::ValueType;
    use proptest::prelude::*;

    fn catalog(names: &[String]) -> Catalog {
        let mut c = Catalog::default();
        for n in names {
            c.register(n, ValueType::Float32);
        }
        c
    }

    /// What a scan of every name would select.
    fn brute(names: &[String], ms: &[Matcher]) -> Vec<String> {
        let mut out: Vec<String> = names
            .iter()
            .filter(|n| {
                let labels = labels_of(n);
                ms.iter().all(|m| {
                    let v = labels
                        .iter()
                        .find(|(k, _)| *k == m.name)
                        .map_or("", |(_, v)| v.as_str());
                    m.matches(v)
                })
            })
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn prometheus_matcher_semantics() {
        let names: Vec<String> = [
            r#"http_requests_total{code="200",method="GET"}"#,
            r#"http_requests_total{code="500",method="GET"}"#,
            r#"http_requests_total{method="POST"}"#,
            "cpu.load",
            r#"up{job="node"}"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = catalog(&names);
        let mut idx = LabelIndex::default();
        idx.sync(&c);
        let sel = |ms: &[(&str, MatchOp, &str)]| -> Vec<String> {
            let ms: Vec<Matcher> = ms
                .iter()
                .map(|(n, o, v)| Matcher::new(n, *o, v).unwrap())
                .collect();
            let mut got: Vec<String> = idx
                .select(&ms)
                .into_iter()
                .map(|id| c.get(id).unwrap().name.clone())
                .collect();
            got.sort();
            assert_eq!(got, brute(&names, &ms));
            got
        };
        use MatchOp::*;
        assert_eq!(
            sel(&[
                ("__name__", Equal, "http_requests_total"),
                ("code", Equal, "")
            ]),
            [r#"http_requests_total{method="POST"}"#]
        );
        assert_eq!(sel(&[("code", Regex, "2..|5..")]).len(), 2);
        assert_eq!(sel(&[("code", Regex, "2")]).len(), 0, "anchored");
        assert_eq!(sel(&[("__name__", Equal, "cpu.load")]), ["cpu.load"]);
        assert_eq!(sel(&[("method", NotEqual, "GET")]).len(), 3);
        assert_eq!(sel(&[("job", NotRegex, ".+")]).len(), 4);
        assert_eq!(idx.label_names(), ["__name__", "code", "job", "method"]);
        assert_eq!(idx.label_values("method"), ["GET", "POST"]);
        assert!(Matcher::new("a", Regex, "(").is_err());
    }

    proptest! {
        /// The index selects exactly what a scan of every name selects.
        #[test]
        fn index_equals_a_scan(
            series in proptest::collection::vec(
                ("[ab]", proptest::collection::btree_map("[xyz]", "[01]{0,1}", 0..3)), 1..40),
            ms in proptest::collection::vec(
                ("__name__|[xyz]", 0usize..4, "[01ab]{0,1}|[01]\\*|\\.\\+"), 0..3),
        ) {
            let names: Vec<String> = series
                .iter()
                .map(|(n, labels)| {
                    let key = nanotdb_protocols::SeriesKey::new(n.clone(), labels.clone())
                        .unwrap();
                    key.canonical()
                })
                .collect();
            let ops = [MatchOp::Equal, MatchOp::NotEqual, MatchOp::Regex, MatchOp::NotRegex];
            let ms: Vec<Matcher> = ms
                .iter()
                .map(|(n, o, v)| Matcher::new(n, ops[*o], v).unwrap())
                .collect();
            let c = catalog(&names);
            let mut idx = LabelIndex::default();
            idx.sync(&c);
            let mut got: Vec<String> = idx
                .select(&ms)
                .into_iter()
                .map(|id| c.get(id).unwrap().name.clone())
                .collect();
            got.sort();
            prop_assert_eq!(got, brute(&names, &ms));
        }
    }
}
