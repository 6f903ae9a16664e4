//! One raw frame: header parse, CRC, bounded S2 decode, strict checks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::frame::{DecodedFrame, decode_frame_into, parse_frame_header};

fuzz_target!(|data: &[u8]| {
    let Ok(h) = parse_frame_header(data) else { return };
    let body = &data[h.header_len.min(data.len())..];
    let clen = usize::try_from(h.clen).unwrap_or(usize::MAX);
    if body.len() < clen.saturating_add(4) {
        return;
    }
    let crc = u32::from_le_bytes([body[clen], body[clen + 1], body[clen + 2], body[clen + 3]]);
    let mut out = DecodedFrame::default();
    if decode_frame_into(&h, &body[..clen], crc, &mut out).is_ok() {
        let _ = out.validate_strict(&h);
        for i in 0..out.len() {
            let _ = (out.id(i), out.ts(i), out.val(i), out.is_wide(i));
        }
    }
});
