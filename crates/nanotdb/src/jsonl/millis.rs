//! Millisecond timestamps of one series, written with their leading digits
//! cached.
//!
//! A 13-digit millisecond timestamp's first five digits change every 10^8
//! ms (28 hours), so consecutive samples of a series share them: only the
//! last eight digits are formatted per sample (at once, `digits`).
//! Formatting timestamps with itoa was the largest item of an export's
//! profile once values took a cheaper path.

use super::digits;

/// The low part's size: 10^8, eight digits.
const LOW: i64 = 100_000_000;

/// Writes timestamps (ns) as milliseconds, rounded down, with the leading
/// digits of the last one kept.
pub(super) struct Millis {
    /// `ms / LOW` of the cached head (-1: none yet).
    high: i64,
    /// The head's digits: `text[..head_len]`.
    text: [u8; 20],
    head_len: usize,
}

impl Default for Millis {
    fn default() -> Self {
        Millis {
            high: -1,
            text: [0; 20],
            head_len: 0,
        }
    }
}

impl Millis {
    /// Appends `ts` (ns) as milliseconds, as itoa writes them.
    #[inline]
    pub(super) fn write(&mut self, out: &mut Vec<u8>, ts: i64) {
        let ms = ts.div_euclid(1_000_000);
        // Below 10^8 the head would be empty or zero-padded: itoa.
        if ms < LOW {
            out.extend_from_slice(itoa::Buffer::new().format(ms).as_bytes());
            return;
        }
        let (high, low) = (ms / LOW, (ms % LOW) as u32);
        if high != self.high {
            let mut b = itoa::Buffer::new();
            let t = b.format(high).as_bytes();
            self.text[..t.len()].copy_from_slice(t);
            self.head_len = t.len();
            self.high = high;
        }
        // One fixed-size copy, then the length cut back: copies of a
        // variable length are calls to memmove (a tenth of the profile).
        let mut buf = [0u8; 32];
        buf[..20].copy_from_slice(&self.text);
        let end = self.head_len + 8;
        buf[self.head_len..end].copy_from_slice(&digits::ascii(digits::eight(low)));
        let len = out.len();
        out.extend_from_slice(&buf);
        out.truncate(len + end);
    }
}

#[cfg(test)]
mod tests {
    use super::Millis;

    fn itoa_ms(ts: i64) -> String {
        ts.div_euclid(1_000_000).to_string()
    }

    #[test]
    fn as_itoa_writes_them_across_head_changes() {
        let mut m = Millis::default();
        let mut out = Vec::new();
        let mut want = String::new();
        let start = 1_704_067_199_000_000_000i64 - 3 * 600_000_000_000;
        // Every 10 minutes over 3 days, then odd ones: negative, small,
        // around 10^8 ms, sub-millisecond, the largest.
        let regular = (0..432).map(|k| start + k * 600_000_000_000);
        let odd = [
            -1,
            -1_000_000,
            0,
            999_999,
            99_999_999_999_999,
            100_000_000_000_000,
            100_000_000_123_456,
            1_767_225_600_123_456_789,
            i64::MAX,
            i64::MIN,
        ];
        for ts in regular.chain(odd) {
            m.write(&mut out, ts);
            out.push(b',');
            want.push_str(&itoa_ms(ts));
            want.push(',');
        }
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    proptest::proptest! {
        #[test]
        fn any_timestamps_as_itoa_writes_them(a in proptest::num::i64::ANY, b in proptest::num::i64::ANY, d in 0i64..1_000_000_000_000) {
            let mut m = Millis::default();
            let mut out = Vec::new();
            let mut want = String::new();
            for ts in [a, b, b.saturating_add(d), a.saturating_add(d)] {
                m.write(&mut out, ts);
                want.push_str(&itoa_ms(ts));
            }
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
