//! engine.toml and manifest.toml text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb::config::{default_engine_config, parse_engine_config, parse_manifest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let p = std::path::Path::new("engine.toml");
    let _ = parse_engine_config(text, p);
    let _ = parse_manifest(text, &default_engine_config().manifest_defaults, p);
});
