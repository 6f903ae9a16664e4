//! Where the bytes of a v3 metric file go, per kind of series (#17).
//!
//! Reads a line-protocol file (`<db>/<name> <value> <ns>`), groups series
//! by kind — the name without its first dotted part, so `host007.cpu.user`
//! is `cpu.user` — and writes one v3 file per kind twice: as is, and with
//! every value replaced by 0 (what timestamps, index and headers cost).
//! Prints both sizes and their difference (the values) per kind.
//!
//!     cargo run --release -p nanotdb --example v3_breakdown -- in.lp

use std::collections::BTreeMap;
use std::error::Error;
use std::io::BufRead;

use nanotdb::config::Codec;
use nanotdb::lineproto::parse_value;
use nanotdb::metricfile::{MetricSamples, Version, write_metric_file};
use nanotdb::{Value, ValueType};

/// One series: its type code, timestamps and value bits.
struct Series {
    vt: ValueType,
    ts: Vec<i64>,
    vals: Vec<u64>,
}

/// The file format's type code (FORMATS §5.5).
fn code(vt: ValueType) -> u8 {
    match vt {
        ValueType::Int32 => 1,
        ValueType::Float32 => 2,
        ValueType::Float64 => 3,
        ValueType::Int64 => 4,
    }
}

/// `v` as a value of the series' type (the first value's type wins).
fn coerce(vt: ValueType, v: Value) -> u64 {
    let x = v.as_f64();
    match vt {
        ValueType::Int32 => u64::from(x as i32 as u32),
        ValueType::Float32 => u64::from((x as f32).to_bits()),
        ValueType::Float64 => x.to_bits(),
        ValueType::Int64 => x as i64 as u64,
    }
}

/// Bytes of one v3 file of `series`, with values zeroed when `zero`.
fn file_bytes(
    dir: &std::path::Path,
    series: &[&Series],
    zero: bool,
) -> Result<u64, Box<dyn Error>> {
    let metrics: Vec<MetricSamples> = series
        .iter()
        .enumerate()
        .map(|(i, s)| MetricSamples {
            id: u16::try_from(i + 1).unwrap_or(u16::MAX),
            value_type: code(s.vt),
            ts: s.ts.clone(),
            vals: if zero {
                vec![0; s.vals.len()]
            } else {
                s.vals.clone()
            },
        })
        .collect();
    let p = dir.join("m.dat");
    Ok(write_metric_file(&p, Version::V3, Codec::ZstdFastest, 1, &metrics, false)?.bytes)
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args().nth(1).ok_or("usage: v3_breakdown IN.lp")?;
    let f = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut series: BTreeMap<String, Series> = BTreeMap::new();
    for line in f.lines() {
        let line = line?;
        let mut it = line.split(' ');
        let (Some(name), Some(v), Some(t)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let v = parse_value(v)?;
        let s = series.entry(name.to_string()).or_insert_with(|| Series {
            vt: v.value_type(),
            ts: Vec::new(),
            vals: Vec::new(),
        });
        s.ts.push(t.parse()?);
        s.vals.push(coerce(s.vt, v));
    }
    let mut kinds: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for (name, s) in &series {
        let base = name.rsplit('/').next().unwrap_or(name);
        let kind = base.split_once('.').map_or(base, |(_, k)| k);
        kinds.entry(kind).or_default().push(s);
    }
    let dir = tempfile::tempdir()?;
    println!("kind\tseries\tsamples\tbytes\tB/sample\ttime+index B\tvalues B/sample");
    let (mut all, mut all_zero, mut all_n) = (0u64, 0u64, 0u64);
    for (kind, ss) in &kinds {
        let n: u64 = ss.iter().map(|s| s.ts.len() as u64).sum();
        let full = file_bytes(dir.path(), ss, false)?;
        let zero = file_bytes(dir.path(), ss, true)?;
        println!(
            "{kind}\t{}\t{n}\t{full}\t{:.3}\t{zero}\t{:.3}",
            ss.len(),
            full as f64 / n as f64,
            full.saturating_sub(zero) as f64 / n as f64
        );
        (all, all_zero, all_n) = (all + full, all_zero + zero, all_n + n);
    }
    println!(
        "all kinds\t{}\t{all_n}\t{all}\t{:.3}\t{all_zero}\t{:.3}",
        series.len(),
        all as f64 / all_n as f64,
        all.saturating_sub(all_zero) as f64 / all_n as f64
    );
    Ok(())
}
