//! The router: every route with its methods, the 405/404 answers, and the
//! middleware (request timeout everywhere, bearer token on writes and admin,
//! and on reads too with `auth_reads = true`).

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use serde_json::json;

use crate::envelope::{ApiError, json_response};
use crate::routes::write_protocols::{influx, remote_write};
use crate::routes::{discovery, engine_view, export, grafana, ingest, query, remote_read};
use crate::{SharedState, limits, selfmetrics};

/// 405 `bad_data` for a wrong method on an API route.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "bad_data",
        "method not allowed",
    )
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

fn g(r: MethodRouter<SharedState>) -> MethodRouter<SharedState> {
    r.fallback(method_not_allowed)
}

/// Builds the application.
pub fn router(state: SharedState) -> Router {
    let admin = Router::new()
        .route("/api/v1/import", g(post(ingest::import_lines)))
        .route(
            "/api/v1/import/prometheus",
            g(post(ingest::import_prometheus)),
        )
        .route("/api/v1/write", g(post(remote_write::write)))
        .route("/prometheus/api/v1/write", g(post(remote_write::write)))
        .route(
            "/api/v1/rollup/backfill",
            g(post(discovery::rollup_backfill)),
        )
        .route("/api/engine/recompact", g(post(engine_view::recompact)))
        .route(
            "/api/engine/compact_metric",
            g(post(engine_view::compact_metric)),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limits::require_token,
        ));
    let reads = Router::new()
        .route("/metrics", g(get(selfmetrics::metrics_handler)))
        .route(
            "/api/v1/remote_write/status",
            g(get(crate::forward::status::handler)),
        )
        .route("/api/v1/query", g(get(query::query).post(query::query)))
        .route(
            "/api/v1/query_range",
            g(get(query::query_range).post(query::query_range)),
        )
        .route("/api/v1/aggregates", g(get(discovery::aggregates)))
        .route("/api/v1/databases", g(get(discovery::databases)))
        .route("/api/v1/export", g(get(export::export)))
        .route("/api/v1/metrics", g(get(discovery::metrics)))
        .route("/api/v1/status/buildinfo", g(get(grafana::buildinfo)))
        .route(
            "/api/v1/labels",
            g(get(grafana::labels).post(grafana::labels)),
        )
        .route(
            "/api/v1/label/{name}/values",
            g(get(grafana::label_values).post(grafana::label_values)),
        )
        .route(
            "/api/v1/series",
            g(get(grafana::series).post(grafana::series)),
        )
        .route(
            "/api/v1/metadata",
            g(get(grafana::metadata).post(grafana::metadata)),
        )
        .route(
            "/api/v1/query_exemplars",
            g(get(grafana::query_exemplars).post(grafana::query_exemplars)),
        )
        .route("/api/v1/read", g(post(remote_read::read)))
        .route("/api/v1/rules", g(get(grafana::rules)))
        .route("/api/v1/alerts", g(get(grafana::alerts)))
        .merge(crate::routes::engine_view::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limits::require_read_token,
        ));
    // Influx clients send their token in forms of their own (influx.rs).
    let influx = Router::new()
        .route("/write", g(post(influx::write_v1)))
        .route("/api/v2/write", g(post(influx::write_v2)))
        .route("/ping", g(get(influx::ping).head(influx::ping)));
    let mut app = Router::new()
        .route("/health", any(health))
        .merge(influx)
        .merge(reads)
        .merge(admin);
    // `[web].enabled = false`: no pages, assets or dashboard-config API.
    app = if state.settings.web.enabled {
        app.merge(crate::web::routes(&state))
            .fallback(crate::web::fallback)
    } else {
        app.fallback(not_found)
    };
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        limits::timeout,
    ))
    .layer(axum::extract::DefaultBodyLimit::max(
        state.settings.max_body_bytes,
    ))
    .with_state(state)
}
