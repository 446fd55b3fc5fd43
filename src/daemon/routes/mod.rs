//! The local API for the POS app: HTTP/1.1 + JSON, on a Unix socket (and optionally loopback TCP).
//!
//! Every error is JSON, `{"error": {"field": …, "message": …}}`, with a 4xx status when the request
//! was wrong and 5xx when the daemon could not do its part. A payment code never appears in an
//! answer; the agent key is never reachable from here.
//!
//! One file per resource: `charges` (and the export), `resolve` (a person's resolution of a
//! charge), `scan` (scans and frames), `printer` (the test page, and the app printer link's print
//! jobs and printer state), `wallet`, `shifts`, `health` (and events); `error` holds the error
//! answer and the extractors. Each file names what it uses and brings its own routes; this one
//! only assembles the router and its layers.

use crate::daemon::orders::Orders;
use crate::store::StoreError;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

mod charges;
mod error;
mod health;
mod printer;
mod resolve;
mod scan;
pub mod shifts;
mod wallet;

pub use charges::{ChargeRequest, OrderView};
pub use error::{ApiError, Body};
pub use scan::scan_for_order;
pub use wallet::wallet_command_named;

/// Largest JSON body the API reads.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// What the handlers share.
pub struct Api {
    pub orders: Arc<Orders>,
    pub gateway: crate::gateway::Client,
    pub scanner: Arc<crate::daemon::scanning::ScanService>,
    /// Whether a charge without a payment code starts a scan at once.
    pub scan_on_charge: bool,
    pub started: std::time::Instant,
    /// The POS app's print queue, when the printer is reached through the app.
    pub app_printer: Option<Arc<crate::daemon::app_printer::AppPrinter>>,
    /// Whether the gateway took a connection lately.
    pub reachability: Arc<crate::daemon::reachability::Reachability>,
    /// One permit per open event stream, [`MAX_EVENT_STREAMS`] in all.
    pub event_streams: Arc<tokio::sync::Semaphore>,
    pub shifts: Arc<shifts::Shifts>,
}

/// Event streams open at once: each holds a connection for as long as it lasts, and the
/// connections are shared with the requests that take charges.
pub const MAX_EVENT_STREAMS: usize = 16;

/// Largest camera frame the API takes.
pub const MAX_FRAME_BODY: usize = 8 * 1024 * 1024;

pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route(
            "/v1/charges",
            post(charges::create_charge).get(charges::list_charges),
        )
        .route("/v1/charges/{id}", get(charges::get_charge))
        .route("/v1/charges/{id}/cancel", post(charges::cancel_charge))
        .route("/v1/charges/{id}/reprint", post(charges::reprint_charge))
        .route(
            "/v1/charges/{id}/payment-code",
            post(charges::give_payment_code),
        )
        .route(
            "/v1/charges/{id}/reconcile",
            post(charges::reconcile_charge),
        )
        .route("/v1/orders/export", get(charges::export_orders))
        .route("/v1/scan", post(scan::scan))
        .route("/v1/scan/cancel", post(scan::cancel_scan))
        .route(
            "/v1/frames",
            post(scan::push_frame).layer(axum::extract::DefaultBodyLimit::max(MAX_FRAME_BODY)),
        )
        .route("/v1/wallet/{command}", post(wallet::wallet_command))
        .route("/v1/health", get(health::health))
        .route("/v1/events", get(health::events))
        .merge(printer::routes())
        .merge(shifts::routes())
        .merge(resolve::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                None,
                "no such endpoint; see /v1/health and the API description",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            refuse_after_store_failure,
        ))
        .with_state(api)
}

/// Once the store has failed, memory may hold changes the disk does not: nothing is answered from
/// it, and the daemon is stopping so that the next start recovers from disk.
async fn refuse_after_store_failure(
    State(api): State<Arc<Api>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let failure = api.orders.store().failure().borrow().clone();
    match failure {
        Some(reason) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            StoreError::Failed(reason).to_string(),
        )
        .into_response(),
        None => next.run(request).await,
    }
}

/// Turns the answers axum makes on its own (a method the path does not take, a body over the
/// limit, a path or query it cannot read: plain text or empty) into the API's JSON error, so a
/// client reads every error the same way.
async fn json_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    // axum names the part of the path or query it could not read between backticks.
    let field = text.split('`').nth(1).map(str::to_owned);
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not take {method}"),
        StatusCode::PAYLOAD_TOO_LARGE => format!("the body is larger than {path} takes"),
        _ if text.is_empty() => status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_owned(),
        _ => text,
    };
    let mut answer = ApiError::new(status, field, message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}
