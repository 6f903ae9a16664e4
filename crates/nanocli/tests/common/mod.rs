//! Helpers shared by the `nanocli` integration tests.
#![allow(dead_code)]

use assert_cmd::Command;

#[allow(unused_imports)]
pub use nanotdb_testkit::{copy_dir, fixture, fixture_copy, lpcompare};

/// Every file and directory under `root` with its bytes, sorted.
pub fn tree(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    nanotdb_testkit::snapshot_tree(root)
}

/// The `nanocli` binary under test.
pub fn nanocli() -> Command {
    Command::cargo_bin("nanocli").unwrap()
}
