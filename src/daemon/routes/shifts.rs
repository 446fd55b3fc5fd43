//! The local API of shifts: `POST /v1/shifts/close`, `GET /v1/shifts` and `GET /v1/shifts/{id}`.
//!
//! A close reads the orders once, builds the report ([`crate::shift`]), lays it out for the
//! printer and stores the report and its printout in one durable step; only then does the
//! printout go to the printer (or the app's queue), so a crash or an empty paper roll never loses
//! it.

use super::Api;
use super::error::{ApiError, json_object};
use crate::daemon::app_printer::AppPrinter;
use crate::daemon::printing::{PrintRequest, Renderer};
use crate::order::PrintStatus;
use crate::shift::{ReportBuilder, ReportPrint, ShiftId, ShiftReport};
use crate::store::{Store, StoreError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What closing a shift needs beyond the rest of the API.
pub struct Shifts {
    renderer: Arc<Renderer>,
    /// One close at a time: a report must see every order the previous close left to it.
    closing: tokio::sync::Mutex<()>,
}

impl Shifts {
    pub fn new(renderer: Arc<Renderer>) -> Shifts {
        Shifts {
            renderer,
            closing: tokio::sync::Mutex::new(()),
        }
    }
}

pub fn routes() -> Router<Arc<Api>> {
    Router::new()
        .route("/v1/shifts", get(list_shifts))
        .route("/v1/shifts/close", post(close_shift))
        .route("/v1/shifts/{id}", get(get_shift))
}

/// A shift's report as the API answers it: the report, unchanged since the close, and where its
/// printout stands.
#[derive(Debug, Serialize)]
pub struct ShiftView {
    #[serde(flatten)]
    pub report: ShiftReport,
    pub print: PrintStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    /// Close even though orders are unfinished; the report lists them.
    #[serde(default)]
    force: bool,
}

/// `POST /v1/shifts/close`: closes the running shift; `201` with its report once it is stored.
async fn close_shift(
    State(api): State<Arc<Api>>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> Result<(StatusCode, Json<ShiftView>), ApiError> {
    let body: CloseBody = if raw.is_empty() {
        CloseBody::default()
    } else {
        json_object(&headers, &raw)?
    };
    let _turn = api.shifts.closing.lock().await;
    let store = api.orders.store().clone();
    let renderer = api.shifts.renderer.clone();
    let app = api.app_printer.clone();
    let (report, print, app_job) =
        tokio::task::spawn_blocking(move || close(&store, &renderer, app.as_deref(), body.force))
            .await
            .expect("closing a shift does not panic")?;
    let id = report.shift_id;
    tracing::info!(shift = %id, orders = report.orders.count, "shift closed");
    match (&api.app_printer, app_job) {
        (Some(app), Some(job)) => app.announce(&job),
        _ => api.orders.print(PrintRequest::ShiftReport(id)),
    }
    Ok((
        StatusCode::CREATED,
        Json(ShiftView {
            report,
            print: print.status,
        }),
    ))
}

/// Builds the report of the shift after the last one closed, and stores it with its printout.
fn close(
    store: &Store,
    renderer: &Renderer,
    app: Option<&AppPrinter>,
    force: bool,
) -> Result<(ShiftReport, ReportPrint, Option<crate::order::AppJob>), ApiError> {
    let previous = store.last_shift().map_err(store_error)?;
    let closed_at = crate::clock::now();
    // The store is read only once the clock is past the close: an order the read does not see
    // then became final after the close, and counts in the next shift.
    while crate::clock::now() <= closed_at {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut builder = ReportBuilder::new(previous.as_ref(), closed_at, force);
    store
        .for_each_shift_candidate(previous.as_ref(), |order| builder.add(&order))
        .map_err(store_error)?;
    let report = builder.finish();
    if !force && !report.unfinished.is_empty() {
        let named: Vec<String> = report
            .unfinished
            .iter()
            .map(|o| format!("{} ({})", o.order_id, o.state))
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("force".into()),
            format!(
                "{} order(s) are unfinished: {}; wait for them, cancel them, or close with \
                 \"force\": true to list them in this report and count them in the shift they \
                 finish in",
                named.len(),
                named.join(", ")
            ),
        ));
    }
    let escpos = renderer.shift_report(&report).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            format!("cannot lay out the shift report: {e}"),
        )
    })?;
    renderer.write_preview(&format!("shift-{}", report.shift_id), &escpos);
    let print = ReportPrint {
        shift_id: report.shift_id,
        escpos,
        status: PrintStatus::Pending,
        created_at: closed_at,
    };
    let app_job = app
        .map(|app| app.report_job(&print))
        .transpose()
        .map_err(store_error)?;
    store
        .close_shift(&report, &print, app_job.as_ref())
        .map_err(store_error)?;
    Ok((report, print, app_job))
}

/// `GET /v1/shifts`: every closed shift's report, oldest first.
async fn list_shifts(State(api): State<Arc<Api>>) -> Result<Json<Vec<ShiftView>>, ApiError> {
    let store = api.orders.store().clone();
    tokio::task::spawn_blocking(move || {
        store
            .shifts()?
            .into_iter()
            .map(|report| view(&store, report))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .expect("reading shifts does not panic")
    .map(Json)
    .map_err(store_error)
}

/// `GET /v1/shifts/{id}`: one closed shift's report.
async fn get_shift(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<ShiftView>, ApiError> {
    let id: ShiftId = id.parse().map_err(|e: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Some("id".into()),
            format!("id: {e}"),
        )
    })?;
    let store = api.orders.store().clone();
    let found = tokio::task::spawn_blocking(move || {
        store
            .shift(id)?
            .map(|report| view(&store, report))
            .transpose()
    })
    .await
    .expect("reading a shift does not panic")
    .map_err(store_error)?;
    found.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            Some("id".into()),
            format!("no shift {id} was closed"),
        )
    })
}

fn view(store: &Store, report: ShiftReport) -> Result<ShiftView, StoreError> {
    let print = store
        .report_print(report.shift_id)?
        .map_or(PrintStatus::NotNeeded, |print| print.status);
    Ok(ShiftView { report, print })
}

fn store_error(e: StoreError) -> ApiError {
    let status = match &e {
        StoreError::ShiftTaken(_) => StatusCode::CONFLICT,
        StoreError::Flush(_) | StoreError::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, None, e.to_string())
}
