//! A line protocol body in every precision; every series name it yields must
//! be canonical.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nanotdb_protocols::influx::{ParseOptions, Precision, parse_each};
use nanotdb_protocols::series::parse_canonical;

fuzz_target!(|data: &[u8]| {
    for precision in [Precision::Nanoseconds, Precision::Seconds, Precision::Hours] {
        let opts = ParseOptions {
            precision,
            ..ParseOptions::default()
        };
        parse_each(data, &opts, 0, |s| {
            let key = parse_canonical(s.series).expect("influx series names are canonical");
            assert_eq!(key.canonical(), s.series);
        });
    }
});
