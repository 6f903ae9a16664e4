//! The `[web]` section of `engine.toml` with v1.4.0's defaults and
//! normalisation (docs/BEHAVIOUR.md §2.2).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::dashboard::DEFAULT_TITLE;

/// Effective `[web]` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSettings {
    /// UI routes and the dashboard-config API are served.
    pub enabled: bool,
    /// Dashboard page path (editor at `<base>/edit`).
    pub base_path: String,
    /// Explore page path.
    pub explore_path: String,
    /// Engine inspector path.
    pub engine_path: String,
    /// Page title.
    pub title: String,
    /// Auto-refresh period of the pages.
    pub refresh_seconds: i64,
    /// `dashboard.json`, relative to the data root unless absolute.
    pub dashboard_config: PathBuf,
    /// Directory replacing the embedded pages (empty: embedded ones).
    pub web_root: Option<PathBuf>,
    /// Prefix the pages put before API paths (no trailing `/`).
    pub api_base_url: String,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            enabled: true,
            base_path: "/dashboard".into(),
            explore_path: "/explore".into(),
            engine_path: "/engine".into(),
            title: DEFAULT_TITLE.into(),
            refresh_seconds: 10,
            dashboard_config: PathBuf::from("dashboard.json"),
            web_root: None,
            api_base_url: String::new(),
        }
    }
}

/// The `[web]` table as written (every key optional).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawWeb {
    enabled: Option<bool>,
    base_path: Option<String>,
    explore_path: Option<String>,
    engine_path: Option<String>,
    title: Option<String>,
    refresh_seconds: Option<i64>,
    dashboard_config: Option<String>,
    web_root: Option<String>,
    api_base_url: Option<String>,
}

/// Cleans a URL path like Go's `path.Clean` on a rooted path: repeated
/// slashes, `.` and `..` removed, no trailing slash.
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A page path: leading `/` added, cleaned; blank, `/` or `.` → `default`.
fn page_path(v: Option<&str>, default: &str) -> String {
    let v = v.map(str::trim).unwrap_or("");
    if v.is_empty() || v == "." || v == "/" {
        return default.to_string();
    }
    let cleaned = clean_path(v);
    if cleaned == "/" {
        default.to_string()
    } else {
        cleaned
    }
}

impl WebSettings {
    pub(crate) fn from_raw(raw: RawWeb) -> WebSettings {
        let d = WebSettings::default();
        let base_path = page_path(raw.base_path.as_deref(), &d.base_path);
        let mut explore_path = page_path(raw.explore_path.as_deref(), &d.explore_path);
        if explore_path == base_path {
            explore_path = d.explore_path.clone();
        }
        let mut engine_path = page_path(raw.engine_path.as_deref(), &d.engine_path);
        if engine_path == base_path || engine_path == explore_path {
            engine_path = d.engine_path.clone();
        }
        let non_blank =
            |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        WebSettings {
            enabled: raw.enabled.unwrap_or(true),
            base_path,
            explore_path,
            engine_path,
            title: non_blank(raw.title).unwrap_or(d.title),
            refresh_seconds: raw.refresh_seconds.filter(|s| *s > 0).unwrap_or(10),
            dashboard_config: non_blank(raw.dashboard_config)
                .map(PathBuf::from)
                .unwrap_or(d.dashboard_config),
            web_root: non_blank(raw.web_root).map(PathBuf::from),
            api_base_url: raw
                .api_base_url
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .unwrap_or_default(),
        }
    }

    /// The dashboard file under data root `root`.
    pub fn dashboard_file(&self, root: &Path) -> PathBuf {
        root.join(&self.dashboard_config)
    }

    /// The `web_root` directory under data root `root`, if set.
    pub fn web_root_dir(&self, root: &Path) -> Option<PathBuf> {
        self.web_root.as_ref().map(|w| root.join(w))
    }

    /// The editor page path.
    pub fn editor_path(&self) -> String {
        format!("{}/edit", self.base_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> WebSettings {
        #[derive(Deserialize)]
        struct F {
            #[serde(default)]
            web: RawWeb,
        }
        let f: F = toml::from_str(toml_text).expect("toml");
        WebSettings::from_raw(f.web)
    }

    #[test]
    fn defaults() {
        assert_eq!(parse(""), WebSettings::default());
        assert_eq!(parse("[web]\n"), WebSettings::default());
    }

    #[test]
    fn normalisation() {
        let w = parse(
            "[web]\nbase_path='dash//x/../y/'\nexplore_path='/dash/y'\nengine_path='.'\n\
             refresh_seconds=-3\napi_base_url='http://h:1/'\ntitle='  '\n",
        );
        assert_eq!(w.base_path, "/dash/y");
        assert_eq!(w.explore_path, "/explore");
        assert_eq!(w.engine_path, "/engine");
        assert_eq!(w.refresh_seconds, 10);
        assert_eq!(w.api_base_url, "http://h:1");
        assert_eq!(w.title, DEFAULT_TITLE);
        let w = parse("[web]\nbase_path='/'\nexplore_path='/e'\nengine_path='/e'\nenabled=false\n");
        assert_eq!(w.base_path, "/dashboard");
        assert_eq!(w.engine_path, "/engine");
        assert!(!w.enabled);
        assert_eq!(clean_path("/a/./b/../../.."), "/");
    }
}
