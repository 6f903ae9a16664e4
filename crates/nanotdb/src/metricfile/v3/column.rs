//! One block of a v3 file: a column of numbers of one type, compressed with
//! pcodec (or stored raw when that is not smaller), and its bounded decoder.
//!
//! Values travel as `u64` bit patterns (4-byte types in the low half), so
//! every bit — NaN payloads, −0.0, denormals — is what is stored. The writer
//! decodes every pco block it makes and compares bits before keeping it, so
//! a file never depends on pco's float handling being bit-exact.

use crate::metricfile::run::decimal32_bits;
use pco::ChunkConfig;
use pco::standalone::{simple_compress, simple_decompress_into};

/// Block data type: int32 (the value type codes, FORMATS §5.5).
pub const DT_I32: u8 = 1;
/// Block data type: float32.
pub const DT_F32: u8 = 2;
/// Block data type: float64.
pub const DT_F64: u8 = 3;
/// Block data type: int64; also the type of every time block.
pub const DT_I64: u8 = 4;

/// Block encoding: one pcodec standalone file.
pub const ENC_PCO: u8 = 1;
/// Block encoding: little-endian numbers, `width × count` bytes.
pub const ENC_RAW: u8 = 2;
/// Block encoding of float blocks: decimal-scaled integers. One byte `k`
/// (0..=[`MAX_DECIMALS`]), then a pcodec file of i64 `x` with each value
/// equal to `x / 10^k` computed in f64 (rounded to f32 for float32).
/// Sensor values are decimals printed with a few digits; as floats their
/// low mantissa bits look random to a float codec, as integers they do not
/// (the edge day: 7 % smaller than pcodec's own float modes).
pub const ENC_PCO_DECIMAL: u8 = 3;
/// Block encoding of int64 blocks (timestamps): numbers on a grid. An i64
/// `step`, then a pcodec file of the residuals `r[k] = x[k] − k·step`
/// (wrapping). Scrape timestamps are a fixed interval plus jitter: pcodec's
/// own deltas subtract two jitters (a triangular distribution, ~0.7 bit
/// more per number than one jitter); residuals from the grid keep one.
pub const ENC_PCO_STRIDE: u8 = 4;
/// Block encoding of float blocks: [`ENC_PCO_DECIMAL`] with the integers
/// stored as i32 (the writer's choice when they all fit): pcodec decodes
/// 32-bit numbers faster, and float32 values then decode with one f32
/// division (edge day: a block's decode −19 %, bytes −1 %).
pub const ENC_PCO_DECIMAL32: u8 = 5;
/// Most decimal digits [`ENC_PCO_DECIMAL`] tries.
pub const MAX_DECIMALS: u8 = 6;
const _: () = assert!(MAX_DECIMALS == crate::metricfile::run::MAX_SCALE);

/// Most numbers one payload byte may declare. Decoding allocates 8 bytes
/// per number, so this bounds allocation by input size (8 KiB per byte);
/// a pco block the writer makes that would exceed it is stored raw.
pub const MAX_POINTS_PER_BYTE: u64 = 1024;

/// Byte width of one number of `dtype` (`None`: unknown type).
pub fn width(dtype: u8) -> Option<usize> {
    match dtype {
        DT_I32 | DT_F32 => Some(4),
        DT_F64 | DT_I64 => Some(8),
        _ => None,
    }
}

/// Encodes `vals` (bit patterns) of `dtype` at pco `level`; returns the
/// encoding id and the payload.
pub fn encode(dtype: u8, vals: &[u64], level: usize) -> (u8, Vec<u8>) {
    let cfg = ChunkConfig::default().with_compression_level(level);
    let w = width(dtype).unwrap_or(8);
    // Floats that are all short decimals go decimal without a float
    // attempt: as integers they were smaller on every workload measured,
    // and a second pcodec pass would double the build time of such blocks.
    if (dtype == DT_F32 || dtype == DT_F64)
        && let Some((enc, p)) = encode_decimal(dtype, vals, &cfg)
        && p.len() < vals.len() * w
    {
        let mut back = Vec::new();
        if decode(dtype, enc, &p, vals.len(), &mut back).is_ok() && back == vals {
            return (enc, p);
        }
    }
    let pco = match dtype {
        DT_I32 => {
            let v: Vec<i32> = vals.iter().map(|&b| b as u32 as i32).collect();
            simple_compress(&v, &cfg).ok()
        }
        DT_F32 => {
            let v: Vec<f32> = vals.iter().map(|&b| f32::from_bits(b as u32)).collect();
            simple_compress(&v, &cfg).ok()
        }
        DT_F64 => {
            let v: Vec<f64> = vals.iter().map(|&b| f64::from_bits(b)).collect();
            simple_compress(&v, &cfg).ok()
        }
        _ => {
            let v: Vec<i64> = vals.iter().map(|&b| b as i64).collect();
            simple_compress(&v, &cfg).ok()
        }
    };
    let mut pco = pco;
    let mut enc = ENC_PCO;
    if dtype == DT_I64
        && let Some(p) = encode_stride(vals, &cfg)
        && pco.as_ref().is_none_or(|q| p.len() < q.len())
    {
        pco = Some(p);
        enc = ENC_PCO_STRIDE;
    }
    if let Some(p) = pco
        && p.len() < vals.len() * w
        && (p.len() as u64).saturating_mul(MAX_POINTS_PER_BYTE) >= vals.len() as u64
    {
        let mut back = Vec::new();
        if decode(dtype, enc, &p, vals.len(), &mut back).is_ok() && back == vals {
            return (enc, p);
        }
    }
    let mut raw = Vec::with_capacity(vals.len() * w);
    for &b in vals {
        raw.extend_from_slice(&b.to_le_bytes()[..w]);
    }
    (ENC_RAW, raw)
}

/// A float block as decimal-scaled integers (see [`ENC_PCO_DECIMAL`] and
/// [`ENC_PCO_DECIMAL32`]), if some `k <= MAX_DECIMALS` reproduces every
/// value's bits; returns the encoding and the payload.
fn encode_decimal(dtype: u8, vals: &[u64], cfg: &ChunkConfig) -> Option<(u8, Vec<u8>)> {
    let (k, ints) = decimal_ints(dtype, vals)?;
    let mut out = vec![k];
    let narrow: Option<Vec<i32>> = ints.iter().map(|&x| i32::try_from(x).ok()).collect();
    if let Some(narrow) = narrow {
        out.extend(simple_compress(&narrow, cfg).ok()?);
        return Some((ENC_PCO_DECIMAL32, out));
    }
    out.extend(simple_compress(&ints, cfg).ok()?);
    Some((ENC_PCO_DECIMAL, out))
}

/// The fewest decimals `k <= MAX_DECIMALS` with which every float of
/// `vals` is `x / 10^k`, and those `x`.
fn decimal_ints(dtype: u8, vals: &[u64]) -> Option<(u8, Vec<i64>)> {
    let as_f64 = |b: u64| {
        if dtype == DT_F32 {
            f64::from(f32::from_bits(b as u32))
        } else {
            f64::from_bits(b)
        }
    };
    let mut ints = Vec::with_capacity(vals.len());
    'k: for k in 0..=MAX_DECIMALS {
        let scale = 10f64.powi(i32::from(k));
        ints.clear();
        for &b in vals {
            let x = (as_f64(b) * scale).round();
            // Outside ±2^53 an f64 no longer holds every integer.
            if x.is_nan() || x.abs() >= 9.0e15 {
                return None;
            }
            let x = x as i64;
            if decimal_bits(dtype, x, scale) != b {
                continue 'k;
            }
            ints.push(x);
        }
        return Some((k, ints));
    }
    None
}

/// Which short vectors the writer packs together (equal keys only): the
/// same decimal scale, the same better delta order (none or one) and
/// residuals of about the same size. One pcodec block then fits every
/// member; a mix pays the widest member's scale and spread for all.
pub fn pack_key(dtype: u8, vals: &[u64]) -> u32 {
    let (k, ints): (u32, Vec<i64>) = match dtype {
        DT_F32 | DT_F64 => match decimal_ints(dtype, vals) {
            Some((k, ints)) => (u32::from(k), ints),
            None => return u32::MAX,
        },
        DT_I32 => (
            0,
            vals.iter().map(|&b| i64::from(b as u32 as i32)).collect(),
        ),
        _ => (0, vals.iter().map(|&b| b as i64).collect()),
    };
    if ints.len() < 2 {
        return k << 16;
    }
    let n = ints.len() as f64;
    let mean = ints.iter().map(|&x| x as f64).sum::<f64>() / n;
    let d0 = ints.iter().map(|&x| (x as f64 - mean).abs()).sum::<f64>() / n;
    let d1 = ints
        .windows(2)
        .map(|w| (w[1] as f64 - w[0] as f64).abs())
        .sum::<f64>()
        / (n - 1.0);
    let (order, spread) = if d1 < d0 { (1, d1) } else { (0, d0) };
    // Buckets of four bits of residual width: history days, 2 and 3 bits
    // per bucket were 1-2 % larger (more blocks, each with its tables).
    let bucket = ((1.0 + spread).log2() / 4.0) as u32;
    k << 16 | order << 8 | bucket.min(255)
}

/// An int64 block as residuals from a grid (see [`ENC_PCO_STRIDE`]); the
/// step is the median difference of neighbours.
fn encode_stride(vals: &[u64], cfg: &ChunkConfig) -> Option<Vec<u8>> {
    if vals.len() < 3 {
        return None;
    }
    let mut d: Vec<i64> = vals
        .windows(2)
        .map(|w| (w[1] as i64).wrapping_sub(w[0] as i64))
        .collect();
    let mid = d.len() / 2;
    let median = *d.select_nth_unstable(mid).1;
    // The median of jittered intervals misses the true interval by a
    // little, and that error grows along the block; intervals are round
    // numbers of ns (seconds, ms), so the rounding of the median with the
    // narrowest residuals wins.
    let spread = |step: i64| {
        let (mut lo, mut hi) = (i128::MAX, i128::MIN);
        for (k, &x) in vals.iter().enumerate() {
            let r = i128::from(x as i64) - k as i128 * i128::from(step);
            lo = lo.min(r);
            hi = hi.max(r);
        }
        hi - lo
    };
    let mut step = median;
    let mut best = spread(median);
    let mut unit = 10i64;
    while unit <= 1_000_000_000_000 {
        let c = median.saturating_add(median.signum() * (unit / 2)) / unit * unit;
        if c != 0 && c != step {
            let sp = spread(c);
            if sp < best {
                (step, best) = (c, sp);
            }
        }
        unit *= 10;
    }
    if step == 0 {
        return None;
    }
    let r: Vec<i64> = vals
        .iter()
        .enumerate()
        .map(|(k, &x)| (x as i64).wrapping_sub((k as i64).wrapping_mul(step)))
        .collect();
    let mut out = step.to_le_bytes().to_vec();
    out.extend(simple_compress(&r, cfg).ok()?);
    Some(out)
}

/// The bits of `x / scale` as a value of `dtype` (float32 or float64): the
/// format's definition.
fn decimal_bits(dtype: u8, x: i64, scale: f64) -> u64 {
    let v = x as f64 / scale;
    if dtype == DT_F32 {
        u64::from((v as f32).to_bits())
    } else {
        v.to_bits()
    }
}

/// Whether every integer is within [`F32_EXACT_INT`].
fn f32_exact(ints: &[i32]) -> bool {
    ints.iter().all(|x| x.unsigned_abs() <= F32_EXACT_INT)
}

/// Integers up to this magnitude are exact in f32. For such `x` (and
/// `10^k`, exact in f32 for k <= 10) one f32 division gives the bits the
/// format defines, the f64 quotient rounded to f32: double rounding is
/// harmless for a quotient of two f32 numbers when the wider type has at
/// least 2·24 + 2 bits of significand (f64 has 53).
const F32_EXACT_INT: u32 = 1 << 24;

/// Value bits of the i32 integers of an [`ENC_PCO_DECIMAL32`] block:
/// float32 blocks whose integers are all f32-exact take the f32 division
/// (i32 → f32 conversion and division vectorise; ≈ 30 % less time than
/// the f64 path), in a loop without a per-value branch.
fn decimal_values32(dtype: u8, ints: &[i32], k: u8, out: &mut Vec<u64>) {
    if dtype == DT_F32 && f32_exact(ints) {
        out.extend(ints.iter().map(|&x| u64::from(decimal32_bits(x, k))));
    } else {
        let scale = 10f64.powi(i32::from(k));
        out.extend(
            ints.iter()
                .map(|&x| decimal_bits(dtype, i64::from(x), scale)),
        );
    }
}

/// [`decimal_values32`] of one integer, for tests against [`decimal_bits`].
#[cfg(test)]
pub(crate) fn decimal_bits_fast(dtype: u8, x: i32, k: u8) -> u64 {
    let mut out = Vec::new();
    decimal_values32(dtype, &[x], k, &mut out);
    out[0]
}

/// The format's definition of a decimal value's bits ([`decimal_bits`]).
#[cfg(test)]
pub(crate) fn decimal_bits_reference(dtype: u8, x: i64, k: u8) -> u64 {
    decimal_bits(dtype, x, 10f64.powi(i32::from(k)))
}

/// Whether a block of `count` numbers in `payload_len` bytes is possible
/// for `enc`/`dtype` (checked when the index is loaded, before any
/// allocation).
pub fn plausible(dtype: u8, enc: u8, payload_len: u32, count: u32) -> bool {
    let Some(w) = width(dtype) else { return false };
    match enc {
        ENC_RAW => u64::from(payload_len) == u64::from(count) * w as u64,
        ENC_PCO => u64::from(payload_len) * MAX_POINTS_PER_BYTE >= u64::from(count),
        ENC_PCO_DECIMAL | ENC_PCO_DECIMAL32 => {
            (dtype == DT_F32 || dtype == DT_F64)
                && u64::from(payload_len) * MAX_POINTS_PER_BYTE >= u64::from(count)
        }
        ENC_PCO_STRIDE => {
            dtype == DT_I64
                && payload_len >= 8
                && u64::from(payload_len) * MAX_POINTS_PER_BYTE >= u64::from(count)
        }
        _ => false,
    }
}

/// Decodes exactly `n` numbers of `dtype` into `out` (bit patterns).
pub fn decode(
    dtype: u8,
    enc: u8,
    payload: &[u8],
    n: usize,
    out: &mut Vec<u64>,
) -> Result<(), String> {
    out.clear();
    let w = width(dtype).ok_or_else(|| format!("unknown block type {dtype}"))?;
    match enc {
        ENC_RAW => {
            if payload.len() != n * w {
                return Err(format!(
                    "raw block of {} bytes for {n} numbers",
                    payload.len()
                ));
            }
            out.extend(payload.chunks_exact(w).map(|c| {
                let mut b = [0u8; 8];
                b[..w].copy_from_slice(c);
                u64::from_le_bytes(b)
            }));
            Ok(())
        }
        ENC_PCO => {
            if (payload.len() as u64).saturating_mul(MAX_POINTS_PER_BYTE) < n as u64 {
                return Err(format!("{n} numbers impossible in {} bytes", payload.len()));
            }
            match dtype {
                DT_I32 => {
                    let v = pco_decode::<i32>(payload, n)?;
                    out.extend(v.iter().map(|&x| u64::from(x as u32)));
                }
                DT_F32 => {
                    let v = pco_decode::<f32>(payload, n)?;
                    out.extend(v.iter().map(|&x| u64::from(x.to_bits())));
                }
                DT_F64 => {
                    let v = pco_decode::<f64>(payload, n)?;
                    out.extend(v.iter().map(|&x| x.to_bits()));
                }
                _ => {
                    let v = pco_decode::<i64>(payload, n)?;
                    out.extend(v.iter().map(|&x| x as u64));
                }
            }
            Ok(())
        }
        ENC_PCO_DECIMAL | ENC_PCO_DECIMAL32 => {
            let (k, ints) = decimal_header(dtype, payload, n)?;
            if enc == ENC_PCO_DECIMAL32 {
                decimal_values32(dtype, &pco_decode::<i32>(ints, n)?, k, out);
            } else {
                let scale = 10f64.powi(i32::from(k));
                let v = pco_decode::<i64>(ints, n)?;
                out.extend(v.iter().map(|&x| decimal_bits(dtype, x, scale)));
            }
            Ok(())
        }
        ENC_PCO_STRIDE => {
            let v = decode_stride(dtype, payload, n)?;
            out.extend(v.iter().map(|&x| x as u64));
            Ok(())
        }
        e => Err(format!("unknown block encoding {e}")),
    }
}

/// The scale `k` and the integers' pcodec file of a decimal block of `n`
/// numbers, checked.
fn decimal_header(dtype: u8, payload: &[u8], n: usize) -> Result<(u8, &[u8]), String> {
    let (&k, ints) = payload
        .split_first()
        .ok_or_else(|| "empty decimal block".to_string())?;
    if k > MAX_DECIMALS || !(dtype == DT_F32 || dtype == DT_F64) {
        return Err(format!("decimal block: {k} digits, type {dtype}"));
    }
    if (payload.len() as u64).saturating_mul(MAX_POINTS_PER_BYTE) < n as u64 {
        return Err(format!("{n} numbers impossible in {} bytes", payload.len()));
    }
    Ok((k, ints))
}

/// A decoded value block: the values' bits, or, for a float32
/// [`ENC_PCO_DECIMAL32`] block whose integers are all exact in a float32,
/// the integers and their scale (see [`Run::Decimal32`](crate::metricfile::Run)).
#[derive(Debug, Default)]
pub struct Values {
    /// Value bits (empty when `scale` is set).
    pub bits: Vec<u64>,
    /// The decimal integers (when `scale` is set).
    pub ints: Vec<i32>,
    /// The integers' scale `k`: value = `ints[i] / 10^k`.
    pub scale: Option<u8>,
}

/// [`decode`] into `out`, keeping a float32 decimal block's integers.
pub fn decode_values(
    dtype: u8,
    enc: u8,
    payload: &[u8],
    n: usize,
    out: &mut Values,
) -> Result<(), String> {
    out.scale = None;
    out.ints.clear();
    if enc == ENC_PCO_DECIMAL32 && dtype == DT_F32 {
        let (k, ints) = decimal_header(dtype, payload, n)?;
        pco_decode_into::<i32>(ints, n, &mut out.ints)?;
        out.bits.clear();
        if f32_exact(&out.ints) {
            out.scale = Some(k);
        } else {
            decimal_values32(dtype, &out.ints, k, &mut out.bits);
            out.ints.clear();
        }
        return Ok(());
    }
    decode(dtype, enc, payload, n, &mut out.bits)
}

/// Decodes an [`ENC_PCO_STRIDE`] block of exactly `n` numbers.
fn decode_stride(dtype: u8, payload: &[u8], n: usize) -> Result<Vec<i64>, String> {
    if dtype != DT_I64 || payload.len() < 8 {
        return Err(format!(
            "stride block: type {dtype}, {} bytes",
            payload.len()
        ));
    }
    if (payload.len() as u64).saturating_mul(MAX_POINTS_PER_BYTE) < n as u64 {
        return Err(format!("{n} numbers impossible in {} bytes", payload.len()));
    }
    let (step, rest) = payload.split_at(8);
    let mut b = [0u8; 8];
    b.copy_from_slice(step);
    let step = i64::from_le_bytes(b);
    let mut v = pco_decode::<i64>(rest, n)?;
    for (k, x) in v.iter_mut().enumerate() {
        *x = x.wrapping_add((k as i64).wrapping_mul(step));
    }
    Ok(v)
}

/// Decodes a time block (int64) of exactly `n` timestamps.
pub fn decode_times(enc: u8, payload: &[u8], n: usize) -> Result<Vec<i64>, String> {
    if enc == ENC_PCO_STRIDE {
        return decode_stride(DT_I64, payload, n);
    }
    if enc == ENC_PCO {
        if (payload.len() as u64).saturating_mul(MAX_POINTS_PER_BYTE) < n as u64 {
            return Err(format!("{n} numbers impossible in {} bytes", payload.len()));
        }
        return pco_decode::<i64>(payload, n);
    }
    let mut bits = Vec::new();
    decode(DT_I64, enc, payload, n, &mut bits)?;
    Ok(bits.into_iter().map(|b| b as i64).collect())
}

/// pco decode of exactly `n` numbers: fewer, or data left over, is an error.
fn pco_decode<T: pco::data_types::Number + Default>(
    payload: &[u8],
    n: usize,
) -> Result<Vec<T>, String> {
    let mut v = Vec::new();
    pco_decode_into(payload, n, &mut v)?;
    Ok(v)
}

/// Zero bytes after a pco file handed to its decoder: the decoder reads up
/// to this far ahead (a batch of 256 latents of at most 18 bytes, and its
/// overshoot), and copies the input into a new zeroed buffer of twice that
/// whenever less is left, for each reader it makes: several 9 KiB
/// allocations per block, a tenth of an export of small v3 blocks. With
/// the padding it reads the input in place; what it decodes is unchanged
/// (the file ends with its own terminator, and the count is checked).
const PCO_PAD: usize = 256 * 18 + 9;

thread_local! {
    /// A block's pco file and [`PCO_PAD`] zeros, reused per thread.
    static PADDED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Decodes a pco file of exactly `n` numbers into `out` (its buffer
/// reused).
fn pco_decode_into<T: pco::data_types::Number + Default>(
    payload: &[u8],
    n: usize,
    out: &mut Vec<T>,
) -> Result<(), String> {
    out.clear();
    out.resize(n, T::default());
    let p = PADDED.with_borrow_mut(|padded| {
        padded.clear();
        padded.extend_from_slice(payload);
        padded.resize(payload.len() + PCO_PAD, 0);
        simple_decompress_into(padded, out)
    });
    let p = p.map_err(|e| format!("pco: {e}"))?;
    if p.n_processed != n || !p.finished {
        return Err(format!(
            "pco block holds another count than {n} (decoded {})",
            p.n_processed
        ));
    }
    Ok(())
}
