//! What the evaluator needs from storage.

use std::ops::ControlFlow;

use crate::error::Error;
use crate::labels::Labels;

/// How a matcher compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (anchored at both ends)
    Regex,
    /// `!~`
    NotRegex,
}

/// One label matcher of a selector. A label a series lacks has the empty
/// value, as in Prometheus.
#[derive(Debug, Clone)]
pub struct LabelMatcher {
    /// Label name (`__name__` for the metric name).
    pub name: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value or regex source.
    pub value: String,
    re: Option<regex::Regex>,
}

impl LabelMatcher {
    /// A matcher; a regex that does not compile is [`Error::BadQuery`].
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<LabelMatcher, Error> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| Error::BadQuery(format!("invalid regex {value:?}: {e}")))?,
            ),
            _ => None,
        };
        Ok(LabelMatcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// Whether a label value (empty when absent) satisfies the matcher.
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Equal, _) => v == self.value,
            (MatchOp::NotEqual, _) => v != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(v),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(v),
            (_, None) => false,
        }
    }
}

/// A series found by [`Storage::select`].
#[derive(Debug, Clone)]
pub struct SeriesRef {
    /// Its labels as queries see them (`__name__` included).
    pub labels: Labels,
    /// The storage's own locator, handed back to [`Storage::read`].
    pub key: String,
}

/// The storage a query reads.
pub trait Storage {
    /// Every series whose labels satisfy all `matchers`.
    fn select(&self, matchers: &[LabelMatcher]) -> Result<Vec<SeriesRef>, Error>;

    /// The samples of `series` with `t0 <= t <= t1` (ms), ascending by time;
    /// `f` may stop the read early.
    fn read(
        &self,
        series: &SeriesRef,
        t0: i64,
        t1: i64,
        f: &mut dyn FnMut(i64, f64) -> ControlFlow<()>,
    ) -> Result<(), Error>;

    /// The samples of several series with `t0 <= t <= t1`, each series'
    /// ascending, series interleaved in any order; `f` gets the index into
    /// `series`. A storage whose files hold many series side by side reads
    /// them in one pass here instead of one pass per series.
    fn read_many(
        &self,
        series: &[SeriesRef],
        t0: i64,
        t1: i64,
        f: &mut dyn FnMut(usize, i64, f64) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        for (i, s) in series.iter().enumerate() {
            let mut stop = false;
            self.read(s, t0, t1, &mut |t, v| {
                let flow = f(i, t, v);
                stop = flow.is_break();
                flow
            })?;
            if stop {
                break;
            }
        }
        Ok(())
    }
}
