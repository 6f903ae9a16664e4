//! Unsigned LEB128 ("uvarint"), the only varint NanoTDB uses (docs/FORMATS.md §0).

/// Appends the minimal encoding of `v`.
pub fn encode(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decodes a uvarint at the start of `buf`: `(value, bytes used)`, or `None`
/// when it is incomplete or overflows 64 bits (at most 10 bytes, the 10th at
/// most 1). Over-long forms such as `80 00` are accepted, as in Go.
pub fn decode(buf: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        let mut out = Vec::new();
        encode(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(decode(&[0xac, 0x02, 0xff]), Some((300, 2)));
        assert_eq!(decode(&[0x80, 0x00]), Some((0, 2)));
        assert_eq!(decode(&[0x80]), None);
        assert_eq!(decode(&[]), None);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode(&max), Some((u64::MAX, 10)));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(decode(&over), None);
        assert_eq!(decode(&[0x80; 11]), None);
    }

    proptest! {
        #[test]
        fn round_trip(v in any::<u64>()) {
            let mut out = Vec::new();
            encode(v, &mut out);
            prop_assert_eq!(decode(&out), Some((v, out.len())));
        }
    }
}
