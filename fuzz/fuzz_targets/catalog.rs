//! `catalog.json` contents.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::catalog::Catalog;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Catalog::parse(data, std::path::Path::new("catalog.json")) {
        let _ = c.to_json();
        let _ = c.next_id();
    }
});
