//! The script's `Series` class: one metric with a tiny state machine that
//! produces its next value as text.

use crate::pyfmt::{py_max, py_min, py_mod, py_round, py_round_int, write_f32};
use crate::pyrandom::PyRandom;
use std::f64::consts::PI;
use std::fmt::Write as _;

/// Counters reset to 0 once they pass this (the script's `INT32_MAX`).
const INT32_MAX: i64 = (1 << 31) - 1;

/// `base + swing * sin(2 * pi * (t_s % 86400) / 86400)`: a daily cycle.
pub(crate) fn diurnal(base: f64, swing: f64, t_s: f64) -> f64 {
    base + swing * (2.0 * PI * py_mod(t_s, 86_400.0) / 86_400.0).sin()
}

/// One `counter` step: `v += max(0, int(expovariate(1 / rate)))`, reset past
/// `INT32_MAX`.
pub(crate) fn counter_step(rng: &mut PyRandom, v: &mut i64, rate: f64) {
    *v += (rng.expovariate(1.0 / rate) as i64).max(0);
    if *v > INT32_MAX {
        *v = 0;
    }
}

/// The kind of a metric, its parameters (`kw` in the script) and its state.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Diurnal swing plus slow drift, quantised to 1/16 degree.
    Temp { base: f64, swing: f64, v: f64 },
    /// Busy percentage with rare bursts, two decimals.
    Pct { mean: f64, v: f64 },
    /// Load average: smoothed exponential noise.
    Load { mean: f64, v: f64 },
    /// Integer gauge (KiB, counts): slow walk with rare jumps.
    GaugeInt { step: i64, max: i64, v: i64 },
    /// Monotonic counter that wraps to 0 past `i32::MAX`.
    Counter { rate: f64, v: i64 },
    /// Log-normal latency in ms with rare spikes.
    Latency { median: f64 },
    /// Seconds since the workload start plus an offset.
    Uptime { start: i64 },
}

/// One metric: the line prefix `"DB/name "` and its kind.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// `"{db}/{name} "`, ready to be written.
    pub prefix: Vec<u8>,
    /// Parameters and state.
    pub kind: Kind,
}

impl Series {
    /// A metric named `name` in database `db`.
    pub fn new(db: &str, name: &str, kind: Kind) -> Self {
        let prefix = format!("{db}/{name} ").into_bytes();
        Self { prefix, kind }
    }

    /// `Series.next(t_s)`: advance the state and append the value's text.
    /// `start_s` is the workload start in whole seconds (`START_NS // 10**9`).
    pub fn next(&mut self, rng: &mut PyRandom, t_s: f64, start_s: i64, out: &mut String) {
        match &mut self.kind {
            Kind::Temp { base, swing, v } => {
                let target = diurnal(*base, *swing, t_s);
                *v += (target - *v) * 0.02 + rng.gauss(0.0, 0.03);
                write_f32(out, py_round_int(*v * 16.0) / 16.0);
            }
            Kind::Pct { mean, v } => {
                let burst = if rng.random() < 0.01 { 40.0 } else { 0.0 };
                let x = 0.8 * *v + 0.2 * *mean + rng.gauss(0.0, 2.0) + burst;
                *v = py_max(0.0, py_min(100.0, x));
                write_f32(out, py_round(*v, 2));
            }
            Kind::Load { mean, v } => {
                *v = py_max(0.0, *v * 0.95 + rng.expovariate(1.0 / *mean) * 0.05);
                write_f32(out, py_round(*v, 2));
            }
            Kind::GaugeInt { step, max, v } => {
                let dir = rng.choice(&[-1i64, 0, 0, 0, 1]).copied().unwrap_or(0);
                let mut delta = dir * *step;
                if rng.random() < 0.002 {
                    delta += rng.randint(-50, 50) * *step;
                }
                *v = (*v + delta).min(*max).max(0);
                let _ = write!(out, "{v}");
            }
            Kind::Counter { rate, v } => {
                counter_step(rng, v, *rate);
                let _ = write!(out, "{v}");
            }
            Kind::Latency { median } => {
                let mut x = rng.lognormvariate(median.ln(), 0.3);
                if rng.random() < 0.005 {
                    x *= 20.0;
                }
                write_f32(out, py_round(x, 3));
            }
            Kind::Uptime { start } => {
                let up = (t_s - start_s as f64) as i64 + *start;
                let _ = write!(out, "{up}");
            }
        }
    }
}
