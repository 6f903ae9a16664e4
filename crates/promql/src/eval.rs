//! The evaluator: every expression is evaluated over a grid of steps at once
//! (an instant query is a grid of one step), series by series.

use std::cell::Cell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{
    AtModifier, Expr, MatrixSelector, Offset, SubqueryExpr, VectorSelector,
};

use crate::error::Error;
use crate::labels::{Labels, NAME};
use crate::storage::{LabelMatcher, MatchOp, Storage};
use crate::value::{QueryValue, RangeSeries};
use crate::{QueryOptions, aggregate, binary, functions, sliding};

/// Prometheus' staleness marker: a NaN with this exact bit pattern ends a
/// series; a selector never returns it and range windows skip it.
const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// An instant vector over a grid: one series, one optional value per step.
#[derive(Debug, Clone)]
pub(crate) struct Ser {
    pub labels: Labels,
    pub vals: Vec<Option<f64>>,
}

/// The value of an expression over the grid.
pub(crate) enum Val {
    /// One value per step.
    Scalar(Vec<f64>),
    /// A string literal.
    Str(String),
    /// An instant vector per step.
    Vector(Vec<Ser>),
}

/// The evaluation grid and what every node shares.
pub(crate) struct Ctx<'a> {
    pub storage: &'a dyn Storage,
    pub opts: &'a QueryOptions,
    /// First step (ms).
    pub start: i64,
    /// Step (ms, > 0).
    pub step: i64,
    /// Number of steps.
    pub n: usize,
    /// The outermost query's start and end, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    /// Samples and points charged against `max_samples`.
    pub charged: &'a Cell<usize>,
}

impl Ctx<'_> {
    /// The time of step `i`.
    pub fn ts(&self, i: usize) -> i64 {
        self.start.saturating_add(
            self.step
                .saturating_mul(i64::try_from(i).unwrap_or(i64::MAX)),
        )
    }

    /// Charges `k` samples or points; fails beyond the limit, and checks the
    /// deadline while at it.
    pub fn charge(&self, k: usize) -> Result<(), Error> {
        let total = self.charged.get().saturating_add(k);
        self.charged.set(total);
        if total > self.opts.max_samples {
            return Err(Error::Limit(format!(
                "query processing would load too many samples into memory in query execution (limit {})",
                self.opts.max_samples
            )));
        }
        if let Some(d) = self.opts.deadline
            && std::time::Instant::now() > d
        {
            return Err(Error::Timeout);
        }
        Ok(())
    }

    /// A context over another grid (subqueries).
    fn with_grid(&self, start: i64, step: i64, n: usize) -> Ctx<'_> {
        Ctx {
            storage: self.storage,
            opts: self.opts,
            start,
            step,
            n,
            query_start: self.query_start,
            query_end: self.query_end,
            charged: self.charged,
        }
    }

    /// The reference time of each step for a selector with `@` and offset.
    pub fn refs(&self, at: Option<i64>, offset: i64) -> Vec<i64> {
        (0..self.n)
            .map(|i| at.unwrap_or_else(|| self.ts(i)).saturating_sub(offset))
            .collect()
    }
}

pub(crate) fn dur_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

pub(crate) fn at_ms(ctx: &Ctx, at: &Option<AtModifier>) -> Option<i64> {
    match at {
        None => None,
        Some(AtModifier::Start) => Some(ctx.query_start),
        Some(AtModifier::End) => Some(ctx.query_end),
        Some(AtModifier::At(t)) => Some(system_time_ms(t)),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => dur_ms(&d),
        Err(e) => -dur_ms(&e.duration()),
    }
}

/// The matchers of a selector, the metric name included.
pub(crate) fn matchers_of(vs: &VectorSelector) -> Result<Vec<LabelMatcher>, Error> {
    if !vs.matchers.or_matchers.is_empty() {
        return Err(Error::Unsupported("`or` inside a selector's braces".into()));
    }
    let mut out = Vec::new();
    if let Some(name) = &vs.name {
        out.push(LabelMatcher::new(NAME, MatchOp::Equal, name)?);
    }
    for m in &vs.matchers.matchers {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(LabelMatcher::new(&m.name, op, &m.value)?);
    }
    Ok(out)
}

/// Series read together in one storage pass: enough to read a file once for
/// many series, few enough that their samples stay a bounded share of memory.
const READ_BATCH: usize = 256;

/// Reads the samples of `series` in `[t0, t1]` batch by batch and hands each
/// series' points — sorted by time, one per millisecond (the later-stored
/// wins), staleness markers kept — to `each`, charged against the limit.
pub(crate) fn read_series(
    ctx: &Ctx,
    series: &[crate::storage::SeriesRef],
    t0: i64,
    t1: i64,
    mut each: impl FnMut(&crate::storage::SeriesRef, Vec<(i64, f64)>) -> Result<(), Error>,
) -> Result<(), Error> {
    for batch in series.chunks(READ_BATCH) {
        let mut pts: Vec<Vec<(i64, f64)>> = vec![Vec::new(); batch.len()];
        let mut held = 0usize;
        let limit = ctx.opts.max_samples;
        ctx.storage.read_many(batch, t0, t1, &mut |i, t, v| {
            held += 1;
            if held > limit {
                return ControlFlow::Break(());
            }
            if let Some(p) = pts.get_mut(i) {
                p.push((t, v));
            }
            ControlFlow::Continue(())
        })?;
        ctx.charge(held)?;
        for (s, mut p) in batch.iter().zip(pts) {
            if !p.is_sorted_by_key(|x| x.0) {
                p.sort_by_key(|x| x.0);
            }
            p.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    earlier.1 = later.1;
                    true
                } else {
                    false
                }
            });
            each(s, p)?;
        }
    }
    Ok(())
}

pub(crate) fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// An instant vector selector over the grid. With `sample_time` each value is
/// the chosen sample's own timestamp in seconds (what `timestamp(x)` needs).
pub(crate) fn vector_selector(
    ctx: &Ctx,
    vs: &VectorSelector,
    sample_time: bool,
) -> Result<Vec<Ser>, Error> {
    let matchers = matchers_of(vs)?;
    let series = ctx.storage.select(&matchers)?;
    let refs = ctx.refs(at_ms(ctx, &vs.at), offset_ms(&vs.offset));
    let (Some(&first), Some(&last)) = (refs.iter().min(), refs.iter().max()) else {
        return Ok(Vec::new());
    };
    let lookback = ctx.opts.lookback_ms;
    let mut out = Vec::with_capacity(series.len());
    read_series(
        ctx,
        &series,
        first.saturating_sub(lookback),
        last,
        |s, pts| {
            if pts.is_empty() {
                return Ok(());
            }
            ctx.charge(ctx.n)?;
            let mut vals = vec![None; ctx.n];
            let mut any = false;
            for (i, &r) in refs.iter().enumerate() {
                // Newest sample at or before the reference time.
                let idx = pts.partition_point(|p| p.0 <= r);
                if idx == 0 {
                    continue;
                }
                let (t, v) = pts[idx - 1];
                if t < r.saturating_sub(lookback) || is_stale(v) {
                    continue;
                }
                vals[i] = Some(if sample_time { t as f64 / 1000.0 } else { v });
                any = true;
            }
            if any {
                out.push(Ser {
                    labels: s.labels.clone(),
                    vals,
                });
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// A range-vector argument: a matrix selector or a subquery, read series by
/// series.
pub(crate) struct RangeArg<'e> {
    pub expr: &'e Expr,
    /// Window length (ms).
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
}

/// One step's window of a range argument.
pub(crate) struct Window<'p> {
    /// Samples with `end - range <= t <= end`, staleness markers removed.
    pub points: &'p [(i64, f64)],
    /// The window's end (step time, `@`, minus offset).
    pub end: i64,
    /// The window's length (ms).
    pub range: i64,
    /// The step's own time.
    pub step_ts: i64,
}

impl<'e> RangeArg<'e> {
    /// Recognises a range argument (parentheses allowed around it).
    pub fn of(ctx: &Ctx, expr: &'e Expr) -> Result<RangeArg<'e>, Error> {
        match expr {
            Expr::Paren(p) => RangeArg::of(ctx, &p.expr),
            Expr::MatrixSelector(ms) => Ok(RangeArg {
                expr,
                range: dur_ms(&ms.range),
                offset: offset_ms(&ms.vs.offset),
                at: at_ms(ctx, &ms.vs.at),
            }),
            Expr::Subquery(sq) => Ok(RangeArg {
                expr,
                range: dur_ms(&sq.range),
                offset: offset_ms(&sq.offset),
                at: at_ms(ctx, &sq.at),
            }),
            _ => Err(Error::BadQuery("expected a range vector".into())),
        }
    }

    /// Reduces each series' window at each step with `f` (empty windows are
    /// skipped), in one forward pass per series; the series with at least
    /// one value.
    pub fn reduce(
        &self,
        ctx: &Ctx,
        f: &impl Fn(&Window, usize) -> Option<f64>,
    ) -> Result<Vec<Ser>, Error> {
        let refs = ctx.refs(self.at, self.offset);
        let (Some(&first), Some(&last)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(Vec::new());
        };
        let lo = first.saturating_sub(self.range);
        let grid = sliding::Grid {
            refs: &refs,
            range: self.range,
            ctx,
        };
        match self.expr {
            Expr::MatrixSelector(ms) => {
                let series = ctx.storage.select(&matchers_of(&ms.vs)?)?;
                sliding::reduce_selected(&grid, &series, lo, last, f)
            }
            Expr::Subquery(sq) => {
                let (start, step, n) = subquery_grid(ctx, sq, lo, last)?;
                let inner = ctx.with_grid(start, step, n);
                let Val::Vector(series) = eval(&inner, &sq.expr)? else {
                    return Err(Error::BadQuery(
                        "subquery is only allowed on instant vector".into(),
                    ));
                };
                let mut out = Vec::new();
                for s in series {
                    let pts: Vec<(i64, f64)> = s
                        .vals
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| (inner.ts(i), v)))
                        .collect();
                    let vals = sliding::reduce_points(&grid, &pts, f);
                    if !vals.is_empty() {
                        out.push(Ser {
                            labels: s.labels,
                            vals,
                        });
                    }
                }
                Ok(out)
            }
            _ => Err(Error::BadQuery("expected a range vector".into())),
        }
    }

    /// Calls `f` for each series with its labels and, per step, its window.
    pub fn for_each(
        &self,
        ctx: &Ctx,
        mut f: impl FnMut(&Labels, &mut dyn Iterator<Item = (usize, Window)>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let refs = ctx.refs(self.at, self.offset);
        let (Some(&first), Some(&last)) = (refs.iter().min(), refs.iter().max()) else {
            return Ok(());
        };
        let lo = first.saturating_sub(self.range);
        let mut each = |labels: &Labels, mut pts: Vec<(i64, f64)>| -> Result<(), Error> {
            pts.retain(|p| !is_stale(p.1));
            let range = self.range;
            let mut it = refs.iter().enumerate().map(|(i, &r)| {
                let a = pts.partition_point(|p| p.0 < r.saturating_sub(range));
                let b = pts.partition_point(|p| p.0 <= r);
                let points = &pts[a..b.max(a)];
                (
                    i,
                    Window {
                        points,
                        end: r,
                        range,
                        step_ts: ctx.ts(i),
                    },
                )
            });
            f(labels, &mut it)
        };
        match self.expr {
            Expr::MatrixSelector(ms) => {
                let series = ctx.storage.select(&matchers_of(&ms.vs)?)?;
                read_series(ctx, &series, lo, last, |s, pts| each(&s.labels, pts))
            }
            Expr::Subquery(sq) => {
                let (start, step, n) = subquery_grid(ctx, sq, lo, last)?;
                let inner = ctx.with_grid(start, step, n);
                let Val::Vector(series) = eval(&inner, &sq.expr)? else {
                    return Err(Error::BadQuery(
                        "subquery is only allowed on instant vector".into(),
                    ));
                };
                for s in series {
                    let pts: Vec<(i64, f64)> = s
                        .vals
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| v.map(|v| (inner.ts(i), v)))
                        .collect();
                    each(&s.labels, pts)?;
                }
                Ok(())
            }
            _ => Err(Error::BadQuery("expected a range vector".into())),
        }
    }
}

/// The inner grid of a subquery whose windows span `[lo, hi]`: steps at
/// multiples of the subquery step, as Prometheus aligns them.
fn subquery_grid(
    ctx: &Ctx,
    sq: &SubqueryExpr,
    lo: i64,
    hi: i64,
) -> Result<(i64, i64, usize), Error> {
    let step = match &sq.step {
        Some(d) => dur_ms(d),
        None => ctx.opts.default_subquery_step_ms,
    };
    if step <= 0 {
        return Err(Error::BadQuery("zero subquery step".into()));
    }
    let mut start = lo.div_euclid(step).saturating_mul(step);
    if start < lo {
        start = start.saturating_add(step);
    }
    if hi < start {
        return Ok((start, step, 0));
    }
    let n = hi.saturating_sub(start) / step + 1;
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > ctx.opts.max_samples {
        return Err(Error::Limit(format!(
            "subquery of {n} steps exceeds the limit of {} samples",
            ctx.opts.max_samples
        )));
    }
    Ok((start, step, n))
}

/// Evaluates an expression over the context's grid.
pub(crate) fn eval(ctx: &Ctx, expr: &Expr) -> Result<Val, Error> {
    match expr {
        Expr::NumberLiteral(n) => Ok(Val::Scalar(vec![n.val; ctx.n])),
        Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
        Expr::Paren(p) => eval(ctx, &p.expr),
        Expr::Unary(u) => match eval(ctx, &u.expr)? {
            Val::Scalar(v) => Ok(Val::Scalar(v.into_iter().map(|x| -x).collect())),
            Val::Vector(vs) => Ok(Val::Vector(
                vs.into_iter()
                    .map(|s| Ser {
                        labels: s.labels.without_name(),
                        vals: s.vals.into_iter().map(|v| v.map(|x| -x)).collect(),
                    })
                    .collect(),
            )),
            Val::Str(_) => Err(Error::BadQuery("unary minus on a string".into())),
        },
        Expr::VectorSelector(vs) => Ok(Val::Vector(vector_selector(ctx, vs, false)?)),
        Expr::MatrixSelector(_) | Expr::Subquery(_) => Err(Error::BadQuery(
            "a range vector is only allowed as a function argument or as a whole instant query"
                .into(),
        )),
        Expr::Call(call) => functions::call(ctx, call),
        Expr::Aggregate(agg) => aggregate::eval(ctx, agg),
        Expr::Binary(b) => binary::eval(ctx, b),
        Expr::Extension(_) => Err(Error::Unsupported("extension expressions".into())),
    }
}

/// Merges series that share a label set (after a function dropped the name,
/// say); two values at one step are Prometheus' "same labelset" error.
pub(crate) fn merge_same_labels(series: Vec<Ser>) -> Result<Vec<Ser>, Error> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Ser> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
            Some(&i) => {
                let dst = &mut out[i];
                for (d, v) in dst.vals.iter_mut().zip(s.vals) {
                    if v.is_some() {
                        if d.is_some() {
                            return Err(Error::Execution(
                                "vector cannot contain metrics with the same labelset".into(),
                            ));
                        }
                        *d = v;
                    }
                }
            }
        }
    }
    Ok(out)
}

fn root_ctx<'a>(
    storage: &'a dyn Storage,
    opts: &'a QueryOptions,
    charged: &'a Cell<usize>,
    start: i64,
    end: i64,
    step: i64,
    n: usize,
) -> Ctx<'a> {
    Ctx {
        storage,
        opts,
        start,
        step,
        n,
        query_start: start,
        query_end: end,
        charged,
    }
}

/// An instant query.
pub(crate) fn instant(
    storage: &dyn Storage,
    expr: &Expr,
    t: i64,
    opts: &QueryOptions,
    charged: &Cell<usize>,
) -> Result<QueryValue, Error> {
    let ctx = root_ctx(storage, opts, charged, t, t, 1, 1);
    if let Some(m) = top_range(&ctx, expr)? {
        return Ok(QueryValue::Matrix(m));
    }
    match eval(&ctx, expr)? {
        Val::Scalar(v) => Ok(QueryValue::Scalar(
            t,
            v.first().copied().unwrap_or(f64::NAN),
        )),
        Val::Str(s) => Ok(QueryValue::String(t, s)),
        Val::Vector(vs) => {
            let vs = merge_same_labels(vs)?;
            Ok(QueryValue::Vector(
                t,
                vs.into_iter()
                    .filter_map(|s| s.vals.first().copied().flatten().map(|v| (s.labels, v)))
                    .collect(),
            ))
        }
    }
}

/// A whole instant query that is a range vector answers with its raw points.
fn top_range(ctx: &Ctx, expr: &Expr) -> Result<Option<Vec<RangeSeries>>, Error> {
    let inner = match expr {
        Expr::Paren(p) => return top_range(ctx, &p.expr),
        Expr::MatrixSelector(MatrixSelector { .. }) | Expr::Subquery(_) => expr,
        _ => return Ok(None),
    };
    let arg = RangeArg::of(ctx, inner)?;
    let mut out = Vec::new();
    arg.for_each(ctx, |labels, windows| {
        for (_, w) in windows {
            if !w.points.is_empty() {
                out.push(RangeSeries {
                    labels: labels.clone(),
                    points: w.points.to_vec(),
                });
            }
        }
        Ok(())
    })?;
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Some(out))
}

/// A range query.
pub(crate) fn range(
    storage: &dyn Storage,
    expr: &Expr,
    start: i64,
    end: i64,
    step: i64,
    opts: &QueryOptions,
    charged: &Cell<usize>,
) -> Result<QueryValue, Error> {
    if step <= 0 {
        return Err(Error::BadQuery(
            "zero or negative query resolution step widths are not accepted".into(),
        ));
    }
    if end < start {
        return Err(Error::BadQuery(
            "end timestamp must not be before start time".into(),
        ));
    }
    let n = usize::try_from(end.saturating_sub(start) / step + 1).unwrap_or(usize::MAX);
    if n > opts.max_samples {
        return Err(Error::Limit(format!("{n} steps exceed the sample limit")));
    }
    let ctx = root_ctx(storage, opts, charged, start, end, step, n);
    if matches!(
        strip_parens(expr),
        Expr::MatrixSelector(_) | Expr::Subquery(_)
    ) {
        return Err(Error::BadQuery(
            "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"
                .into(),
        ));
    }
    let to_points = |vals: &[Option<f64>]| -> Vec<(i64, f64)> {
        vals.iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (ctx.ts(i), v)))
            .collect()
    };
    let mut out: Vec<RangeSeries> = match eval(&ctx, expr)? {
        Val::Scalar(v) => vec![RangeSeries {
            labels: Labels::default(),
            points: v.iter().enumerate().map(|(i, &x)| (ctx.ts(i), x)).collect(),
        }],
        Val::Str(_) => {
            return Err(Error::BadQuery(
                "invalid expression type \"string\" for range query, must be Scalar or instant Vector"
                    .into(),
            ));
        }
        Val::Vector(vs) => merge_same_labels(vs)?
            .into_iter()
            .map(|s| RangeSeries {
                points: to_points(&s.vals),
                labels: s.labels,
            })
            .filter(|s| !s.points.is_empty())
            .collect(),
    };
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(QueryValue::Matrix(out))
}

pub(crate) fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        _ => e,
    }
}
