//! The four workloads: `gen_edge`, `gen_fleet`, `gen_sparse` and
//! `gen_history` of the script, with the same order of random draws.

use crate::pyfmt::{py_max, py_min, py_round, write_f32};
use crate::pyrandom::PyRandom;
use crate::series::{Kind, Series, counter_step, diurnal};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Flush the line buffer to the writer once it holds this many bytes.
const FLUSH_AT: usize = 1 << 16;

/// Buffers `DB/metric VALUE TIMESTAMP_NS` lines and counts them.
pub(crate) struct Lines<'w, W: Write + ?Sized> {
    w: &'w mut W,
    buf: Vec<u8>,
    /// Scratch text for the value of the line being built.
    pub val: String,
    /// Scratch text for the timestamp of the lines being built.
    pub ts: String,
    /// Lines written so far.
    pub count: u64,
}

impl<'w, W: Write + ?Sized> Lines<'w, W> {
    pub fn new(w: &'w mut W) -> Self {
        Self {
            w,
            buf: Vec::with_capacity(FLUSH_AT + 256),
            val: String::with_capacity(32),
            ts: String::with_capacity(24),
            count: 0,
        }
    }

    /// Sets the timestamp text used by the following [`Lines::emit`] calls.
    pub fn set_ts(&mut self, ts: i64) {
        self.ts.clear();
        let _ = write!(self.ts, "{ts}");
    }

    /// Writes `prefix`, the current value text, a space, the timestamp
    /// text and a newline, then clears the value text.
    pub fn emit(&mut self, prefix: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(prefix);
        self.buf.extend_from_slice(self.val.as_bytes());
        self.buf.push(b' ');
        self.buf.extend_from_slice(self.ts.as_bytes());
        self.buf.push(b'\n');
        self.val.clear();
        self.count += 1;
        if self.buf.len() >= FLUSH_AT {
            self.w.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes what is buffered and flushes the writer.
    pub fn finish(mut self) -> io::Result<u64> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        self.w.flush()?;
        Ok(self.count)
    }
}

/// Fixed parameters of a run.
pub(crate) struct Run<'a> {
    pub db: &'a str,
    pub hours: i64,
    pub start_ns: i64,
    /// `START_NS // 10**9`.
    pub start_s: i64,
}

fn temp(base: f64, swing: f64, start: f64) -> Kind {
    Kind::Temp {
        base,
        swing,
        v: start,
    }
}

fn pct(mean: f64) -> Kind {
    Kind::Pct { mean, v: mean }
}

fn gauge(start: i64, step: i64, max: i64) -> Kind {
    Kind::GaugeInt {
        step,
        max,
        v: start,
    }
}

fn counter(rate: f64, start: i64) -> Kind {
    Kind::Counter { rate, v: start }
}

/// `edge_series`: the metrics of the six collectors, in creation order.
fn edge_series(db: &str) -> Vec<Vec<Series>> {
    let s = |name: &str, kind: Kind| Series::new(db, name, kind);
    let mut temps: Vec<Series> = (0..8)
        .map(|i| {
            let base = f64::from(18 + 2 * i);
            let swing = f64::from(3 + i % 3);
            s(&format!("temp.probe{i:02}"), temp(base, swing, base))
        })
        .collect();
    temps.push(s("temp.cpu", temp(48.0, 4.0, 48.0)));
    let mut cpu = Vec::new();
    for c in 0..4 {
        for (mode, mean) in [
            ("user", 12.0),
            ("system", 4.0),
            ("iowait", 1.0),
            ("idle", 83.0),
        ] {
            cpu.push(s(&format!("cpu.core{c}.{mode}"), pct(mean)));
        }
    }
    for (w, m) in [("1m", 0.6), ("5m", 0.5), ("15m", 0.4)] {
        cpu.push(s(&format!("load.{w}"), Kind::Load { mean: m, v: m }));
    }
    let mem_starts = [
        ("total", 3_900_000),
        ("free", 1_200_000),
        ("available", 2_400_000),
        ("buffers", 90_000),
        ("cached", 1_100_000),
        ("swap_free", 100_000),
        ("slab", 80_000),
        ("shmem", 30_000),
        ("dirty", 400),
        ("writeback", 0),
    ];
    let mem = mem_starts
        .iter()
        .map(|&(n, st)| s(&format!("mem.{n}_kb"), gauge(st, 4, 4_000_000)))
        .collect();
    let mut disk = Vec::new();
    for dev in ["mmcblk0", "sda1"] {
        disk.push(s(
            &format!("disk.{dev}.used_kb"),
            gauge(9_000_000, 8, 30_000_000),
        ));
        disk.push(s(
            &format!("disk.{dev}.free_kb"),
            gauge(20_000_000, 8, 30_000_000),
        ));
        disk.push(s(
            &format!("disk.{dev}.inodes_used"),
            gauge(250_000, 1, 2_000_000),
        ));
        let io = [
            ("reads", 3.0),
            ("writes", 12.0),
            ("read_kb", 40.0),
            ("write_kb", 150.0),
            ("busy_ms", 30.0),
            ("queue_ms", 45.0),
        ];
        for (n, r) in io {
            disk.push(s(&format!("io.{dev}.{n}"), counter(r, 1000)));
        }
    }
    disk.push(s("disk.sd_write_probe_ms", Kind::Latency { median: 2.5 }));
    let mut net = Vec::new();
    for ifc in ["eth0", "wlan0"] {
        let rates = [
            ("rx_kb", 25.0),
            ("tx_kb", 9.0),
            ("rx_packets", 60.0),
            ("tx_packets", 40.0),
            ("rx_errors", 0.001),
            ("tx_errors", 0.001),
            ("rx_dropped", 0.01),
            ("tx_dropped", 0.001),
        ];
        for (n, r) in rates {
            net.push(s(&format!("net.{ifc}.{n}"), counter(r, 10_000)));
        }
    }
    let mut procs = Vec::new();
    for p in ["nanotdb", "drip", "sshd"] {
        procs.push(s(&format!("proc.{p}.rss_kb"), gauge(20_000, 4, 500_000)));
        procs.push(s(&format!("proc.{p}.threads"), gauge(8, 1, 64)));
        procs.push(s(&format!("proc.{p}.fds"), gauge(12, 1, 1024)));
        procs.push(s(&format!("proc.{p}.cpu_pct"), pct(2.0)));
    }
    procs.push(s("host.uptime_s", Kind::Uptime { start: 12_345 }));
    vec![temps, cpu, mem, disk, net, procs]
}

/// `gen_edge`: each collector scrapes every 10 s at its own phase plus up
/// to 20 ms of jitter; scrapes are ordered by timestamp (stable on ties).
pub(crate) fn edge<W: Write + ?Sized>(
    run: &Run,
    rng: &mut PyRandom,
    out: &mut Lines<W>,
) -> io::Result<()> {
    let mut groups = edge_series(run.db);
    let offsets: Vec<i64> = groups
        .iter()
        .map(|_| rng.randint(0, 900) * 1_000_000)
        .collect();
    let step: i64 = 10_000_000_000;
    let n = run.hours.max(0) * 3600 * 1_000_000_000 / step;
    let mut events: Vec<(i64, usize)> = Vec::with_capacity(groups.len());
    for i in 0..n {
        events.clear();
        for (g, off) in offsets.iter().enumerate() {
            let ts = run.start_ns + i * step + off + rng.randint(0, 20_000_000);
            events.push((ts, g));
        }
        events.sort_by_key(|e| e.0);
        for &(ts, g) in &events {
            let t_s = ts as f64 / 1e9;
            out.set_ts(ts);
            for s in &mut groups[g] {
                s.next(rng, t_s, run.start_s, &mut out.val);
                out.emit(&s.prefix)?;
            }
        }
    }
    Ok(())
}

/// `gen_fleet`: 50 hosts x 20 metrics, all scraped every second.
pub(crate) fn fleet<W: Write + ?Sized>(
    run: &Run,
    rng: &mut PyRandom,
    out: &mut Lines<W>,
) -> io::Result<()> {
    let mut series = Vec::with_capacity(1000);
    for h in 0..50i64 {
        let metrics = [
            ("cpu.user", pct(20.0)),
            ("cpu.system", pct(6.0)),
            ("cpu.iowait", pct(2.0)),
            ("load.1m", Kind::Load { mean: 1.5, v: 1.5 }),
            ("mem.used_kb", gauge(8_000_000, 64, 64_000_000)),
            ("mem.cached_kb", gauge(4_000_000, 64, 64_000_000)),
            ("disk.read_kb", counter(400.0, 0)),
            ("disk.write_kb", counter(900.0, 0)),
            ("net.rx_kb", counter(1200.0, 0)),
            ("net.tx_kb", counter(800.0, 0)),
            ("http.requests", counter(150.0, 0)),
            ("http.errors", counter(0.3, 0)),
            ("http.latency_p50_ms", Kind::Latency { median: 12.0 }),
            ("http.latency_p99_ms", Kind::Latency { median: 90.0 }),
            ("gc.pause_ms", Kind::Latency { median: 1.5 }),
            ("threads", gauge(200, 1, 5000)),
            ("fds", gauge(900, 2, 65_000)),
            ("temp.cpu", temp(55.0, 6.0, 55.0)),
            ("temp.inlet", temp(24.0, 2.0, 24.0)),
            ("uptime_s", Kind::Uptime { start: 1000 * h }),
        ];
        for (m, kind) in metrics {
            series.push(Series::new(run.db, &format!("host{h:03}.{m}"), kind));
        }
    }
    let step: i64 = 1_000_000_000;
    for i in 0..run.hours.max(0) * 3600 {
        let ts = run.start_ns + i * step;
        let t_s = ts as f64 / 1e9;
        out.set_ts(ts);
        for s in &mut series {
            s.next(rng, t_s, run.start_s, &mut out.val);
            out.emit(&s.prefix)?;
        }
    }
    Ok(())
}

/// `gen_sparse`: 5,000 event-driven metrics with exponential gaps, merged
/// through a min-heap on `(timestamp, index)`.
pub(crate) fn sparse<W: Write + ?Sized>(
    run: &Run,
    rng: &mut PyRandom,
    out: &mut Lines<W>,
) -> io::Result<()> {
    let mut series = Vec::with_capacity(5000);
    let mut gaps = Vec::with_capacity(5000);
    let mut heap = BinaryHeap::with_capacity(5000);
    for i in 0..5000usize {
        let (name, kind) = match i % 4 {
            0 => ("latency", Kind::Latency { median: 8.0 }),
            1 => ("counter", counter(3.0, 0)),
            2 => ("temp", temp(21.0, 2.0, 21.0)),
            _ => ("gauge_int", gauge(500, 3, 100_000)),
        };
        let full = format!("svc{:02}.ev{:02}.{name}", i / 100, i % 100);
        series.push(Series::new(run.db, &full, kind));
        let gap = f64::from(rng.choice(&[10, 30, 60, 300, 900]).copied().unwrap_or(10));
        gaps.push(gap);
        let first = (rng.expovariate(1.0 / gap) * 1e9) as i64;
        heap.push(Reverse((run.start_ns.saturating_add(first), i)));
    }
    let end = run.start_ns + run.hours.max(0) * 3600 * 1_000_000_000;
    while let Some(Reverse((ts, i))) = heap.pop() {
        if ts >= end {
            continue;
        }
        let s = &mut series[i];
        s.next(rng, ts as f64 / 1e9, run.start_s, &mut out.val);
        out.set_ts(ts);
        out.emit(&s.prefix)?;
        let gap = ((rng.expovariate(1.0 / gaps[i]) * 1e9) as i64).max(1);
        heap.push(Reverse((ts.saturating_add(gap), i)));
    }
    Ok(())
}

/// One wind turbine of `gen_history`: its eight line prefixes and state.
struct Turbine {
    /// Prefixes in output order: wind, power, rpm, pitch, nacelle temp,
    /// gearbox temp, grid frequency, alarm count.
    prefixes: [Vec<u8>; 8],
    wind: f64,
    nacelle: f64,
    gearbox: f64,
    alarms: i64,
}

impl Turbine {
    fn new(db: &str, t: u32) -> Self {
        let names = [
            "wind_speed_ms",
            "power_kw",
            "rotor_rpm",
            "pitch_deg",
            "nacelle_temp_c",
            "gearbox_temp_c",
            "grid_freq_hz",
            "alarm_count",
        ];
        Self {
            prefixes: names.map(|n| format!("{db}/wt{t}.{n} ").into_bytes()),
            wind: 7.0,
            nacelle: 25.0,
            gearbox: 60.0,
            alarms: 0,
        }
    }

    /// Appends the text of value `k` (0..8, in prefix order) at time `t_s`.
    fn value(&mut self, k: usize, rng: &mut PyRandom, t_s: f64, out: &mut String) {
        let w = self.wind;
        match k {
            0 => {
                let v = py_max(0.0, w + (7.5 - w) * 0.05 + rng.gauss(0.0, 0.8));
                self.wind = v;
                write_f32(out, py_round(v, 2));
            }
            1 => {
                let p = if w < 3.0 {
                    0.0
                } else {
                    // black_box keeps the exponent opaque so this stays a libm pow() call, like Python's.
                    let cube = ((w - 3.0) / 9.0).powf(std::hint::black_box(3.0));
                    py_min(2050.0, 2050.0 * cube) + rng.gauss(0.0, 15.0)
                };
                write_f32(out, py_round(py_max(-5.0, p), 1));
            }
            2 => {
                let r = if w < 3.0 {
                    0.0
                } else {
                    py_min(16.1, 6.0 + w * 0.9) + rng.gauss(0.0, 0.1)
                };
                write_f32(out, py_round(r, 2));
            }
            3 => {
                let p = if w > 12.0 {
                    (w - 12.0) * 2.2
                } else {
                    -0.9 + rng.gauss(0.0, 0.05)
                };
                write_f32(out, py_round(py_max(-1.0, p), 2));
            }
            4 | 5 => {
                let (base, swing, v) = if k == 4 {
                    (25.0, 6.0, &mut self.nacelle)
                } else {
                    (60.0, 4.0, &mut self.gearbox)
                };
                let target = diurnal(base, swing, t_s);
                *v += (target - *v) * 0.1 + rng.gauss(0.0, 0.2);
                write_f32(out, py_round(*v, 1));
            }
            6 => write_f32(out, py_round(50.0 + rng.gauss(0.0, 0.015), 3)),
            _ => {
                counter_step(rng, &mut self.alarms, 0.02);
                let _ = write!(out, "{}", self.alarms);
            }
        }
    }
}

/// `gen_history`: 4 turbines x 8 SCADA variables every 10 minutes.
pub(crate) fn history<W: Write + ?Sized>(
    run: &Run,
    rng: &mut PyRandom,
    out: &mut Lines<W>,
) -> io::Result<()> {
    let mut turbines: Vec<Turbine> = (1..=4).map(|t| Turbine::new(run.db, t)).collect();
    let step: i64 = 600_000_000_000;
    for i in 0..run.hours.max(0) * 3600 * 1_000_000_000 / step {
        let ts = run.start_ns + i * step;
        let t_s = ts as f64 / 1e9;
        out.set_ts(ts);
        for t in &mut turbines {
            for k in 0..8 {
                t.value(k, rng, t_s, &mut out.val);
                out.emit(&t.prefixes[k])?;
            }
        }
    }
    Ok(())
}
