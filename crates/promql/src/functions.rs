//! PromQL functions. Formulas follow Prometheus 2.42 (`promql/functions.go`)
//! step for step, so float results agree to the last bits where the order of
//! operations allows.

use std::collections::HashMap;

use promql_parser::parser::{Call, Expr};

use crate::error::Error;
use crate::eval::{self, Ctx, RangeArg, Ser, Val, Window};
use crate::labels::{Labels, NAME};
use crate::timefns;

/// Evaluates a function call.
pub(crate) fn call(ctx: &Ctx, call: &Call) -> Result<Val, Error> {
    let name = call.func.name;
    let args: Vec<&Expr> = call.args.args.iter().map(|b| b.as_ref()).collect();
    let arg = |i: usize| -> Result<&Expr, Error> {
        args.get(i)
            .copied()
            .ok_or_else(|| Error::BadQuery(format!("{name}: missing argument {}", i + 1)))
    };
    match name {
        "rate" | "increase" | "delta" | "irate" | "idelta" | "deriv" | "resets" | "changes"
        | "avg_over_time" | "min_over_time" | "max_over_time" | "sum_over_time"
        | "count_over_time" | "stddev_over_time" | "stdvar_over_time" | "last_over_time"
        | "present_over_time" => over_range(ctx, arg(0)?, name == "last_over_time", |w, _| {
            range_fn(name, w)
        }),
        "quantile_over_time" => {
            let q = scalar_arg(ctx, arg(0)?)?;
            over_range(ctx, arg(1)?, false, |w, i| {
                let mut v: Vec<f64> = w.points.iter().map(|p| p.1).collect();
                Some(quantile(q[i], &mut v))
            })
        }
        "predict_linear" => {
            let d = scalar_arg(ctx, arg(1)?)?;
            over_range(ctx, arg(0)?, false, |w, i| {
                if w.points.len() < 2 {
                    return None;
                }
                let (slope, intercept) = linear_regression(w.points, w.step_ts);
                Some(slope * d[i] + intercept)
            })
        }
        "holt_winters" | "double_exponential_smoothing" => holt_winters(ctx, &args),
        "absent_over_time" => absent_over_time(ctx, arg(0)?),
        "abs" | "ceil" | "floor" | "exp" | "ln" | "log2" | "log10" | "sqrt" | "sgn" | "acos"
        | "acosh" | "asin" | "asinh" | "atan" | "atanh" | "cos" | "cosh" | "sin" | "sinh"
        | "tan" | "tanh" | "deg" | "rad" => {
            let f = math_fn(name).ok_or_else(|| Error::Unsupported(format!("function {name}")))?;
            map_vector(ctx, arg(0)?, |x, _| Some(f(x)))
        }
        "round" => {
            let to = match args.get(1) {
                Some(e) => scalar_arg(ctx, e)?,
                None => vec![1.0; ctx.n],
            };
            map_vector(ctx, arg(0)?, |x, i| {
                let inv = 1.0 / to[i];
                Some((x * inv + 0.5).floor() / inv)
            })
        }
        "clamp" => {
            let (lo, hi) = (scalar_arg(ctx, arg(1)?)?, scalar_arg(ctx, arg(2)?)?);
            map_vector(ctx, arg(0)?, |x, i| {
                (hi[i] >= lo[i] || lo[i].is_nan() || hi[i].is_nan())
                    .then(|| go_max(lo[i], go_min(hi[i], x)))
            })
        }
        "clamp_min" => {
            let lo = scalar_arg(ctx, arg(1)?)?;
            map_vector(ctx, arg(0)?, |x, i| Some(go_max(lo[i], x)))
        }
        "clamp_max" => {
            let hi = scalar_arg(ctx, arg(1)?)?;
            map_vector(ctx, arg(0)?, |x, i| Some(go_min(hi[i], x)))
        }
        "pi" => Ok(Val::Scalar(vec![std::f64::consts::PI; ctx.n])),
        "time" => Ok(Val::Scalar(
            (0..ctx.n).map(|i| ctx.ts(i) as f64 / 1000.0).collect(),
        )),
        "scalar" => scalar_fn(ctx, arg(0)?),
        "vector" => {
            let v = scalar_arg(ctx, arg(0)?)?;
            Ok(Val::Vector(vec![Ser {
                labels: Labels::default(),
                vals: v.into_iter().map(Some).collect(),
            }]))
        }
        "timestamp" => timestamp(ctx, arg(0)?),
        "label_replace" => label_replace(ctx, &args),
        "label_join" => label_join(ctx, &args),
        "histogram_quantile" => histogram_quantile(ctx, arg(0)?, arg(1)?),
        "absent" => absent(ctx, arg(0)?),
        "sort" | "sort_desc" => sort(ctx, arg(0)?, name == "sort_desc"),
        "day_of_month" | "day_of_week" | "day_of_year" | "days_in_month" | "hour" | "minute"
        | "month" | "year" => {
            let f = timefns::date_fn(name)
                .ok_or_else(|| Error::Unsupported(format!("function {name}")))?;
            match args.first() {
                Some(e) => map_vector(ctx, e, |x, _| Some(f(x))),
                None => Ok(Val::Vector(vec![Ser {
                    labels: Labels::default(),
                    vals: (0..ctx.n)
                        .map(|i| Some(f(ctx.ts(i) as f64 / 1000.0)))
                        .collect(),
                }])),
            }
        }
        _ => Err(Error::Unsupported(format!("function {name}"))),
    }
}

/// Go's `math.Max`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN wins.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |x: f64| {
            if x < 0.0 {
                -1.0
            } else if x > 0.0 {
                1.0
            } else {
                x
            }
        },
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => f64::to_degrees,
        "rad" => f64::to_radians,
        _ => return None,
    })
}

/// A scalar argument, one value per step.
pub(crate) fn scalar_arg(ctx: &Ctx, e: &Expr) -> Result<Vec<f64>, Error> {
    match eval::eval(ctx, e)? {
        Val::Scalar(v) => Ok(v),
        _ => Err(Error::BadQuery("expected a scalar argument".into())),
    }
}

/// A string argument.
pub(crate) fn string_arg(ctx: &Ctx, e: &Expr) -> Result<String, Error> {
    match eval::eval(ctx, e)? {
        Val::Str(s) => Ok(s),
        _ => Err(Error::BadQuery("expected a string argument".into())),
    }
}

/// An instant-vector argument.
pub(crate) fn vector_arg(ctx: &Ctx, e: &Expr) -> Result<Vec<Ser>, Error> {
    match eval::eval(ctx, e)? {
        Val::Vector(v) => Ok(v),
        _ => Err(Error::BadQuery(
            "expected an instant vector argument".into(),
        )),
    }
}

/// Applies `f(value, step)` to every value; the metric name is dropped.
fn map_vector(ctx: &Ctx, e: &Expr, f: impl Fn(f64, usize) -> Option<f64>) -> Result<Val, Error> {
    let out: Vec<Ser> = vector_arg(ctx, e)?
        .into_iter()
        .map(|s| Ser {
            labels: s.labels.without_name(),
            vals: s
                .vals
                .iter()
                .enumerate()
                .map(|(i, v)| v.and_then(|x| f(x, i)))
                .collect(),
        })
        .collect();
    Ok(Val::Vector(eval::merge_same_labels(out)?))
}

/// Reduces each series' window at each step with `f`; empty windows give no
/// value. Like Prometheus, two input series that end up with one label set
/// are an error.
fn over_range(
    ctx: &Ctx,
    e: &Expr,
    keep_name: bool,
    f: impl Fn(&Window, usize) -> Option<f64>,
) -> Result<Val, Error> {
    let arg = RangeArg::of(ctx, e)?;
    let mut out: Vec<Ser> = Vec::new();
    for mut s in arg.reduce(ctx, &f)? {
        ctx.charge(ctx.n)?;
        if !keep_name {
            s.labels = s.labels.without_name();
        }
        out.push(s);
    }
    let mut seen = std::collections::HashSet::with_capacity(out.len());
    for s in &out {
        if !seen.insert(&s.labels) {
            return Err(Error::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(Val::Vector(out))
}

/// The single-argument range functions.
fn range_fn(name: &str, w: &Window) -> Option<f64> {
    let p = w.points;
    match name {
        "rate" => extrapolated_rate(w, true, true),
        "increase" => extrapolated_rate(w, true, false),
        "delta" => extrapolated_rate(w, false, false),
        "irate" | "idelta" => instant_delta(p, name == "irate"),
        "deriv" => (p.len() >= 2).then(|| linear_regression(p, p[0].0).0),
        "resets" => Some(p.windows(2).filter(|x| x[1].1 < x[0].1).count() as f64),
        "changes" => Some(
            p.windows(2)
                .filter(|x| !(x[1].1 == x[0].1 || (x[1].1.is_nan() && x[0].1.is_nan())))
                .count() as f64,
        ),
        "avg_over_time" => {
            let (mut mean, mut count) = (0.0f64, 0.0f64);
            for &(_, v) in p {
                count += 1.0;
                if mean.is_infinite() {
                    if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                        continue;
                    }
                    if !v.is_infinite() && !v.is_nan() {
                        continue;
                    }
                }
                mean += v / count - mean / count;
            }
            Some(mean)
        }
        "min_over_time" => Some(
            p.iter()
                .fold(p[0].1, |m, &(_, v)| if v < m || m.is_nan() { v } else { m }),
        ),
        "max_over_time" => Some(
            p.iter()
                .fold(p[0].1, |m, &(_, v)| if v > m || m.is_nan() { v } else { m }),
        ),
        "sum_over_time" => Some(p.iter().map(|x| x.1).sum()),
        "count_over_time" => Some(p.len() as f64),
        "last_over_time" => p.last().map(|x| x.1),
        "present_over_time" => Some(1.0),
        "stddev_over_time" | "stdvar_over_time" => {
            let (mut aux, mut count, mut mean) = (0.0f64, 0.0f64, 0.0f64);
            for &(_, v) in p {
                count += 1.0;
                let delta = v - mean;
                mean += delta / count;
                aux += delta * (v - mean);
            }
            let var = aux / count;
            Some(if name == "stddev_over_time" {
                var.sqrt()
            } else {
                var
            })
        }
        _ => None,
    }
}

/// `rate`, `increase` and `delta`: the change over the window, extrapolated
/// towards the window's edges (Prometheus' `extrapolatedRate`).
fn extrapolated_rate(w: &Window, is_counter: bool, is_rate: bool) -> Option<f64> {
    let p = w.points;
    if p.len() < 2 {
        return None;
    }
    let (first, last) = (p[0], p[p.len() - 1]);
    let range_start = w.end.saturating_sub(w.range);
    let range_end = w.end;
    let mut result = last.1 - first.1;
    // The correction loop is a chain of dependent additions; a window
    // without a drop (the usual case) skips it, with the same result.
    if is_counter && p.windows(2).any(|x| x[1].1 < x[0].1) {
        let mut prev = first.1;
        for &(_, v) in &p[1..] {
            if v < prev {
                result += prev;
            }
            prev = v;
        }
    }
    let mut to_start = first.0.saturating_sub(range_start) as f64 / 1000.0;
    let to_end = range_end.saturating_sub(last.0) as f64 / 1000.0;
    let sampled = (last.0 - first.0) as f64 / 1000.0;
    let avg_between = sampled / (p.len() - 1) as f64;
    if is_counter && result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg_between * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg_between / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg_between / 2.0
    };
    result *= interval / sampled;
    if is_rate {
        result /= w.range as f64 / 1000.0;
    }
    Some(result)
}

/// `irate` and `idelta`: from the last two samples.
fn instant_delta(p: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let (prev, last) = (p[p.len() - 2], p[p.len() - 1]);
    let mut result = if is_rate && last.1 < prev.1 {
        last.1
    } else {
        last.1 - prev.1
    };
    let interval = last.0 - prev.0;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}

/// Least-squares slope and intercept, x in seconds from `intercept_time`.
fn linear_regression(p: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut sum_y, mut sum_xy, mut sum_x2) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = p[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in p.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = t.saturating_sub(intercept_time) as f64 / 1e3;
        sum_x += x;
        sum_y += v;
        sum_xy += x * v;
        sum_x2 += x * x;
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    (slope, sum_y / n - slope * sum_x / n)
}

/// The φ-quantile of values with linear interpolation (Prometheus'
/// `quantile`), sorting `v`.
pub(crate) fn quantile(q: f64, v: &mut [f64]) -> f64 {
    if v.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // Go's sort puts NaN first (it compares as less than everything).
    v.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = v.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    v[lower as usize] * (1.0 - weight) + v[upper as usize] * weight
}

fn holt_winters(ctx: &Ctx, args: &[&Expr]) -> Result<Val, Error> {
    let (Some(r), Some(sf), Some(tf)) = (args.first(), args.get(1), args.get(2)) else {
        return Err(Error::BadQuery("holt_winters takes three arguments".into()));
    };
    let (sf, tf) = (scalar_arg(ctx, sf)?, scalar_arg(ctx, tf)?);
    for i in 0..ctx.n {
        if !(sf[i] > 0.0 && sf[i] < 1.0) {
            return Err(Error::Execution(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {}",
                sf[i]
            )));
        }
        if !(tf[i] > 0.0 && tf[i] < 1.0) {
            return Err(Error::Execution(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {}",
                tf[i]
            )));
        }
    }
    over_range(ctx, r, false, |w, i| {
        let p = w.points;
        if p.len() < 2 {
            return None;
        }
        let (sf, tf) = (sf[i], tf[i]);
        let (mut s0, mut s1) = (0.0, p[0].1);
        let mut b = p[1].1 - p[0].1;
        for (k, &(_, v)) in p.iter().enumerate().skip(1) {
            let x = sf * v;
            if k > 1 {
                b = tf * (s1 - s0) + (1.0 - tf) * b;
            }
            let y = (1.0 - sf) * (s1 + b);
            s0 = s1;
            s1 = x + y;
        }
        Some(s1)
    })
}

fn scalar_fn(ctx: &Ctx, e: &Expr) -> Result<Val, Error> {
    let vs = vector_arg(ctx, e)?;
    let out = (0..ctx.n)
        .map(|i| {
            let mut present = vs.iter().filter_map(|s| s.vals[i]);
            match (present.next(), present.next()) {
                (Some(v), None) => v,
                _ => f64::NAN,
            }
        })
        .collect();
    Ok(Val::Scalar(out))
}

fn timestamp(ctx: &Ctx, e: &Expr) -> Result<Val, Error> {
    let series = match eval::strip_parens(e) {
        Expr::VectorSelector(vs) => eval::vector_selector(ctx, vs, true)?,
        _ => vector_arg(ctx, e)?
            .into_iter()
            .map(|s| Ser {
                vals: s
                    .vals
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v.map(|_| ctx.ts(i) as f64 / 1000.0))
                    .collect(),
                labels: s.labels,
            })
            .collect(),
    };
    let out = series
        .into_iter()
        .map(|s| Ser {
            labels: s.labels.without_name(),
            vals: s.vals,
        })
        .collect();
    Ok(Val::Vector(eval::merge_same_labels(out)?))
}

fn relabel(
    ctx: &Ctx,
    e: &Expr,
    mut f: impl FnMut(&Labels) -> Result<Labels, Error>,
) -> Result<Val, Error> {
    let mut out = Vec::new();
    for s in vector_arg(ctx, e)? {
        out.push(Ser {
            labels: f(&s.labels)?,
            vals: s.vals,
        });
    }
    Ok(Val::Vector(eval::merge_same_labels(out)?))
}

fn check_label_name(name: &str) -> Result<(), Error> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Execution(format!(
            "invalid destination label name in label_replace(): {name}"
        )))
    }
}

fn label_replace(ctx: &Ctx, args: &[&Expr]) -> Result<Val, Error> {
    if args.len() != 5 {
        return Err(Error::BadQuery("label_replace takes five arguments".into()));
    }
    let dst = string_arg(ctx, args[1])?;
    let repl = string_arg(ctx, args[2])?;
    let src = string_arg(ctx, args[3])?;
    let re_src = string_arg(ctx, args[4])?;
    let re = regex::Regex::new(&format!("^(?:{re_src})$")).map_err(|e| {
        Error::BadQuery(format!(
            "invalid regular expression in label_replace(): {e}"
        ))
    })?;
    check_label_name(&dst)?;
    let mut cache: HashMap<Labels, Labels> = HashMap::new();
    relabel(ctx, args[0], |l| {
        if let Some(done) = cache.get(l) {
            return Ok(done.clone());
        }
        let mut out = l.clone();
        if let Some(caps) = re.captures(l.get(&src)) {
            let mut value = String::new();
            caps.expand(&repl, &mut value);
            out.set(&dst, &value);
        }
        cache.insert(l.clone(), out.clone());
        Ok(out)
    })
}

fn label_join(ctx: &Ctx, args: &[&Expr]) -> Result<Val, Error> {
    if args.len() < 3 {
        return Err(Error::BadQuery(
            "label_join takes at least three arguments".into(),
        ));
    }
    let dst = string_arg(ctx, args[1])?;
    let sep = string_arg(ctx, args[2])?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        srcs.push(string_arg(ctx, a)?);
    }
    check_label_name(&dst)?;
    relabel(ctx, args[0], |l| {
        let joined: Vec<&str> = srcs.iter().map(|s| l.get(s)).collect();
        let mut out = l.clone();
        out.set(&dst, &joined.join(&sep));
        Ok(out)
    })
}

fn histogram_quantile(ctx: &Ctx, q: &Expr, v: &Expr) -> Result<Val, Error> {
    let q = scalar_arg(ctx, q)?;
    let series = vector_arg(ctx, v)?;
    // Buckets of one histogram share every label but `le`.
    let mut groups: HashMap<Labels, (Labels, Vec<(f64, usize)>)> = HashMap::new();
    for (idx, s) in series.iter().enumerate() {
        let Ok(le) = timefns::parse_go_float(s.labels.get("le")) else {
            continue;
        };
        let key = s.labels.drop_names(&["le".to_string()]);
        let out_labels = key.without_name();
        groups
            .entry(key)
            .or_insert_with(|| (out_labels, Vec::new()))
            .1
            .push((le, idx));
    }
    let mut out = Vec::with_capacity(groups.len());
    for (_, (labels, buckets)) in groups {
        let mut vals = vec![None; ctx.n];
        let mut any = false;
        for (i, val) in vals.iter_mut().enumerate() {
            let mut b: Vec<(f64, f64)> = buckets
                .iter()
                .filter_map(|&(le, idx)| series[idx].vals[i].map(|c| (le, c)))
                .collect();
            if b.is_empty() {
                continue;
            }
            *val = Some(timefns::bucket_quantile(q[i], &mut b));
            any = true;
        }
        if any {
            out.push(Ser { labels, vals });
        }
    }
    Ok(Val::Vector(eval::merge_same_labels(out)?))
}

/// The labels `absent` gives: the selector's equality matchers.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match eval::strip_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::default(),
    };
    let mut l = Labels::default();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == NAME {
            continue;
        }
        let eq = matches!(m.op, promql_parser::label::MatchOp::Equal);
        if eq && !seen.contains(&m.name.as_str()) {
            l.set(&m.name, &m.value);
        } else {
            l.set(&m.name, "");
        }
        seen.push(&m.name);
    }
    l
}

fn absent(ctx: &Ctx, e: &Expr) -> Result<Val, Error> {
    let series = vector_arg(ctx, e)?;
    let vals: Vec<Option<f64>> = (0..ctx.n)
        .map(|i| (!series.iter().any(|s| s.vals[i].is_some())).then_some(1.0))
        .collect();
    Ok(absent_result(absent_labels(e), vals))
}

fn absent_over_time(ctx: &Ctx, e: &Expr) -> Result<Val, Error> {
    let arg = RangeArg::of(ctx, e)?;
    let mut present = vec![false; ctx.n];
    arg.for_each(ctx, |_, windows| {
        for (i, w) in windows {
            present[i] |= !w.points.is_empty();
        }
        Ok(())
    })?;
    let vals = present.iter().map(|&p| (!p).then_some(1.0)).collect();
    Ok(absent_result(absent_labels(e), vals))
}

fn absent_result(labels: Labels, vals: Vec<Option<f64>>) -> Val {
    if vals.iter().all(Option::is_none) {
        return Val::Vector(Vec::new());
    }
    Val::Vector(vec![Ser { labels, vals }])
}

fn sort(ctx: &Ctx, e: &Expr, desc: bool) -> Result<Val, Error> {
    let mut series = vector_arg(ctx, e)?;
    // Only an instant query has an order to show; NaN sorts last either way.
    if ctx.n == 1 {
        series.sort_by(|a, b| {
            let (x, y) = (a.vals[0].unwrap_or(f64::NAN), b.vals[0].unwrap_or(f64::NAN));
            match (x.is_nan(), y.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if desc => y.total_cmp(&x),
                _ => x.total_cmp(&y),
            }
        });
    }
    Ok(Val::Vector(series))
}
