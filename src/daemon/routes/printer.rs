//! The printer and its print jobs: `POST /v1/print-test`, and the app printer link's
//! `GET /v1/print-jobs/next`, `POST /v1/print-jobs/{job_id}/result` and
//! `GET`/`PUT /v1/printer/state`.

use super::Api;
use super::error::{ApiError, Body};
use crate::daemon::app_printer::{AppPrinter, Handout, ReportError, Reported};
use crate::daemon::printing::PrintRequest;
use crate::order::AppOutcome;
use crate::printer::sunmi::PrinterState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The longest a `next` request may wait for a job.
pub const MAX_WAIT_SECS: u64 = 60;

pub fn routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/v1/print-test", post(print_test))
        .route("/v1/print-jobs/next", get(next_job))
        .route("/v1/print-jobs/{job_id}/result", post(report_result))
        .route(
            "/v1/printer/state",
            get(printer_state).put(set_printer_state),
        )
}

/// `POST /v1/print-test`: the test page goes to the printer queue.
async fn print_test(State(api): State<Arc<Api>>) -> (StatusCode, Json<Value>) {
    api.orders.print(PrintRequest::TestPage);
    (StatusCode::ACCEPTED, Json(json!({"queued": "test page"})))
}

/// The app link, or a refusal saying this daemon prints on its own.
fn app_link(api: &Api) -> Result<&Arc<AppPrinter>, ApiError> {
    api.app_printer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            None,
            "this daemon prints on its own printer link; print jobs are handed to the app only \
             with printer.transport.app",
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextQuery {
    wait: Option<String>,
}

/// `GET /v1/print-jobs/next?wait=SECONDS`: the next job, leased to the app, or `204` when none is
/// ready within the wait.
async fn next_job(
    State(api): State<Arc<Api>>,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_query(&e, "the one parameter is wait"))?;
    let wait = match query.wait {
        None => 0,
        Some(text) => match text.parse::<u64>() {
            Ok(secs) if secs <= MAX_WAIT_SECS => secs,
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Some("wait".into()),
                    format!(
                        "wait: {text:?} is not a whole number of seconds from 0 to {MAX_WAIT_SECS}"
                    ),
                ));
            }
        },
    };
    let link = app_link(&api)?;
    let handout: Option<Handout> = link
        .next(Duration::from_secs(wait))
        .await
        .map_err(store_error)?;
    Ok(match handout {
        Some(handout) => Json(handout).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /v1/print-jobs/{job_id}/result`: what became of a leased job.
async fn report_result(
    State(api): State<Arc<Api>>,
    Path(job_id): Path<String>,
    Body(outcome): Body<AppOutcome>,
) -> Result<Json<Reported>, ApiError> {
    let link = app_link(&api)?;
    link.report(&job_id, outcome)
        .await
        .map(Json)
        .map_err(|e| match e {
            ReportError::NotFound(message) => ApiError::new(StatusCode::NOT_FOUND, None, message),
            ReportError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, None, message),
            ReportError::PrinterState(message) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("printer_state".into()),
                format!("printer_state: {message}"),
            ),
            ReportError::Store(e) => store_error(e),
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: u32,
}

/// `GET /v1/printer/state`: the printer's state as the app last reported it.
async fn printer_state(State(api): State<Arc<Api>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(state_view(app_link(&api)?)))
}

/// `PUT /v1/printer/state`: what the app learned from `updatePrinterState` or a broadcast.
async fn set_printer_state(
    State(api): State<Arc<Api>>,
    Body(body): Body<StateBody>,
) -> Result<Json<Value>, ApiError> {
    let link = app_link(&api)?;
    let state = PrinterState::from_code(body.state).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("state".into()),
            format!("state: {e}"),
        )
    })?;
    link.set_state(state);
    Ok(Json(state_view(link)))
}

/// The printer's state for `/v1/printer/state` and `/v1/health`.
pub(super) fn state_view(link: &AppPrinter) -> Value {
    let state = link.state();
    json!({
        "state": state.code(),
        "text": state.text(),
        "can_print": state.can_print(),
        "jobs_waiting": link.waiting(),
    })
}

fn store_error(e: crate::store::StoreError) -> ApiError {
    ApiError::from(crate::daemon::orders::OrdersError::Store(e))
}
