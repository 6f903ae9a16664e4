//! The web UI (docs/BEHAVIOUR.md §2.2, §2.10, §2.11): the pages and their
//! assets, and the dashboard-config API. Served only with `[web].enabled`.
//!
//! Pages and assets are answered by the router's fallback, matched against
//! the configured paths, so a `[web]` path can never make route registration
//! fail; the dashboard-config API has ordinary routes (`routes`).

pub mod assets;
pub mod config;
pub mod dashboard;
pub mod store;

use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use serde_json::json;

use crate::{SharedState, blocking, limits};

/// Largest dashboard document read from a request (the rest is ignored).
pub const MAX_DASHBOARD_BYTES: usize = 1 << 20;

/// The Content-Security-Policy of pages and assets: everything from this
/// server only (plus the configured API origin for fetches), no inline
/// script or style, no framing.
pub fn content_security_policy(api_base_url: &str) -> String {
    let connect = match origin_of(api_base_url) {
        Some(o) => format!("'self' {o}"),
        None => "'self'".to_string(),
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {connect}; font-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of an absolute http(s) URL, for the CSP.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split('/').next().unwrap_or("");
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{host}"))
}

fn secured(mut r: Response, st: &SharedState) -> Response {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(&st.settings.web.api_base_url)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "404 page not found")
}

/// Which page a path names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Page {
    Dashboard,
    Editor,
    Explore,
    Engine,
}

impl Page {
    fn template(self) -> &'static str {
        match self {
            Page::Dashboard => "dashboard.html",
            Page::Editor => "editor.html",
            Page::Explore => "index.html",
            Page::Engine => "engine.html",
        }
    }
}

/// What the fallback serves for `path`.
enum Target {
    Page(Page),
    Asset(PathBuf),
}

fn strip_dir<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    path.strip_prefix(dir)?.strip_prefix('/')
}

fn target(w: &config::WebSettings, path: &str) -> Option<Target> {
    let b = &w.base_path;
    let page = |p: &str, exact: &str| p == exact || p.strip_suffix('/') == Some(exact);
    if path == "/" || page(path, b) {
        return Some(Target::Page(Page::Dashboard));
    }
    if page(path, &w.editor_path()) {
        return Some(Target::Page(Page::Editor));
    }
    if page(path, &w.explore_path) {
        return Some(Target::Page(Page::Explore));
    }
    if page(path, &w.engine_path) {
        return Some(Target::Page(Page::Engine));
    }
    let trees = [
        (format!("{b}/assets"), "dashboard_assets"),
        (format!("{}/assets", w.explore_path), "assets"),
        (format!("{}/assets", w.engine_path), "engine_assets"),
        ("/assets".to_string(), "common_assets"),
    ];
    for (prefix, dir) in trees {
        if let Some(rest) = strip_dir(path, &prefix) {
            let rel = assets::safe_relative(rest)?;
            return Some(Target::Asset(Path::new(dir).join(rel)));
        }
    }
    None
}

/// The cleaned form of a non-canonical path (`//`, `.`, `..` segments),
/// keeping a trailing slash; `None` when `path` is canonical already.
fn canonical(path: &str) -> Option<String> {
    let mut clean = config::clean_path(path);
    if path.ends_with('/') && clean != "/" {
        clean.push('/');
    }
    (clean != path).then_some(clean)
}

/// The router's fallback with the web UI on: non-canonical paths are
/// redirected (301) to their clean form, as v1.4.0's router did; then
/// pages (any method, as v1.4.0), assets (GET/HEAD), else the plain 404.
pub async fn fallback(State(st): State<SharedState>, req: Request) -> Response {
    let w = &st.settings.web;
    let path = req.uri().path().to_string();
    if let Some(clean) = canonical(&path) {
        let location = match req.uri().query() {
            Some(q) => format!("{clean}?{q}"),
            None => clean,
        };
        if let Ok(v) = HeaderValue::from_str(&location) {
            let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            return r;
        }
    }
    let root = w.web_root_dir(st.engine.root());
    let r = match target(w, &path) {
        None => return not_found(),
        Some(Target::Page(p)) => page(&st, p, root.as_deref()),
        Some(Target::Asset(rel)) => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            }
            match assets::file(root.as_deref(), &rel) {
                None => return not_found(),
                Some(bytes) => (
                    [(header::CONTENT_TYPE, assets::content_type(&rel))],
                    match bytes {
                        // Embedded files are served without a copy.
                        std::borrow::Cow::Borrowed(b) => Body::from(Bytes::from_static(b)),
                        std::borrow::Cow::Owned(b) => Body::from(b),
                    },
                )
                    .into_response(),
            }
        }
    };
    secured(r, &st)
}

/// The settings a page's script reads (`data-config` of `<body>`).
fn page_config(st: &SharedState) -> serde_json::Value {
    let w = &st.settings.web;
    json!({
        "title": w.title,
        "basePath": w.base_path,
        "editorPath": w.editor_path(),
        "explorePath": w.explore_path,
        "enginePath": w.engine_path,
        "refreshSeconds": w.refresh_seconds,
        "apiBaseURL": w.api_base_url,
        "authToken": st.settings.auth_token.is_some(),
        "authReads": st.settings.auth_reads,
    })
}

fn page(st: &SharedState, p: Page, root: Option<&Path>) -> Response {
    let Some(tpl) = assets::file(root, Path::new(p.template())) else {
        return not_found();
    };
    let w = &st.settings.web;
    let tpl = String::from_utf8_lossy(&tpl);
    let cfg = page_config(st).to_string();
    let asset_base = match p {
        Page::Dashboard | Page::Editor => format!("{}/assets/", w.base_path),
        Page::Explore => format!("{}/assets/", w.explore_path),
        Page::Engine => format!("{}/assets/", w.engine_path),
    };
    let editor = w.editor_path();
    let html = assets::render(
        &tpl,
        &[
            ("title", &w.title),
            ("asset_base", &asset_base),
            ("common_base", "/assets/"),
            ("dashboard_path", &w.base_path),
            ("editor_path", &editor),
            ("explore_path", &w.explore_path),
            ("engine_path", &w.engine_path),
            ("config", &cfg),
        ],
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The dashboard-config routes: GET guarded like reads, PUT like writes,
/// validation like reads (it changes nothing).
pub fn routes(st: &SharedState) -> axum::Router<SharedState> {
    let reads = middleware::from_fn_with_state(st.clone(), limits::require_read_token);
    let writes = middleware::from_fn_with_state(st.clone(), limits::require_token);
    let config: MethodRouter<SharedState> = get(get_config)
        .route_layer(reads.clone())
        .merge(put(put_config).route_layer(writes))
        .fallback(|| async { not_allowed("GET, PUT") });
    let validate: MethodRouter<SharedState> = post(validate_config)
        .route_layer(reads)
        .fallback(|| async { not_allowed("POST") });
    axum::Router::new()
        .route("/api/dashboard-config", config)
        .route("/api/dashboard-config/validate", validate)
}

fn not_allowed(allow: &'static str) -> Response {
    let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn json_reply(status: StatusCode, v: &serde_json::Value) -> Response {
    let mut body = v.to_string();
    body.push('\n');
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn get_config(State(st): State<SharedState>) -> Response {
    let path = st.settings.web.dashboard_file(st.engine.root());
    let title = st.settings.web.title.clone();
    match blocking(move || store::load(&path)).await {
        Ok(Ok(Some(bytes))) => {
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
        Ok(Ok(None)) => (
            [(header::CONTENT_TYPE, "application/json")],
            dashboard::default_document(&title),
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!("dashboard config: {e}");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "failed to load dashboard config",
            )
        }
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed to load dashboard config",
        ),
    }
}

fn aggregate_names() -> Vec<String> {
    nanotdb::aggregate::default_aggregators().names()
}

fn checked(body: &Bytes) -> Result<dashboard::Dashboard, Vec<String>> {
    let body = &body[..body.len().min(MAX_DASHBOARD_BYTES)];
    dashboard::check(body, &aggregate_names())
}

fn invalid(errors: Vec<String>) -> Response {
    json_reply(
        StatusCode::BAD_REQUEST,
        &json!({"ok": false, "errors": errors}),
    )
}

async fn validate_config(body: Bytes) -> Response {
    match checked(&body) {
        Ok(d) => json_reply(StatusCode::OK, &json!({"ok": true, "config": d})),
        Err(e) => invalid(e),
    }
}

async fn put_config(State(st): State<SharedState>, body: Bytes) -> Response {
    let d = match checked(&body) {
        Ok(d) => d,
        Err(e) => return invalid(e),
    };
    let path = st.settings.web.dashboard_file(st.engine.root());
    let text = dashboard::pretty(&d);
    let st2 = st.clone();
    let saved = blocking(move || {
        // One save at a time, so two backups never race for the same file.
        let _guard = st2.dashboard_lock.lock().unwrap_or_else(|p| p.into_inner());
        store::save(&path, text.as_bytes())
    })
    .await;
    match saved {
        Ok(Ok(backup)) => {
            let mut v = json!({"ok": true, "config": d, "payload": d});
            if let Some(b) = backup {
                v["backup_path"] = json!(b.to_string_lossy());
            }
            json_reply(StatusCode::OK, &v)
        }
        Ok(Err(e)) => {
            tracing::warn!("dashboard config: {e}");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("failed to save dashboard config: {e}"),
            )
        }
        Err(_) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed to save dashboard config",
        ),
    }
}

/// `--init`: writes the default `dashboard.json` under `root` when absent.
pub fn write_default_dashboard(
    root: &Path,
    w: &config::WebSettings,
) -> Result<Option<PathBuf>, store::StoreError> {
    let path = w.dashboard_file(root);
    if path.exists() {
        return Ok(None);
    }
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|source| store::StoreError::Write {
            path: d.to_path_buf(),
            source,
        })?;
    }
    store::write_atomic(&path, dashboard::default_document(&w.title).as_bytes())?;
    Ok(Some(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let w = config::WebSettings::default();
        let is_page =
            |p: &str, want: Page| matches!(target(&w, p), Some(Target::Page(x)) if x == want);
        assert!(is_page("/", Page::Dashboard));
        assert!(is_page("/dashboard/", Page::Dashboard));
        assert!(is_page("/dashboard/edit", Page::Editor));
        assert!(is_page("/explore", Page::Explore));
        assert!(is_page("/engine/", Page::Engine));
        assert!(target(&w, "/dashboardx").is_none());
        assert!(target(&w, "/assets/../x").is_none());
        assert_eq!(canonical("/dashboard"), None);
        assert_eq!(canonical("/dashboard/"), None);
        assert_eq!(canonical("//api/v1/query"), Some("/api/v1/query".into()));
        assert_eq!(canonical("/a/./b/../c/"), Some("/a/c/".into()));
        assert!(matches!(target(&w, "/engine/assets/engine.js"),
            Some(Target::Asset(p)) if p == Path::new("engine_assets/engine.js")));
        assert_eq!(
            origin_of("http://10.0.0.1:8428/x"),
            Some("http://10.0.0.1:8428".into())
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert!(!content_security_policy("").contains("unsafe"));
    }
}
