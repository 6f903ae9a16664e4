//! Aggregation operators (`sum by (job) (…)` and friends). Group membership
//! depends only on a series' labels, so groups are formed once and each step
//! aggregates the members present at it.

use std::collections::HashMap;

use promql_parser::parser::{AggregateExpr, LabelModifier};

use crate::error::Error;
use crate::eval::{Ctx, Ser, Val};
use crate::functions::{quantile, scalar_arg, string_arg, vector_arg};
use crate::labels::{Labels, NAME};
use crate::value::format_value;

/// Evaluates an aggregation.
pub(crate) fn eval(ctx: &Ctx, agg: &AggregateExpr) -> Result<Val, Error> {
    let op = agg.op.to_string();
    let series = vector_arg(ctx, &agg.expr)?;
    let grouping = |l: &Labels| -> Labels {
        match &agg.modifier {
            None => Labels::default(),
            Some(LabelModifier::Include(ls)) => l.keep(&ls.labels),
            Some(LabelModifier::Exclude(ls)) => l.drop_names(&ls.labels).without_name(),
        }
    };
    match op.as_str() {
        "sum" | "avg" | "min" | "max" | "count" | "group" | "stddev" | "stdvar" => {
            simple(ctx, &op, &series, grouping)
        }
        "quantile" => {
            let q = param_scalar(ctx, agg)?;
            per_group(ctx, &series, grouping, |vals, i| quantile(q[i], vals))
        }
        "topk" | "bottomk" => {
            let k = param_scalar(ctx, agg)?;
            top_k(ctx, &series, grouping, &k, op == "topk")
        }
        "count_values" => {
            let Some(p) = &agg.param else {
                return Err(Error::BadQuery("count_values needs a label name".into()));
            };
            let label = string_arg(ctx, p)?;
            count_values(ctx, &series, grouping, &label)
        }
        other => Err(Error::Unsupported(format!("aggregation {other}"))),
    }
}

fn param_scalar(ctx: &Ctx, agg: &AggregateExpr) -> Result<Vec<f64>, Error> {
    match &agg.param {
        Some(p) => scalar_arg(ctx, p),
        None => Err(Error::BadQuery(format!("{} needs a parameter", agg.op))),
    }
}

/// Groups series indexes by their grouping labels, in first-seen order.
fn groups(series: &[Ser], grouping: impl Fn(&Labels) -> Labels) -> Vec<(Labels, Vec<usize>)> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, Vec<usize>)> = Vec::new();
    for (i, s) in series.iter().enumerate() {
        let g = grouping(&s.labels);
        match index.get(&g) {
            Some(&k) => out[k].1.push(i),
            None => {
                index.insert(g.clone(), out.len());
                out.push((g, vec![i]));
            }
        }
    }
    out
}

/// An aggregation with a running value per step.
#[derive(Clone, Copy, PartialEq)]
enum Simple {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
}

impl Simple {
    fn of(op: &str) -> Option<Simple> {
        Some(match op {
            "sum" => Simple::Sum,
            "avg" => Simple::Avg,
            "min" => Simple::Min,
            "max" => Simple::Max,
            "count" => Simple::Count,
            "group" => Simple::Group,
            "stddev" => Simple::Stddev,
            "stdvar" => Simple::Stdvar,
            _ => return None,
        })
    }
}

/// One group's running aggregate at one step; `count == 0` means no member
/// had a value yet.
#[derive(Clone, Copy, Default)]
struct Running {
    value: f64,
    mean: f64,
    count: f64,
}

impl Running {
    /// Adds the next member's value, in Prometheus' order of operations.
    fn add(&mut self, op: Simple, v: f64) {
        if self.count == 0.0 {
            let value = if matches!(op, Simple::Stddev | Simple::Stdvar) {
                0.0
            } else {
                v
            };
            *self = Running {
                value,
                mean: v,
                count: 1.0,
            };
            return;
        }
        self.count += 1.0;
        let count = self.count;
        match op {
            Simple::Sum => self.value += v,
            Simple::Avg => {
                if self.mean.is_infinite() {
                    if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                        return;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        return;
                    }
                }
                self.mean += v / count - self.mean / count;
            }
            Simple::Max if self.value < v || self.value.is_nan() => self.value = v,
            Simple::Min if self.value > v || self.value.is_nan() => self.value = v,
            Simple::Stddev | Simple::Stdvar => {
                let delta = v - self.mean;
                self.mean += delta / count;
                self.value += delta * (v - self.mean);
            }
            _ => {}
        }
    }

    fn result(&self, op: Simple) -> Option<f64> {
        if self.count == 0.0 {
            return None;
        }
        Some(match op {
            Simple::Avg => self.mean,
            Simple::Count => self.count,
            Simple::Group => 1.0,
            Simple::Stdvar => self.value / self.count,
            Simple::Stddev => (self.value / self.count).sqrt(),
            _ => self.value,
        })
    }
}

/// The running aggregates of Prometheus' `aggregation`. Members are added
/// series by series (each step sees them in member order, as Prometheus
/// adds them), which walks each series' values in memory order.
fn simple(
    ctx: &Ctx,
    op: &str,
    series: &[Ser],
    grouping: impl Fn(&Labels) -> Labels,
) -> Result<Val, Error> {
    let op = Simple::of(op).ok_or_else(|| Error::Unsupported(format!("aggregation {op}")))?;
    let mut out = Vec::new();
    let mut acc = vec![Running::default(); ctx.n];
    for (labels, members) in groups(series, grouping) {
        ctx.charge(ctx.n)?;
        acc.fill(Running::default());
        for &m in &members {
            for (a, v) in acc.iter_mut().zip(&series[m].vals) {
                if let Some(v) = *v {
                    a.add(op, v);
                }
            }
        }
        let vals = acc.iter().map(|a| a.result(op)).collect();
        out.push(Ser { labels, vals });
    }
    Ok(Val::Vector(out))
}

/// Applies `f` to each group's present values at each step.
fn per_group(
    ctx: &Ctx,
    series: &[Ser],
    grouping: impl Fn(&Labels) -> Labels,
    f: impl Fn(&mut [f64], usize) -> f64,
) -> Result<Val, Error> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for (labels, members) in groups(series, grouping) {
        ctx.charge(ctx.n)?;
        let mut vals = vec![None; ctx.n];
        for (i, slot) in vals.iter_mut().enumerate() {
            buf.clear();
            buf.extend(members.iter().filter_map(|&m| series[m].vals[i]));
            if !buf.is_empty() {
                *slot = Some(f(&mut buf, i));
            }
        }
        out.push(Ser { labels, vals });
    }
    Ok(Val::Vector(out))
}

/// `topk` / `bottomk`: the chosen input series keep their labels; at an
/// instant the answer is ordered as Prometheus orders it (best first).
fn top_k(
    ctx: &Ctx,
    series: &[Ser],
    grouping: impl Fn(&Labels) -> Labels,
    k: &[f64],
    top: bool,
) -> Result<Val, Error> {
    let mut chosen: Vec<Vec<Option<f64>>> = vec![Vec::new(); series.len()];
    let mut order: Vec<(usize, usize, f64)> = Vec::new();
    for (g, (_, members)) in groups(series, grouping).into_iter().enumerate() {
        for i in 0..ctx.n {
            let kk = k[i];
            // NaN or below one selects nothing.
            if kk.is_nan() || kk < 1.0 {
                continue;
            }
            let kk = if kk > 1e9 { usize::MAX } else { kk as usize };
            let mut present: Vec<(usize, f64)> = members
                .iter()
                .filter_map(|&m| series[m].vals[i].map(|v| (m, v)))
                .collect();
            // NaN ranks below every number in both directions.
            present.sort_by(|a, b| {
                let ord = match (a.1.is_nan(), b.1.is_nan()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if top => b.1.total_cmp(&a.1),
                    _ => a.1.total_cmp(&b.1),
                };
                ord.then(a.0.cmp(&b.0))
            });
            for &(m, v) in present.iter().take(kk) {
                if chosen[m].is_empty() {
                    ctx.charge(ctx.n)?;
                    chosen[m] = vec![None; ctx.n];
                }
                chosen[m][i] = Some(v);
                if ctx.n == 1 {
                    order.push((g, m, v));
                }
            }
        }
    }
    let mut out: Vec<Ser> = Vec::new();
    if ctx.n == 1 {
        for (_, m, _) in order {
            out.push(Ser {
                labels: series[m].labels.clone(),
                vals: std::mem::take(&mut chosen[m]),
            });
        }
        return Ok(Val::Vector(out));
    }
    for (m, vals) in chosen.into_iter().enumerate() {
        if !vals.is_empty() {
            out.push(Ser {
                labels: series[m].labels.clone(),
                vals,
            });
        }
    }
    Ok(Val::Vector(out))
}

fn count_values(
    ctx: &Ctx,
    series: &[Ser],
    grouping: impl Fn(&Labels) -> Labels,
    label: &str,
) -> Result<Val, Error> {
    if !is_label_name(label) {
        return Err(Error::Execution(format!("invalid label name {label:?}")));
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Ser> = Vec::new();
    for s in series {
        let base = grouping(&s.labels);
        for (i, v) in s.vals.iter().enumerate() {
            let Some(v) = v else { continue };
            let mut l = base.clone();
            l.set(label, &format_value(*v));
            let k = match index.get(&l) {
                Some(&k) => k,
                None => {
                    ctx.charge(ctx.n)?;
                    index.insert(l.clone(), out.len());
                    out.push(Ser {
                        labels: l,
                        vals: vec![None; ctx.n],
                    });
                    out.len() - 1
                }
            };
            let slot = &mut out[k].vals[i];
            *slot = Some(slot.unwrap_or(0.0) + 1.0);
        }
    }
    Ok(Val::Vector(out))
}

fn is_label_name(s: &str) -> bool {
    let mut c = s.chars();
    s != NAME
        && matches!(c.next(), Some(x) if x.is_ascii_alphabetic() || x == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}
