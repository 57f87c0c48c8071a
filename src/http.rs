//! The operator's HTTP endpoints: `/healthz` (liveness) and `/metrics`
//! (Prometheus text format).

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::store::Store;

/// Serves the endpoints on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, store: Store, shutdown: CancellationToken) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(store);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        error!(error = %e, "http listener failed");
    }
}

async fn metrics(State(store): State<Store>) -> impl IntoResponse {
    let gauges = async {
        Ok::<_, crate::store::StoreError>([
            (
                "wirewatch_articles_stored",
                "Articles in the store.",
                store.article_count().await?,
            ),
            (
                "wirewatch_hits_stored",
                "Hits in the store.",
                store.hit_count().await?,
            ),
            (
                "wirewatch_outbox_pending",
                "Messages waiting to be delivered.",
                store.pending_count().await?,
            ),
        ])
    };
    match gauges.await {
        Ok(gauges) => {
            let mut body = String::new();
            for (name, help, value) in gauges {
                body.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
                ));
            }
            (
                StatusCode::OK,
                [("content-type", "text/plain; version=0.0.4")],
                body,
            )
        }
        Err(e) => {
            error!(error = %e, "metrics query failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "text/plain; version=0.0.4")],
                "store unavailable\n".to_owned(),
            )
        }
    }
}
