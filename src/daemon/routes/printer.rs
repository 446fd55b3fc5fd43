//! `/v1/print-test`: the test page. (The app printer link's routes are in `print_jobs`.)

use super::Api;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use serde_json::json;
use std::sync::Arc;

/// `POST /v1/print-test`: the test page goes to the printer queue.
pub(super) async fn print_test(State(api): State<Arc<Api>>) -> (StatusCode, Json<Value>) {
    api.orders
        .print(crate::daemon::printing::PrintRequest::TestPage);
    (StatusCode::ACCEPTED, Json(json!({"queued": "test page"})))
}
