//! A Prometheus series selector from a request (`/api/v1/export?match[]=`,
//! `nanocli export --match`): parsing never panics, a parsed selector has at
//! least one matcher, and matching any value with it never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::selector::parse_selector;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(matchers) = parse_selector(text) {
        assert!(!matchers.is_empty());
        for m in &matchers {
            let _ = m.matches(text);
            let _ = m.matches("");
        }
    }
});
