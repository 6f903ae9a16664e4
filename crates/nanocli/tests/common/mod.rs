//! Helpers shared by the `nanocli` integration tests.
#![allow(dead_code)]

use std::path::Path;

use assert_cmd::Command;

#[allow(unused_imports)]
pub use nanotdb_testkit::{copy_dir, fixture, fixture_copy, lpcompare};

/// Every file and directory under `root` with its bytes, sorted.
pub fn tree(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    nanotdb_testkit::snapshot_tree(root)
}

/// Runs a command that must succeed and returns its stdout.
pub trait OkStdout {
    /// Asserts success (showing stderr otherwise) and returns stdout.
    fn ok_stdout(&mut self) -> Vec<u8>;
}

impl OkStdout for Command {
    fn ok_stdout(&mut self) -> Vec<u8> {
        self.assert().success().get_output().stdout.clone()
    }
}

/// `nanocli import --root ROOT --in INPUT`, ready for more arguments and
/// the assertion.
pub fn import(root: &Path, input: &Path) -> Command {
    let mut c = nanocli();
    c.args(["import", "--root"])
        .arg(root)
        .arg("--in")
        .arg(input);
    c
}

/// `nanocli export --root ROOT --db DB --out OUT`, which must succeed.
pub fn export(root: &Path, db: &str, out: &Path) {
    nanocli()
        .args(["export", "--root"])
        .arg(root)
        .args(["--db", db, "--out"])
        .arg(out)
        .assert()
        .success();
}

/// The `nanocli` binary under test.
pub fn nanocli() -> Command {
    Command::cargo_bin("nanocli").unwrap()
}
