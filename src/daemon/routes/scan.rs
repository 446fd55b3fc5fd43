//! `/v1/scan…` and `/v1/frames`: scans asked for, cancelled, and the frames the POS app pushes.

use super::Api;
use super::charges::view;
use super::error::ApiError;
use super::error::json_object;
use axum::Json;
use axum::extract::Query;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Scans in the background and hands the code to the order; the code never leaves the daemon.
pub fn scan_for_order(api: Arc<Api>, slot: crate::daemon::scanning::ScanSlot, id: String) {
    tokio::spawn(async move {
        match api.scanner.scan_in(slot, None).await {
            Ok(code) => {
                if let Err(e) = api.orders.payment_code(&id, code.expose().to_owned()).await {
                    tracing::warn!(order = %id, "the scanned code was not taken: {e}");
                }
            }
            Err(e) => tracing::info!(order = %id, "scan ended without a code: {e}"),
        }
    });
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ScanBody {
    /// Hand the code read to this order.
    #[serde(default, deserialize_with = "present")]
    order_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    timeout_ms: Option<u64>,
}

/// An optional field that, when given, holds a value: `null` is refused rather than read as absent.
pub(super) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// `POST /v1/scan`: one scan. With an order id the code goes to that order and the answer is the
/// order; without one the answer says what was read, masked.
pub(super) async fn scan(
    State(api): State<Arc<Api>>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: ScanBody = if raw.is_empty() {
        ScanBody::default()
    } else {
        json_object(&headers, &raw)?
    };
    if let Some(id) = &body.order_id {
        api.orders.get(id).await?;
    }
    let timeout = body.timeout_ms.map(Duration::from_millis);
    let code = api
        .scanner
        .scan(body.order_id.as_deref(), timeout)
        .await
        .map_err(scan_refused)?;
    match body.order_id {
        Some(id) => {
            let order = api
                .orders
                .payment_code(&id, code.expose().to_owned())
                .await?;
            Ok(view(&order).into_response())
        }
        None => Ok(Json(json!({
            "payment_code_masked": code.masked().to_string(),
            "wallet": code.wallet(),
        }))
        .into_response()),
    }
}

/// The answer for a scan that gave no code, or could not start.
pub(super) fn scan_refused(e: crate::daemon::scanning::ScanFailure) -> ApiError {
    let status = match e {
        crate::daemon::scanning::ScanFailure::Busy(_) => StatusCode::CONFLICT,
        crate::daemon::scanning::ScanFailure::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, None, e.to_string())
}

/// `POST /v1/scan/cancel`: stops the running scan, if any; its order keeps waiting for a code.
pub(super) async fn cancel_scan(State(api): State<Arc<Api>>) -> Json<Value> {
    let cancelled = api.scanner.cancel();
    Json(json!({"cancelled": cancelled}))
}

/// `POST /v1/frames?format=&width=&height=&stride=`, read as text so that each bad value is
/// refused by name.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct FrameQuery {
    format: Option<String>,
    width: Option<String>,
    height: Option<String>,
    stride: Option<String>,
}

/// `POST /v1/frames`: a camera frame for the running scan: JPEG, PNG, or the camera's own bytes
/// (`application/octet-stream` with `?format=grey|nv21&width=&height=&stride=`).
pub(super) async fn push_frame(
    State(api): State<Arc<Api>>,
    query: Result<Query<FrameQuery>, axum::extract::rejection::QueryRejection>,
    headers: axum::http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    use crate::scan::source::{PushedFrame, RawFrame, RawLayout};
    let Query(query) = query.map_err(|e| {
        ApiError::bad_query(&e, "the parameters are format, width, height and stride")
    })?;
    let content_type = super::error::media_type(&headers).unwrap_or_default();
    let bytes = Vec::from(bytes);
    let frame = match content_type.as_str() {
        "image/jpeg" | "image/png" => {
            let given = [
                ("format", &query.format),
                ("width", &query.width),
                ("height", &query.height),
                ("stride", &query.stride),
            ];
            if let Some((field, _)) = given.iter().find(|(_, value)| value.is_some()) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Some((*field).into()),
                    format!(
                        "{field}: only for raw frames (application/octet-stream); {content_type} carries its own"
                    ),
                ));
            }
            if content_type == "image/jpeg" {
                PushedFrame::Jpeg(bytes)
            } else {
                PushedFrame::Png(bytes)
            }
        }
        "application/octet-stream" => {
            let raw = RawLayout::from_params(
                query.format.as_deref(),
                query.width.as_deref(),
                query.height.as_deref(),
                query.stride.as_deref(),
            )
            .and_then(|layout| RawFrame::new(layout, bytes))
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    e.field().map(Into::into),
                    e.to_string(),
                )
            })?;
            PushedFrame::Raw(raw)
        }
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("Content-Type".into()),
                format!(
                    "{other:?} is not a frame type; use image/jpeg, image/png or application/octet-stream"
                ),
            ));
        }
    };
    frame
        .check()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, None, e.to_string()))?;
    api.scanner
        .push(frame)
        .await
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, None, e))?;
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": true}))))
}
