//! The operator's HTTP endpoints: `/healthz` (liveness: the process
//! answers), `/readyz` (readiness: the store takes writes and every enabled
//! chat adapter is connected) and `/metrics` (Prometheus text format, see
//! [`crate::metrics`]).

use std::{fmt::Write, sync::Arc};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::{
    chat::Chat,
    metrics::{CONTENT_TYPE, Metrics, StoreGauges},
    store::{Store, StoreError},
};

/// What the endpoints read.
#[derive(Clone)]
pub struct HttpState {
    /// The store, probed by `/readyz` and counted by `/metrics`.
    pub store: Store,
    /// The app's metrics.
    pub metrics: Metrics,
    /// Every enabled chat adapter.
    pub chats: Vec<Arc<dyn Chat>>,
}

/// The endpoints as a router (tests call it without a listener).
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Serves the endpoints on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, state: HttpState, shutdown: CancellationToken) {
    if let Err(e) = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        error!(error = %e, "http listener failed");
    }
}

async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let mut problems = Vec::new();
    if !state.store.is_writable().await {
        problems.push("store: not writable".to_owned());
    }
    for chat in &state.chats {
        if !chat.is_connected() {
            problems.push(format!("{}: not connected", chat.platform()));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        warn!(problems = %problems.join("; "), "not ready");
        let mut body = String::from("not ready\n");
        for p in problems {
            let _ = writeln!(body, "{p}");
        }
        (StatusCode::SERVICE_UNAVAILABLE, body)
    }
}

async fn store_gauges(store: &Store) -> Result<StoreGauges, StoreError> {
    let snapshot = store.operations_snapshot().await?;
    Ok(StoreGauges {
        articles: store.article_count().await?,
        hits: store.hit_count().await?,
        outbox_pending: store.pending_count().await?,
        outbox_oldest_age_secs: snapshot.oldest_pending_at.map_or(0.0, |at| {
            (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
        }),
        feeds: snapshot.feeds,
        feeds_failing: snapshot.feeds_failing,
    })
}

async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    let body = match store_gauges(&state.store).await {
        Ok(gauges) => state.metrics.encode(&gauges).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match body {
        Ok(body) => (StatusCode::OK, [("content-type", CONTENT_TYPE)], body),
        Err(e) => {
            error!(error = %e, "metrics unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "text/plain; charset=utf-8")],
                "store unavailable\n".to_owned(),
            )
        }
    }
}
