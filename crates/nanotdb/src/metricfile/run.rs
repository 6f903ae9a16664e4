//! Runs: a stretch of one metric's samples as the decoder holds them
//! (timestamps beside a values column), handed over whole instead of one
//! callback per sample. An export formats a run in one tight loop.

use std::ops::{ControlFlow, Range};

/// Consecutive samples of one metric, in storage order.
#[derive(Debug, Clone, Copy)]
pub enum Run<'a> {
    /// Timestamps with little-endian 4-byte values (v1 and v2 frames).
    Le32(&'a [i64], &'a [u8]),
    /// Timestamps with value bits (v3 columns; 4-byte types in the low
    /// half).
    Bits(&'a [i64], &'a [u64]),
    /// (timestamp, value bits) pairs (decoded-slice caches).
    Pairs(&'a [(i64, u64)]),
    /// Timestamps with float32 values as decimal-scaled integers `x` and
    /// their scale `k` (at most [`MAX_SCALE`]): each value is `x / 10^k`
    /// rounded to float32 ([`decimal32_bits`]). v3 decimal blocks whose
    /// integers are exact in a float32 come this way, so that an export can
    /// write the decimal without formatting the float.
    Decimal32(&'a [i64], &'a [i32], u8),
}

/// Largest scale of a [`Run::Decimal32`].
pub const MAX_SCALE: u8 = 6;

/// 10^k for k <= [`MAX_SCALE`], exact in f32.
const POW10_F32: [f32; MAX_SCALE as usize + 1] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// The float32 bits of `x / 10^k` (`k` <= [`MAX_SCALE`], `|x|` <= 2^24):
/// one f32 division of two exact numbers, correctly rounded, which is what
/// the v3 format defines (the f64 quotient rounded to f32).
#[inline]
pub fn decimal32_bits(x: i32, k: u8) -> u32 {
    (x as f32 / POW10_F32[usize::from(k.min(MAX_SCALE))]).to_bits()
}

impl<'a> Run<'a> {
    /// Samples in the run.
    pub fn len(&self) -> usize {
        match self {
            Run::Le32(ts, _) | Run::Bits(ts, _) | Run::Decimal32(ts, _, _) => ts.len(),
            Run::Pairs(p) => p.len(),
        }
    }

    /// Whether the run holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `i` as (timestamp, value bits). Panics past the end.
    pub fn get(&self, i: usize) -> (i64, u64) {
        match self {
            Run::Le32(ts, v) => (ts[i], u64::from(le32(v, i))),
            Run::Bits(ts, v) => (ts[i], v[i]),
            Run::Pairs(p) => p[i],
            Run::Decimal32(ts, x, k) => (ts[i], u64::from(decimal32_bits(x[i], *k))),
        }
    }

    /// Timestamp of sample `i`. Panics past the end.
    pub fn ts(&self, i: usize) -> i64 {
        match self {
            Run::Le32(ts, _) | Run::Bits(ts, _) | Run::Decimal32(ts, _, _) => ts[i],
            Run::Pairs(p) => p[i].0,
        }
    }

    /// Samples `r` of the run. Panics past the end.
    pub fn slice(&self, r: Range<usize>) -> Run<'a> {
        match *self {
            Run::Le32(ts, v) => Run::Le32(&ts[r.clone()], &v[r.start * 4..r.end * 4]),
            Run::Bits(ts, v) => Run::Bits(&ts[r.clone()], &v[r]),
            Run::Pairs(p) => Run::Pairs(&p[r]),
            Run::Decimal32(ts, x, k) => Run::Decimal32(&ts[r.clone()], &x[r], k),
        }
    }

    /// Hands `f` the run's samples with `from <= ts <= to`, as few runs as
    /// the out-of-range samples allow (one when all are in range); stops
    /// when `f` breaks.
    pub fn each_in_range(
        &self,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(Run<'a>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let n = self.len();
        let mut i = 0;
        while i < n {
            while i < n && !(from..=to).contains(&self.ts(i)) {
                i += 1;
            }
            let start = i;
            while i < n && (from..=to).contains(&self.ts(i)) {
                i += 1;
            }
            if i > start {
                f(self.slice(start..i))?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Hands `f` each sample with `from <= ts <= to` as (ts, value bits);
    /// stops when `f` breaks.
    pub fn each_sample_in_range(
        &self,
        from: i64,
        to: i64,
        f: &mut dyn FnMut(i64, u64) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        for i in 0..self.len() {
            let (ts, v) = self.get(i);
            if ts >= from && ts <= to {
                f(ts, v)?;
            }
        }
        ControlFlow::Continue(())
    }
}

/// The little-endian u32 at position `i` of `v`.
fn le32(v: &[u8], i: usize) -> u32 {
    let b = &v[i * 4..i * 4 + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_in_range_are_maximal_and_in_order() {
        let ts = [5, 1, 2, 9, 3, 4, 0];
        let vals: Vec<u8> = (0..7u32).flat_map(|v| v.to_le_bytes()).collect();
        let run = Run::Le32(&ts, &vals);
        let mut got = Vec::new();
        let _ = run.each_in_range(1, 4, &mut |r| {
            got.push((0..r.len()).map(|i| r.get(i)).collect::<Vec<_>>());
            ControlFlow::Continue(())
        });
        assert_eq!(got, [vec![(1, 1), (2, 2)], vec![(3, 4), (4, 5)]]);
        let pairs: Vec<(i64, u64)> = ts.iter().map(|&t| (t, t as u64 * 10)).collect();
        let mut n = 0;
        let flow = Run::Pairs(&pairs).each_sample_in_range(0, 9, &mut |t, v| {
            assert_eq!(v, t as u64 * 10);
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(flow.is_break() && n == 3);
        assert_eq!(Run::Bits(&ts, &[0; 7]).slice(2..5).len(), 3);
    }
}
