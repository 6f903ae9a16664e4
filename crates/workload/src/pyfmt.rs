//! Python float semantics that the workloads rely on: `round(x, n)`,
//! `format(x, ".Ng")`, the script's `f32()` helper, `%` on floats and
//! the built-in `min`/`max` argument order.
//!
//! Rust's `{:.N}` and `{:.Ne}` formatting is exact (it expands the binary
//! value and rounds half to even), which is what CPython's `_Py_dg_dtoa`
//! does in modes 2 and 3, so both are built on top of it.

use std::fmt::Write as _;

/// A fixed-size, stack-allocated text buffer; writes past its end fail.
struct StackBuf<const CAP: usize> {
    buf: [u8; CAP],
    len: usize,
}

impl<const CAP: usize> StackBuf<CAP> {
    fn new() -> Self {
        Self {
            buf: [0; CAP],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this cannot fail.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const CAP: usize> std::fmt::Write for StackBuf<CAP> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > CAP {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Largest `ndigits` that CPython actually rounds at (`NDIGITS_MAX` in
/// `floatobject.c`): beyond it `round` returns `x` unchanged.
const NDIGITS_MAX: u32 = 323;

/// Python's `round(x, ndigits)` for a float and `ndigits >= 0`.
///
/// The result is the double nearest to `x` rounded to `ndigits` decimals,
/// with exact ties (on the binary value of `x`) going to the even digit.
/// NaN and infinities come back unchanged, as in Python.
pub fn py_round(x: f64, ndigits: u32) -> f64 {
    if !x.is_finite() || ndigits > NDIGITS_MAX {
        return x;
    }
    let prec = ndigits as usize;
    let mut small = StackBuf::<96>::new();
    let parsed = if write!(small, "{x:.prec$}").is_ok() {
        small.as_str().parse::<f64>()
    } else {
        format!("{x:.prec$}").parse::<f64>()
    };
    parsed.unwrap_or(x)
}

/// Python's `round(x)` for a float, as a float (ties to even).
pub fn py_round_int(x: f64) -> f64 {
    x.round_ties_even()
}

/// Python's `x % y` for floats (the result takes the sign of `y`).
pub fn py_mod(x: f64, y: f64) -> f64 {
    let m = x % y;
    if m != 0.0 {
        if (y < 0.0) != (m < 0.0) { m + y } else { m }
    } else {
        0.0f64.copysign(y)
    }
}

/// Python's `max(a, b)` for floats: `b` only if it is strictly greater.
pub fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Python's `min(a, b)` for floats: `b` only if it is strictly smaller.
pub fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// Decimal digits and exponent of `|v|` rounded to `precision` significant
/// digits: `v ~= 0.d1d2d3... * 10^(exp + 1)`, i.e. `d1.d2d3... * 10^exp`.
/// Trailing zeros are stripped (at least one digit is kept).
struct Sci {
    digits: StackBuf<800>,
    exp: i32,
}

fn sci(v: f64, precision: usize) -> Option<Sci> {
    let mut tmp = StackBuf::<800>::new();
    let p = precision.max(1) - 1;
    write!(tmp, "{:.p$e}", v.abs()).ok()?;
    let s = tmp.as_str();
    let (mant, exp) = s.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let mut digits = StackBuf::<800>::new();
    for c in mant.chars().filter(char::is_ascii_digit) {
        digits.write_char(c).ok()?;
    }
    while digits.len > 1 && digits.buf[digits.len - 1] == b'0' {
        digits.len -= 1;
    }
    Some(Sci { digits, exp })
}

/// Appends Python's `format(v, f".{precision}g")` to `out`.
///
/// Scientific notation is used when the decimal exponent is below -4 or at
/// least `precision`; trailing zeros and a trailing point are dropped; the
/// exponent has a sign and at least two digits (`1e-05`, `1.5e+20`).
/// A precision of 0 is treated as 1, as Python does.
pub fn write_g(out: &mut String, v: f64, precision: usize) {
    if v.is_nan() {
        out.push_str("nan");
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    if v.is_infinite() {
        out.push_str("inf");
        return;
    }
    let precision = precision.max(1);
    let Some(Sci { digits, exp }) = sci(v, precision) else {
        // Only reachable for precisions of several hundred digits.
        let _ = write!(out, "{:e}", v.abs());
        return;
    };
    let d = digits.as_str();
    if exp < -4 || exp >= precision as i32 {
        out.push_str(&d[..1]);
        if d.len() > 1 {
            out.push('.');
            out.push_str(&d[1..]);
        }
        let sign = if exp < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(d);
    } else {
        let int_len = exp as usize + 1;
        if d.len() > int_len {
            out.push_str(&d[..int_len]);
            out.push('.');
            out.push_str(&d[int_len..]);
        } else {
            out.push_str(d);
            for _ in d.len()..int_len {
                out.push('0');
            }
        }
    }
}

/// Python's `format(v, f".{precision}g")`.
pub fn format_g(v: f64, precision: usize) -> String {
    let mut s = String::new();
    write_g(&mut s, v, precision);
    s
}

/// Appends the script's `f32(x)` to `out`: round `x` to the nearest float32,
/// then print it with the fewest `%g` digits (1 to 9) whose string, read
/// back as a double and rounded to float32, gives the same float32; append
/// `.0` when the text has no `.`, `e`, `inf` or `nan`.
///
/// Python raises `OverflowError` for finite `x` beyond the float32 range;
/// here such values print as `inf` / `-inf`.
pub fn write_f32(out: &mut String, x: f64) {
    let v = f64::from(x as f32);
    let mut digits = 9;
    if v.is_finite() {
        for d in 1..=9usize {
            let mut tmp = StackBuf::<64>::new();
            if write!(tmp, "{:.*e}", d - 1, v.abs()).is_err() {
                break;
            }
            let back = tmp.as_str().parse::<f64>().map(|b| f64::from(b as f32));
            if back == Ok(v.abs()) {
                digits = d;
                break;
            }
        }
    }
    let start = out.len();
    write_g(out, v, digits);
    let s = &out[start..];
    if !s.contains(['e', '.']) && !s.contains("inf") && !s.contains("nan") {
        out.push_str(".0");
    }
}

/// The script's `f32(x)` as a new string.
pub fn f32_repr(x: f64) -> String {
    let mut s = String::new();
    write_f32(&mut s, x);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_matches_python() {
        // python3 -c "print([round(x, n) for x, n in ((0.125, 2), (0.375, 2), (2.675, 2),
        //   (-0.001, 2), (1.0005, 3), (2.5, 0), (3.5, 0), (1e300, 2), (0.285, 2))])"
        let cases = [
            (0.125, 2, 0.12),
            (0.375, 2, 0.38),
            (2.675, 2, 2.67),
            (1.0005, 3, 1.0),
            (2.5, 0, 2.0),
            (3.5, 0, 4.0),
            (1e300, 2, 1e300),
            (0.285, 2, 0.28),
            (123.456_789, 1, 123.5),
        ];
        for (x, n, want) in cases {
            assert_eq!(py_round(x, n), want, "round({x}, {n})");
        }
        let neg_zero = py_round(-0.001, 2);
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
        assert!(py_round(f64::NAN, 2).is_nan());
        assert_eq!(py_round(f64::INFINITY, 2), f64::INFINITY);
        assert_eq!(py_round_int(0.5), 0.0);
        assert_eq!(py_round_int(1.5), 2.0);
        assert_eq!(py_round_int(-2.5), -2.0);
    }

    #[test]
    fn format_g_matches_python() {
        // python3 -c "print([format(v, f'.{p}g') for v, p in CASES])"
        let cases: [(f64, usize, &str); 16] = [
            (0.0, 3, "0"),
            (-0.0, 3, "-0"),
            (1e-5, 1, "1e-05"),
            (1.5e-5, 3, "1.5e-05"),
            (0.0001, 3, "0.0001"),
            (0.000_123_4, 2, "0.00012"),
            (100.0, 3, "100"),
            (1000.0, 3, "1e+03"),
            (9.96, 2, "10"),
            (99.96, 3, "100"),
            (123_456_789.0, 9, "123456789"),
            (1.5e20, 3, "1.5e+20"),
            (1e100, 1, "1e+100"),
            (0.125, 2, "0.12"),
            (-21.1875, 6, "-21.1875"),
            (2.5, 0, "2"),
        ];
        for (v, p, want) in cases {
            assert_eq!(format_g(v, p), want, "format({v}, '.{p}g')");
        }
        assert_eq!(format_g(f64::NAN, 3), "nan");
        assert_eq!(format_g(f64::NEG_INFINITY, 3), "-inf");
    }

    #[test]
    fn f32_helper_matches_python() {
        // python3 -c "from gen_workload import f32; print([f32(x) for x in CASES])"
        let cases: [(f64, &str); 12] = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (21.1875, "21.1875"),
            (0.1, "0.1"),
            (12.34, "12.34"),
            (1234567.0, "1234567.0"),
            (16_777_217.0, "16777216.0"),
            (123_456_789.0, "1.2345679e+08"),
            (1e-5, "1e-05"),
            (3.0e10, "3e+10"),
            (49.99, "49.99"),
            (0.001, "0.001"),
        ];
        for (x, want) in cases {
            assert_eq!(f32_repr(x), want, "f32({x})");
        }
        assert_eq!(f32_repr(f64::INFINITY), "inf");
        assert_eq!(f32_repr(f64::NAN), "nan");
    }

    #[test]
    fn float_mod_and_min_max() {
        assert_eq!(py_mod(90_000.5, 86_400.0), 3_600.5);
        assert_eq!(py_mod(-1.0, 86_400.0), 86_399.0);
        assert!(py_mod(-86_400.0, 86_400.0).is_sign_positive());
        assert!(py_max(0.0, -0.0).is_sign_positive());
        assert!(py_max(-0.0, 0.0).is_sign_negative());
        assert_eq!(py_min(100.0, 150.0), 100.0);
        assert_eq!(py_min(100.0, 50.0), 50.0);
    }
}
