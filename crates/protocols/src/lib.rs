//! Wire-format decoders for the write protocols of the monitoring ecosystem,
//! kept apart from the server so they can be tested and fuzzed as pure
//! functions of their input: no HTTP, no async runtime, no engine.
//!
//! * [`series`]: a metric name plus labels, and the canonical text form the
//!   engine stores as a metric name;
//! * [`remote_write`]: Prometheus remote write 1.0 (snappy-compressed protobuf);
//! * [`influx`]: InfluxDB line protocol (the `/write` and `/api/v2/write` bodies).
//!
//! Bad input never panics: whole-body problems come back as typed errors,
//! per-series and per-line problems as lists beside the good data, so one bad
//! line or series never loses the rest of a request.

#![warn(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod influx;
pub mod remote_read;
pub mod remote_write;
pub mod series;

pub use series::{SeriesError, SeriesKey, parse_canonical};
