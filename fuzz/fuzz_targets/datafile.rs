//! A whole raw data file: header walk with last-frame verification, and the
//! byte-by-byte recovery scan.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::datafile::{recover_frames, scan_bytes};

fuzz_target!(|data: &[u8]| {
    let s = scan_bytes(data, true);
    assert!(s.valid_len <= data.len() as u64);
    let r = recover_frames(data, |_| true);
    assert!(r.skipped_bytes <= data.len() as u64);
});
