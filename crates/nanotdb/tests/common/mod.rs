//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs;
use std::path::Path;

#[allow(unused_imports)]
pub use nanotdb_testkit::{copy_dir, copy_tree, fixture, lpcompare, snapshot_tree};

/// Writes the first `n` lines of `src` into `dst`.
pub fn head_lines(src: &Path, dst: &Path, n: usize) {
    let text = fs::read_to_string(src).expect("read");
    let mut s = String::new();
    for l in text.lines().take(n) {
        s.push_str(l);
        s.push('\n');
    }
    fs::write(dst, s).expect("write");
}

/// Counts the lines of a file.
pub fn count_lines(p: &Path) -> usize {
    fs::read_to_string(p).expect("read").lines().count()
}
