//! A canonical series name; what parses must format back to the same text and
//! parse again to the same key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb_protocols::series::parse_canonical;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = parse_canonical(text) {
        let canonical = key.canonical();
        assert_eq!(canonical, text);
        assert_eq!(canonical.len(), key.canonical_len());
        assert_eq!(parse_canonical(&canonical).as_ref(), Ok(&key));
    }
});
