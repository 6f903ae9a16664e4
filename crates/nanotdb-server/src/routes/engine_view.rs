//! The engine view API (`/api/engine/…`).

use crate::envelope::{ApiError, ApiResult};

/// `POST /api/engine/recompact`.
pub async fn recompact() -> ApiResult {
    Err(ApiError::not_available("recompact is"))
}

/// `POST /api/engine/compact_metric`.
pub async fn compact_metric() -> ApiResult {
    Err(ApiError::not_available("compact_metric is"))
}

/// The read-only engine view routes.
pub fn routes() -> axum::Router<crate::SharedState> {
    axum::Router::new()
}
