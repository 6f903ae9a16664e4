//! The UI files: embedded in the binary (so the pages work on a box with no
//! internet), optionally replaced file by file from `[web].web_root`, and
//! exported by `--export-web-assets`. Pages are HTML templates whose
//! `{{name}}` placeholders are filled with HTML-escaped values only.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use include_dir::{Dir, include_dir};

/// The UI tree: `dashboard.html`, `editor.html`, `index.html` (Explore),
/// `engine.html`, `assets/` (Explore), `dashboard_assets/`, `engine_assets/`,
/// `common_assets/` (shared script, style, vendored uPlot).
pub static WEB: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/web");

/// Turns a URL path below an asset tree into a relative file path; `None`
/// for anything that could leave the tree (`..`, absolute, backslashes).
pub fn safe_relative(p: &str) -> Option<PathBuf> {
    if p.is_empty() || p.contains('\\') || p.contains('\0') {
        return None;
    }
    let path = Path::new(p);
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| path.to_path_buf())
}

/// The bytes of `rel` (e.g. `common_assets/app.js`): from `web_root` when it
/// has the file, else embedded.
pub fn file(web_root: Option<&Path>, rel: &Path) -> Option<Cow<'static, [u8]>> {
    if let Some(root) = web_root
        && let Ok(b) = std::fs::read(root.join(rel))
    {
        return Some(Cow::Owned(b));
    }
    WEB.get_file(rel).map(|f| Cow::Borrowed(f.contents()))
}

/// Content type by file extension.
pub fn content_type(rel: &Path) -> &'static str {
    match rel.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "text/plain; charset=utf-8",
    }
}

/// Escapes text for an HTML text node or a quoted attribute.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fills `{{name}}` placeholders with escaped values; unknown ones are left.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), &escape_html(v));
    }
    out
}

/// Writes the embedded tree into `dir` (created if needed).
pub fn export(dir: &Path) -> std::io::Result<()> {
    fn walk(d: &Dir<'_>, out: &Path) -> std::io::Result<()> {
        for f in d.files() {
            let p = out.join(f.path());
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(p, f.contents())?;
        }
        for sub in d.dirs() {
            walk(sub, out)?;
        }
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    walk(&WEB, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_paths() {
        assert_eq!(
            render("<h1>{{title}}</h1>", &[("title", "<b>\"x\"&'")]),
            "<h1>&lt;b&gt;&quot;x&quot;&amp;&#39;</h1>"
        );
        assert!(safe_relative("../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("a/../../b").is_none());
        assert!(safe_relative("a\\b").is_none());
        assert_eq!(
            safe_relative("vendor/uplot/LICENSE"),
            Some(PathBuf::from("vendor/uplot/LICENSE"))
        );
        for page in ["dashboard.html", "editor.html", "index.html", "engine.html"] {
            assert!(WEB.get_file(page).is_some(), "{page} embedded");
        }
        assert!(WEB.get_file("common_assets/vendor/uplot/LICENSE").is_some());
    }
}
