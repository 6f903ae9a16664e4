//! Timestamp formatting for exports and APIs (docs/FORMATS.md §11.6).

use super::*;

/// "00".."99" for two-digits-at-a-time formatting.
pub(super) const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `v % 100` as two digits at `buf[i..i + 2]`.
#[inline]
pub(super) fn put2(buf: &mut [u8], i: usize, v: u32) {
    let p = (v % 100) as usize * 2;
    buf[i] = DIGIT_PAIRS[p];
    buf[i + 1] = DIGIT_PAIRS[p + 1];
}

/// Broken-down UTC time of a nanosecond timestamp (floored for negatives).
pub(super) struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
}

impl Civil {
    pub(super) fn from_ns(ts: i64) -> Civil {
        let secs = ts.div_euclid(NS_PER_SEC);
        let nanos = ts.rem_euclid(NS_PER_SEC) as u32;
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            min: sod / 60 % 60,
            sec: sod % 60,
            nanos,
        }
    }

    /// Writes `YYYY-MM-DD?HH:MM:SS` into `buf[0..19]` with `sep` between date and time.
    /// The i64 range only spans years 1677..=2262, so the year always has 4 digits.
    pub(super) fn write_datetime(&self, buf: &mut [u8], sep: u8) {
        let y = self.year.rem_euclid(10_000) as u32;
        put2(buf, 0, y / 100);
        put2(buf, 2, y);
        buf[4] = b'-';
        put2(buf, 5, self.month);
        buf[7] = b'-';
        put2(buf, 8, self.day);
        buf[10] = sep;
        put2(buf, 11, self.hour);
        buf[13] = b':';
        put2(buf, 14, self.min);
        buf[16] = b':';
        put2(buf, 17, self.sec);
    }
}

/// Formats `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` into a fixed buffer.
pub(super) fn timestamp_bytes(ts: i64) -> [u8; 29] {
    let c = Civil::from_ns(ts);
    let mut buf = [0u8; 29];
    c.write_datetime(&mut buf, b' ');
    buf[19] = b'.';
    let n = c.nanos;
    buf[20] = b'0' + (n / 100_000_000) as u8;
    put2(&mut buf, 21, n / 1_000_000);
    put2(&mut buf, 23, n / 10_000);
    put2(&mut buf, 25, n / 100);
    put2(&mut buf, 27, n);
    buf
}

/// Appends `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC, 9 digits) to a byte buffer.
///
/// Negative timestamps get the floored second and a non-negative fraction (the recommended form, docs/FORMATS.md §11.6:
/// -1 → `1969-12-31 23:59:59.999999999`), so every output parses back to the same value,
/// unlike the reference's `.-00000001`.
pub fn write_timestamp(ts: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&timestamp_bytes(ts));
}

/// Appends `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` to a string (see [`write_timestamp`]).
pub fn format_timestamp(ts: i64, out: &mut String) {
    let buf = timestamp_bytes(ts);
    // The buffer is pure ASCII, so this never fails.
    if let Ok(s) = std::str::from_utf8(&buf) {
        out.push_str(s);
    }
}

/// Returns `ts` as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (see [`write_timestamp`]).
pub fn format_timestamp_string(ts: i64) -> String {
    let mut s = String::with_capacity(29);
    format_timestamp(ts, &mut s);
    s
}

/// Formats `ts` like Go's `time.RFC3339Nano` in UTC: `2026-01-01T00:00:00.5Z`, trailing
/// fraction zeros (and a bare `.`) trimmed.
pub fn format_rfc3339(ts: i64) -> String {
    let c = Civil::from_ns(ts);
    let mut buf = [0u8; 31];
    c.write_datetime(&mut buf, b'T');
    let mut len = 19;
    if c.nanos != 0 {
        buf[19] = b'.';
        let mut n = c.nanos;
        let mut digits = [0u8; 9];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let keep = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        buf[20..20 + keep].copy_from_slice(&digits[..keep]);
        len = 20 + keep;
    }
    buf[len] = b'Z';
    len += 1;
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

/// Current wall-clock time in nanoseconds since the Unix epoch (saturated to i64).
pub fn now_ns() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => saturate(d.as_nanos() as i128),
        Err(e) => saturate(-(e.duration().as_nanos() as i128)),
    }
}
