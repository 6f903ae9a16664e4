//! Space-aligned tables for human output: a header row, a row of dashes,
//! two spaces between columns, numeric columns right-aligned.

use std::fmt::Write as _;

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// A table being built.
pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these columns.
    pub fn new(cols: &[(&'static str, Align)]) -> Table {
        Table {
            headers: cols.iter().map(|c| c.0).collect(),
            align: cols.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print as `-`).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table, each line ending in `\n`.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut w: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String| {
            let mut s = String::new();
            for (i, (&width, align)) in w.iter().zip(&self.align).enumerate() {
                let c = cells.get(i).map_or("-", String::as_str);
                if i > 0 {
                    s.push_str("  ");
                }
                let _ = match align {
                    Align::Left => write!(s, "{c:<width$}"),
                    Align::Right => write!(s, "{c:>width$}"),
                };
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        let headers: Vec<String> = self.headers.iter().map(|h| h.to_string()).collect();
        line(&headers, &mut out);
        let dashes: Vec<String> = w.iter().map(|x| "-".repeat(*x)).collect();
        line(&dashes, &mut out);
        for r in &self.rows {
            line(r, &mut out);
        }
        out
    }
}

/// Shortens a path for a table cell: `...` plus the last 45 characters
/// when it is longer than 48.
pub fn ellipsize(path: &str) -> String {
    let n = path.chars().count();
    if n <= 48 {
        return path.to_string();
    }
    let tail: String = path.chars().skip(n - 45).collect();
    format!("...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned() {
        let mut t = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        t.row(vec!["a".into(), "10".into()]);
        t.row(vec!["long".into()]);
        assert_eq!(t.render(), "name   n\n----  --\na     10\nlong   -\n");
        assert_eq!(ellipsize(&"x".repeat(50)), format!("...{}", "x".repeat(45)));
        assert_eq!(ellipsize("short"), "short");
    }
}
