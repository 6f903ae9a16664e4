//! A WAL file: record scan with tail diagnostics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::wal::scan_wal;

fuzz_target!(|data: &[u8]| {
    let s = scan_wal(data);
    assert!(s.good_len <= data.len() as u64);
});
