//! Eight decimal digits at once (SWAR): the digits of a number below 10^8,
//! zero-padded, in one u64 — a few multiplies instead of a division and a
//! table lookup per digit pair. Timestamps and short decimals are written
//! from it.

/// The eight digits of `x < 10^8`, zero-padded, as bytes in memory order
/// (little-endian: the most significant digit in the lowest byte), not
/// yet ASCII: byte values 0–9. See [`ascii`].
#[inline]
pub(super) fn eight(x: u32) -> u64 {
    debug_assert!(x < 100_000_000);
    // Two 32-bit lanes: the high four digits first (lowest lane).
    let lanes = u64::from(x / 10_000) | (u64::from(x % 10_000) << 32);
    // Each lane (< 10^4) into two 16-bit lanes: lane / 100, lane % 100.
    // (l * 10486) >> 20 is l / 100 for l < 10^4 and stays in its lane.
    let hundreds = ((lanes * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let lanes = hundreds | ((lanes - hundreds * 100) << 16);
    // Each 16-bit lane (< 100) into two bytes: tens, units.
    let tens = ((lanes * 103) >> 10) & 0x000f_000f_000f_000f;
    tens | ((lanes - tens * 10) << 8)
}

/// [`eight`]'s digits as ASCII bytes.
#[inline]
pub(super) fn ascii(d: u64) -> [u8; 8] {
    (d | 0x3030_3030_3030_3030).to_le_bytes()
}

/// How many of [`eight`]'s digits are leading zeros (8 for zero).
#[inline]
pub(super) fn leading_zeros(d: u64) -> usize {
    (d.trailing_zeros() / 8) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: u32) {
        let d = eight(x);
        let s = format!("{x:08}");
        assert_eq!(&ascii(d), s.as_bytes(), "{x}");
        let lz = s.bytes().take_while(|&b| b == b'0').count();
        assert_eq!(leading_zeros(d), lz, "{x}");
    }

    #[test]
    fn edges_and_a_spread() {
        for x in [
            0, 1, 9, 10, 99, 100, 999, 1_000, 9_999, 10_000, 10_001, 99_999_999,
        ] {
            check(x);
        }
        for x in (0..100_000_000).step_by(7_919) {
            check(x);
        }
        for k in 0..8 {
            let p = 10u32.pow(k);
            for x in [p, p - 1, p + 1, 9 * p, 5 * p + 5] {
                check(x.min(99_999_999));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_number_below_ten_to_the_eight(x in 0u32..100_000_000) {
            check(x);
        }
    }
}
