//! One line of line protocol, and re-formatting of what parses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::lineproto::{parse_line, write_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(l) = parse_line(text) {
        let mut out = Vec::new();
        write_line(&mut out, l.db, l.metric, l.value, l.ts.unwrap_or(0));
    }
});
