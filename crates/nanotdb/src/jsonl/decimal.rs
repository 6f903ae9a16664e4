//! A cheaper path to ryu's shortest digits for float32 values that are
//! short decimals (`385.1`, `-0.94`, `49.985`: most sensor values are).
//!
//! ryu's float32 formatting was the largest item of an export's profile.
//! For `v` a float32, `v · 10^k` is exact in a float64 for `k <= 12` (24
//! mantissa bits times 5^k of at most 29 bits), so the nearest integer `m`
//! and its distance to `v · 10^k` are exact too, and `m / 10^k` reads back
//! as `v` exactly when that distance is within half a unit in the last
//! place of `v` (scaled by 10^k; on the boundary only for an even
//! mantissa, as parsing rounds ties to even). The smallest such `k` gives
//! the shortest digits that read back, the nearest to `v` (ties to even):
//! what ryu writes. Powers of two (their lower gap is half the upper) and
//! longer decimals go to ryu.

use super::digits;

/// Powers of ten tried, as float64 (all exact).
const POW10: [f64; MAX_K + 1] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
/// 2^52: adding it leaves no fraction bits.
const TWO_52: f64 = 4_503_599_627_370_496.0;
/// Most fraction digits tried before giving up (each try costs a multiply
/// and a round; longer decimals are rare and go to ryu).
const MAX_K: usize = 6;

/// Writes `v` as ryu's shortest plain digits (without a trailing `.0`) when
/// it is a decimal of at most [`MAX_K`] fraction digits; false (nothing
/// written) otherwise. Only for finite, nonzero `v` with `1e-4 <= |v| <
/// 1e7` (the range where ryu writes no exponent).
#[inline]
pub(super) fn write_short_f32(out: &mut Vec<u8>, v: f32) -> bool {
    let bits = v.to_bits();
    let exp = (bits >> 23) & 0xff;
    // Powers of two (mantissa field zero), subnormals, NaN and infinities.
    if bits & 0x7f_ffff == 0 || exp == 0 || exp == 0xff {
        return false;
    }
    // Half a unit in the last place: 2^(exp - 127 - 23 - 1), exact.
    let half_ulp = f64::from_bits((u64::from(exp) + 1023 - 127 - 24) << 52);
    let even = bits & 1 == 0;
    let x = f64::from(v).abs();
    for (k, &p10) in POW10.iter().enumerate() {
        let p = x * p10;
        // Round to nearest, ties to even, without a libm call (`rint` took
        // a fifth of this path): exact for 0 <= p < 2^52, and p < 1e13.
        let m = (p + TWO_52) - TWO_52;
        let d = (m - p).abs();
        let h = half_ulp * p10;
        if d < h || (d == h && even) {
            // m < 1e7 · 1e6 < 2^53: an exact integer.
            write_fixed(out, v.is_sign_negative(), m as u64, k);
            return true;
        }
    }
    false
}

/// 10^k as integers, k <= [`MAX_K`].
const POW10_INT: [u64; MAX_K + 1] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/// Writes the float32 nearest to `x / 10^k` (a v3 decimal value) as ryu's
/// shortest plain digits, straight from the integer: false (nothing
/// written) when that is not sure to be the same text, and the float's
/// own formatting must decide. Sure when the decimal without trailing
/// zeros has at most six significant digits and is at least 10^-4: six-digit
/// decimals lie at least 10^-6 of their size apart, a float32's rounding
/// interval spans at most 2^-23 of it, so no other decimal as short
/// reads back as the same float, and ryu's shortest digits are these
/// (`tests::scaled_integers_are_written_as_ryu_writes_their_float`).
#[inline]
pub(super) fn write_scaled(out: &mut Vec<u8>, x: i32, k: u8) -> bool {
    if x == 0 {
        out.push(b'0');
        return true;
    }
    let (mut m, mut k) = (u64::from(x.unsigned_abs()), usize::from(k));
    if k > MAX_K {
        return false;
    }
    while k > 0 && m % 10 == 0 {
        m /= 10;
        k -= 1;
    }
    if m >= 1_000_000 || m * 10_000 < POW10_INT[k] {
        return false;
    }
    write_fixed(out, x < 0, m, k);
    true
}

/// `m / 10^k` in plain notation: `-12.5`, `0.0005`, `143`.
#[inline]
fn write_fixed(out: &mut Vec<u8>, negative: bool, m: u64, k: usize) {
    if negative {
        out.push(b'-');
    }
    if m >= 100_000_000 {
        return write_fixed_long(out, m, k);
    }
    // The eight digits, zero-padded, as bytes of a number (the first digit
    // lowest): the fraction is the last k of them, the integer part what
    // comes before (at least one digit). Built in a u128 and copied at a
    // fixed size, then cut back: variable-length copies call memmove.
    let d = digits::eight(m as u32);
    let first = digits::leading_zeros(d);
    let text = u128::from(u64::from_le_bytes(digits::ascii(d)));
    let n = 8 - first;
    let (bytes, len) = if k == 0 {
        (text >> (8 * first), n)
    } else if n > k {
        let s = text >> (8 * first);
        let int = (1u128 << (8 * (n - k))) - 1;
        let dot = u128::from(b'.') << (8 * (n - k));
        ((s & int) | dot | ((s & !int) << 8), n + 1)
    } else {
        let frac = text >> (8 * (8 - k));
        (
            u128::from(b'0') | (u128::from(b'.') << 8) | (frac << 16),
            k + 2,
        )
    };
    let at = out.len();
    out.extend_from_slice(&bytes.to_le_bytes());
    out.truncate(at + len);
}

/// [`write_fixed`] of an `m` of more than eight digits (after the sign).
fn write_fixed_long(out: &mut Vec<u8>, m: u64, k: usize) {
    let mut b = itoa::Buffer::new();
    let digits = b.format(m).as_bytes();
    if k == 0 {
        out.extend_from_slice(digits);
    } else {
        // More than eight digits and k <= MAX_K: an integer part remains.
        let (int, frac) = digits.split_at(digits.len() - k);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    }
}

#[cfg(test)]
mod tests {
    use super::write_short_f32;

    /// What the export wrote before this path: ryu's digits without `.0`.
    fn ryu_text(v: f32) -> String {
        let mut b = ryu::Buffer::new();
        let t = b.format_finite(v);
        t.strip_suffix(".0").unwrap_or(t).to_string()
    }

    fn in_range(v: f32) -> bool {
        v.is_finite() && v != 0.0 && (1e-4..1e7).contains(&v.abs())
    }

    /// `v` written by the short path, when it takes it.
    fn short(v: f32) -> Option<String> {
        let mut out = Vec::new();
        write_short_f32(&mut out, v).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn short_decimals_as_ryu_writes_them() {
        for (v, want) in [
            (385.1f32, "385.1"),
            (-0.94, "-0.94"),
            (49.985, "49.985"),
            (143.0, "143"),
            (0.0005, "0.0005"),
            (0.000_123, "0.000123"),
            (9_999_999.0, "9999999"),
            (1_000_000.1, "1000000.1"),
            (-12.5, "-12.5"),
        ] {
            assert_eq!(short(v).as_deref(), Some(want), "{v}");
            assert_eq!(ryu_text(v), want);
        }
        // Powers of two, long decimals: left to ryu.
        for v in [0.5f32, 1.0, 1024.0, 1.0 / 3.0, std::f32::consts::PI] {
            assert_eq!(short(v), None, "{v}");
        }
    }

    proptest::proptest! {
        /// Whenever the short path writes a value, it writes ryu's bytes —
        /// for any bits in range, and for decimals of up to 7 fraction
        /// digits (which take the path far more often).
        #[test]
        fn the_short_path_writes_ryus_bytes(bits in proptest::num::u32::ANY, n in -99_999_999i64..99_999_999, k in 0u32..8) {
            let decimal = (n as f64 / 10f64.powi(k as i32)) as f32;
            for v in [f32::from_bits(bits), decimal] {
                if !in_range(v) {
                    continue;
                }
                if let Some(s) = short(v) {
                    proptest::prop_assert_eq!(s, ryu_text(v), "bits {:#x}", v.to_bits());
                }
            }
        }
    }

    /// Every float32 next to short decimals of every magnitude (the ties
    /// and boundaries live there): the short path writes ryu's bytes.
    #[test]
    fn neighbours_of_short_decimals() {
        let mut taken = 0;
        for e in -4..7 {
            for n in 1..2_000i64 {
                let base = (n as f64 * 10f64.powi(e) / 1000.0) as f32;
                let b = base.to_bits();
                for bits in b.saturating_sub(3)..=b.saturating_add(3) {
                    let v = f32::from_bits(bits);
                    for v in [v, -v] {
                        if in_range(v)
                            && let Some(s) = short(v)
                        {
                            assert_eq!(s, ryu_text(v), "bits {bits:#x}");
                            taken += 1;
                        }
                    }
                }
            }
        }
        assert!(taken > 20_000, "{taken} values took the short path");
    }

    /// `write_scaled` of `x / 10^k` against the export's float formatting
    /// of the float32 the v3 format makes of it; counts the fast path.
    fn check_scaled(x: i32, k: u8, taken: &mut usize) {
        let bits = crate::metricfile::decimal32_bits(x, k);
        let mut want = Vec::new();
        super::super::write_value(&mut want, crate::sample::Value::F32(f32::from_bits(bits)));
        let mut got = Vec::new();
        if super::write_scaled(&mut got, x, k) {
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{x} / 10^{k}"
            );
            *taken += 1;
        } else {
            assert!(got.is_empty());
        }
    }

    /// Every scale, every integer below 20,000, a stride through the rest
    /// of the f32-exact integers, and the six-digit boundary of each scale.
    #[test]
    fn scaled_integers_are_written_as_ryu_writes_their_float() {
        let mut taken = 0;
        for k in 0..=6u8 {
            let xs = (-20_000..20_000)
                .chain((20_000..1 << 24).step_by(7_919))
                .chain((99_990..100_010).chain(999_990..1_000_010))
                .chain((999_990..1_000_010).map(|m| m * 10))
                .filter(|x: &i32| x.unsigned_abs() <= 1 << 24);
            for x in xs {
                check_scaled(x, k, &mut taken);
                check_scaled(-x, k, &mut taken);
            }
        }
        assert!(taken > 250_000, "{taken} values took the short path");
    }

    /// [`scaled_integers_are_written_as_ryu_writes_their_float`] for every
    /// f32-exact integer (seconds in a release build:
    /// `cargo test --release -p nanotdb scaled -- --ignored`).
    #[test]
    #[ignore]
    fn every_scaled_integer_is_written_as_ryu_writes_its_float() {
        let mut taken = 0;
        for k in 0..=6u8 {
            for x in -(1i32 << 24)..=(1 << 24) {
                check_scaled(x, k, &mut taken);
            }
        }
        assert!(taken > 10_000_000, "{taken}");
    }
}
