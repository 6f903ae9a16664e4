//! Binary operators: arithmetic, comparison (filtering or `bool`) and set
//! operators between scalars and vectors, with `on`/`ignoring` and
//! `group_left`/`group_right` (Prometheus' `VectorBinop`, step by step).

use std::collections::HashMap;

use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use crate::error::Error;
use crate::eval::{self, Ctx, Ser, Val};
use crate::labels::{Labels, NAME};

/// Evaluates a binary expression.
pub(crate) fn eval(ctx: &Ctx, b: &BinaryExpr) -> Result<Val, Error> {
    let op = b.op.to_string();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let lhs = eval::eval(ctx, &b.lhs)?;
    let rhs = eval::eval(ctx, &b.rhs)?;
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => {
            let mut out = Vec::with_capacity(ctx.n);
            for (x, y) in l.into_iter().zip(r) {
                let (v, keep) = elem_op(&op, x, y)?;
                out.push(if is_comparison(&op) {
                    if keep { 1.0 } else { 0.0 }
                } else {
                    v
                });
            }
            Ok(Val::Scalar(out))
        }
        (Val::Vector(l), Val::Scalar(r)) => vector_scalar(&op, l, &r, false, return_bool),
        (Val::Scalar(l), Val::Vector(r)) => vector_scalar(&op, r, &l, true, return_bool),
        (Val::Vector(l), Val::Vector(r)) => vector_vector(ctx, &op, b, l, r, return_bool),
        _ => Err(Error::BadQuery(format!("operator {op} on a string"))),
    }
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "==" | "!=" | ">" | "<" | ">=" | "<=")
}

fn is_set(op: &str) -> bool {
    matches!(op, "and" | "or" | "unless")
}

/// `(value, keep)` of `x op y`; comparisons keep `x` when true.
fn elem_op(op: &str, x: f64, y: f64) -> Result<(f64, bool), Error> {
    Ok(match op {
        "+" => (x + y, true),
        "-" => (x - y, true),
        "*" => (x * y, true),
        "/" => (x / y, true),
        "%" => (x % y, true),
        "^" => (x.powf(y), true),
        "atan2" => (x.atan2(y), true),
        "==" => (x, x == y),
        "!=" => (x, x != y),
        ">" => (x, x > y),
        "<" => (x, x < y),
        ">=" => (x, x >= y),
        "<=" => (x, x <= y),
        other => return Err(Error::Unsupported(format!("binary operator {other}"))),
    })
}

fn vector_scalar(
    op: &str,
    v: Vec<Ser>,
    s: &[f64],
    scalar_left: bool,
    return_bool: bool,
) -> Result<Val, Error> {
    if is_set(op) {
        return Err(Error::BadQuery(format!(
            "set operator {op} not allowed between a vector and a scalar"
        )));
    }
    let drop_name = !is_comparison(op) || return_bool;
    let mut out = Vec::with_capacity(v.len());
    for ser in v {
        let mut vals = Vec::with_capacity(ser.vals.len());
        for (i, x) in ser.vals.iter().enumerate() {
            let Some(x) = *x else {
                vals.push(None);
                continue;
            };
            let (l, r) = if scalar_left { (s[i], x) } else { (x, s[i]) };
            let (mut value, mut keep) = elem_op(op, l, r)?;
            if is_comparison(op) && scalar_left {
                value = x;
            }
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
                keep = true;
            }
            vals.push(keep.then_some(value));
        }
        let labels = if drop_name {
            ser.labels.without_name()
        } else {
            ser.labels
        };
        out.push(Ser { labels, vals });
    }
    Ok(Val::Vector(eval::merge_same_labels(out)?))
}

/// How two vectors' series are matched.
struct Matching {
    on: bool,
    labels: Vec<String>,
    card: Card,
    include: Vec<String>,
}

#[derive(PartialEq)]
enum Card {
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

fn matching_of(b: &BinaryExpr, op: &str) -> Matching {
    let (mut on, mut labels) = (false, Vec::new());
    let (mut card, mut include) = (
        if is_set(op) {
            Card::ManyToMany
        } else {
            Card::OneToOne
        },
        Vec::new(),
    );
    if let Some(m) = &b.modifier {
        match &m.matching {
            Some(LabelModifier::Include(l)) => (on, labels) = (true, l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => labels = l.labels.clone(),
            None => {}
        }
        match &m.card {
            VectorMatchCardinality::ManyToOne(l) => {
                (card, include) = (Card::ManyToOne, l.labels.clone())
            }
            VectorMatchCardinality::OneToMany(l) => {
                (card, include) = (Card::OneToMany, l.labels.clone())
            }
            VectorMatchCardinality::ManyToMany => card = Card::ManyToMany,
            VectorMatchCardinality::OneToOne => {}
        }
    }
    Matching {
        on,
        labels,
        card,
        include,
    }
}

impl Matching {
    fn signature(&self, l: &Labels) -> Labels {
        if self.on {
            l.keep(&self.labels)
        } else {
            l.drop_names(&self.labels).without_name()
        }
    }
}

/// Interns signatures so each step compares small integers.
fn signatures(m: &Matching, l: &[Ser], r: &[Ser]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut ids: HashMap<Labels, usize> = HashMap::new();
    let mut id = |s: &Ser| {
        let sig = m.signature(&s.labels);
        let n = ids.len();
        *ids.entry(sig).or_insert(n)
    };
    let ls: Vec<usize> = l.iter().map(&mut id).collect();
    let rs: Vec<usize> = r.iter().map(&mut id).collect();
    (ls, rs, ids.len())
}

fn vector_vector(
    ctx: &Ctx,
    op: &str,
    b: &BinaryExpr,
    lhs: Vec<Ser>,
    rhs: Vec<Ser>,
    return_bool: bool,
) -> Result<Val, Error> {
    let m = matching_of(b, op);
    if is_set(op) {
        return set_op(ctx, op, &m, lhs, rhs);
    }
    // The "one" side is always the right in the loop below.
    let (lhs, rhs) = if m.card == Card::OneToMany {
        (rhs, lhs)
    } else {
        (lhs, rhs)
    };
    let (lsig, rsig, nsig) = signatures(&m, &lhs, &rhs);
    let mut out: Vec<Ser> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut metric_cache: HashMap<(usize, usize), Labels> = HashMap::new();
    let mut right_at: Vec<Option<usize>> = vec![None; nsig];
    let mut matched: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..ctx.n {
        right_at.iter_mut().for_each(|x| *x = None);
        for (ri, r) in rhs.iter().enumerate() {
            if r.vals[i].is_none() {
                continue;
            }
            if right_at[rsig[ri]].is_some() {
                return Err(Error::Execution(format!(
                    "found duplicate series for the match group on the {} hand-side of the operation: {};many-to-many matching not allowed: matching labels must be unique on one side",
                    if m.card == Card::OneToMany {
                        "left"
                    } else {
                        "right"
                    },
                    r.labels.display()
                )));
            }
            right_at[rsig[ri]] = Some(ri);
        }
        matched.clear();
        for (li, l) in lhs.iter().enumerate() {
            let Some(lv) = l.vals[i] else { continue };
            let Some(ri) = right_at[lsig[li]] else {
                continue;
            };
            let Some(rv) = rhs[ri].vals[i] else { continue };
            let (vl, vr) = if m.card == Card::OneToMany {
                (rv, lv)
            } else {
                (lv, rv)
            };
            let (mut value, keep) = elem_op(op, vl, vr)?;
            if return_bool {
                value = if keep { 1.0 } else { 0.0 };
            } else if !keep {
                continue;
            }
            let metric = metric_cache
                .entry((li, ri))
                .or_insert_with(|| result_metric(&l.labels, &rhs[ri].labels, op, &m, return_bool))
                .clone();
            let slot = match index.get(&metric) {
                Some(&k) => k,
                None => {
                    ctx.charge(ctx.n)?;
                    index.insert(metric.clone(), out.len());
                    out.push(Ser {
                        labels: metric,
                        vals: vec![None; ctx.n],
                    });
                    out.len() - 1
                }
            };
            let seen = matched.entry(lsig[li]).or_default();
            if m.card == Card::OneToOne && !seen.is_empty() {
                return Err(Error::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                ));
            }
            if seen.contains(&slot) {
                return Err(Error::Execution(
                    "multiple matches for labels: grouping labels must ensure unique matches"
                        .into(),
                ));
            }
            seen.push(slot);
            out[slot].vals[i] = Some(value);
        }
    }
    Ok(Val::Vector(out))
}

/// The labels of one result element (Prometheus' `resultMetric`).
fn result_metric(l: &Labels, r: &Labels, op: &str, m: &Matching, return_bool: bool) -> Labels {
    let mut out = l.clone();
    if !is_comparison(op) || return_bool {
        out.set(NAME, "");
    }
    if m.card == Card::OneToOne {
        out = if m.on {
            out.keep(&m.labels)
        } else {
            out.drop_names(&m.labels)
        };
    }
    for name in &m.include {
        out.set(name, r.get(name));
    }
    out
}

fn set_op(ctx: &Ctx, op: &str, m: &Matching, lhs: Vec<Ser>, rhs: Vec<Ser>) -> Result<Val, Error> {
    let (lsig, rsig, nsig) = signatures(m, &lhs, &rhs);
    let mut present = vec![false; nsig];
    match op {
        "and" | "unless" => {
            let mut out = lhs;
            for i in 0..ctx.n {
                present.iter_mut().for_each(|x| *x = false);
                for (ri, r) in rhs.iter().enumerate() {
                    if r.vals[i].is_some() {
                        present[rsig[ri]] = true;
                    }
                }
                for (li, l) in out.iter_mut().enumerate() {
                    if l.vals[i].is_some() && present[lsig[li]] != (op == "and") {
                        l.vals[i] = None;
                    }
                }
            }
            Ok(Val::Vector(out))
        }
        _ => {
            let mut rhs = rhs;
            for i in 0..ctx.n {
                present.iter_mut().for_each(|x| *x = false);
                for (li, l) in lhs.iter().enumerate() {
                    if l.vals[i].is_some() {
                        present[lsig[li]] = true;
                    }
                }
                for (ri, r) in rhs.iter_mut().enumerate() {
                    if present[rsig[ri]] {
                        r.vals[i] = None;
                    }
                }
            }
            let mut out = lhs;
            out.extend(rhs);
            Ok(Val::Vector(eval::merge_same_labels(out)?))
        }
    }
}
