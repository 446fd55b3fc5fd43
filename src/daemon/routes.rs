//! The local API for the POS app: HTTP/1.1 + JSON, on a Unix socket (and optionally loopback TCP).
//!
//! Every error is JSON, `{"error": {"field": …, "message": …}}`, with a 4xx status when the request
//! was wrong and 5xx when the daemon could not do its part. A payment code never appears in an
//! answer; the agent key is never reachable from here.

use super::events::EventKind;
use super::orders::{Orders, OrdersError};
use crate::api::{self, Command};
use crate::charge::{Charge, InvoiceOptions, Item};
use crate::gateway::Outcome;
use crate::order::{Order, OrderId, StateKind};
use crate::store::{OrderQuery, StoreError};
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, ReceiverStream};

/// Largest JSON body the API reads.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// What the handlers share.
pub struct Api {
    pub orders: Arc<Orders>,
    pub gateway: crate::gateway::Client,
    pub scanner: Arc<super::scanning::ScanService>,
    /// Whether a charge without a payment code starts a scan at once.
    pub scan_on_charge: bool,
    pub started: std::time::Instant,
    /// The POS app's print queue, when the printer is reached through the app.
    pub app_printer: Option<Arc<super::app_printer::AppPrinter>>,
    /// Whether the gateway took a connection lately.
    pub reachability: Arc<super::reachability::Reachability>,
    /// One permit per open event stream, [`MAX_EVENT_STREAMS`] in all.
    pub event_streams: Arc<tokio::sync::Semaphore>,
    pub shifts: Arc<super::shifts::Shifts>,
}

/// Event streams open at once: each holds a connection for as long as it lasts, and the
/// connections are shared with the requests that take charges.
pub const MAX_EVENT_STREAMS: usize = 16;

/// Largest camera frame the API takes.
pub const MAX_FRAME_BODY: usize = 8 * 1024 * 1024;

pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/v1/charges", post(create_charge).get(list_charges))
        .route("/v1/charges/{id}", get(get_charge))
        .route("/v1/charges/{id}/cancel", post(cancel_charge))
        .route("/v1/charges/{id}/reprint", post(reprint_charge))
        .route("/v1/charges/{id}/payment-code", post(give_payment_code))
        .route("/v1/charges/{id}/reconcile", post(reconcile_charge))
        .route("/v1/orders/export", get(export_orders))
        .route("/v1/print-test", post(print_test))
        .route("/v1/scan", post(scan))
        .route("/v1/scan/cancel", post(cancel_scan))
        .route(
            "/v1/frames",
            post(push_frame).layer(axum::extract::DefaultBodyLimit::max(MAX_FRAME_BODY)),
        )
        .route("/v1/wallet/{command}", post(wallet_command))
        .route("/v1/health", get(health))
        .route("/v1/events", get(events))
        .merge(super::print_jobs::routes())
        .merge(super::shifts::routes())
        .merge(super::resolve::routes())
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

/// A JSON error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            field,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// A query string that does not read, with the parameter serde stopped at (it names an
    /// unknown one between backticks) and the parameters the route takes.
    pub fn bad_query(
        rejection: &axum::extract::rejection::QueryRejection,
        parameters: &str,
    ) -> ApiError {
        let text = rejection.body_text();
        let field = text.split('`').nth(1).map(str::to_owned);
        ApiError::new(
            StatusCode::BAD_REQUEST,
            field,
            format!("{text}; {parameters}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"field": self.field, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<OrdersError> for ApiError {
    fn from(e: OrdersError) -> ApiError {
        let message = e.to_string();
        match e {
            OrdersError::Invalid(field) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(field.field.clone()),
                field.to_string(),
            ),
            OrdersError::PaymentCode(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("payment_code".into()),
                message,
            ),
            OrdersError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, None, message),
            OrdersError::Clock(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, message),
            OrdersError::Order(_) => ApiError::new(StatusCode::CONFLICT, None, message),
            OrdersError::Store(StoreError::Duplicate(_)) => {
                ApiError::new(StatusCode::CONFLICT, Some("order_id".into()), message)
            }
            OrdersError::Store(StoreError::Order(_)) => {
                ApiError::new(StatusCode::CONFLICT, None, message)
            }
            OrdersError::Store(StoreError::Cap(_)) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, None, message)
            }
            OrdersError::Store(StoreError::NotFound(_)) => {
                ApiError::new(StatusCode::NOT_FOUND, None, message)
            }
            OrdersError::Store(StoreError::Flush(_) | StoreError::Failed(_)) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, None, message)
            }
            OrdersError::Store(StoreError::DiskFull { .. }) => {
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, None, message)
            }
            OrdersError::Store(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, message)
            }
        }
    }
}

/// A JSON object body read as `T`; a refusal names the field serde stopped at. Only an object
/// is a request: serde would also read a struct from an array, positionally.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), None, rejection.body_text()))?;
        json_object(&headers, &bytes).map(Body)
    }
}

/// Reads a JSON object body as `T`; see [`Body`].
pub(super) fn json_object<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    bytes: &[u8],
) -> Result<T, ApiError> {
    let json_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("Content-Type".into()),
            "the body must be JSON with Content-Type: application/json",
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            format!("the body is not JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            "the body must be a JSON object",
        ));
    }
    typed(value)
}

/// Reads a JSON value as `T`, naming the field serde stopped at.
fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // An unknown field is named by serde in the message, not the path.
        let field = if path == "." {
            inner.split('`').nth(1).map(str::to_owned)
        } else {
            Some(path.clone())
        };
        let message = match &field {
            Some(f) if path != "." => format!("{f}: {inner}"),
            _ => inner,
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, field, message)
    })
}

/// `POST /v1/charges`: the charge, plus an optional order id and payment code. The charge's fields
/// are repeated rather than flattened in, because serde cannot refuse unknown fields of a
/// flattened struct.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargeRequest {
    pub amount: u64,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub discount: u64,
    #[serde(default)]
    pub shipping_fee: u64,
    #[serde(default)]
    pub invoice: InvoiceOptions,
    #[serde(default)]
    pub echo: Vec<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// The POS app's own order id; one is generated when absent.
    #[serde(default)]
    pub order_id: Option<String>,
    /// A payment code already in hand (typed, or read by an external scanner).
    #[serde(default)]
    pub payment_code: Option<String>,
}

impl ChargeRequest {
    /// The charge, the order id asked for, and the payment code in hand.
    pub fn into_parts(self) -> (Charge, Option<String>, Option<String>) {
        let charge = Charge {
            amount: self.amount,
            items: self.items,
            discount: self.discount,
            shipping_fee: self.shipping_fee,
            invoice: self.invoice,
            echo: self.echo,
            user_id: self.user_id,
        };
        (charge, self.order_id, self.payment_code)
    }
}

/// An order as the POS app sees it: never with its payment code.
#[derive(Debug, Serialize)]
pub struct OrderView {
    pub order_id: String,
    pub state: StateKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub amount: u64,
    pub attempts: u32,
    pub created_at: u64,
    pub updated_at: u64,
    pub charge: Charge,
    pub receipt: crate::order::Receipt,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Value>,
    pub history: Vec<crate::order::Transition>,
    /// Charged against the gateway simulator: no money moved.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// How a person resolved the order after it needed attention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<crate::order::Resolution>,
}

impl From<&Order> for OrderView {
    fn from(order: &Order) -> OrderView {
        OrderView {
            order_id: order.id().to_string(),
            state: order.state().kind(),
            reason: match order.state() {
                crate::order::State::NeedsAttention { reason } => Some(reason.clone()),
                _ => None,
            },
            amount: order.charge().amount,
            attempts: order.attempts(),
            created_at: order.created_at().as_millis(),
            updated_at: order.updated_at().as_millis(),
            charge: order.charge().clone(),
            receipt: order.receipt().clone(),
            gateway: order.last_answer().map(|a| a.raw.clone()),
            history: order.history().to_vec(),
            simulated: order.simulated(),
            resolution: order.resolution().cloned(),
        }
    }
}

fn view(order: &Order) -> Json<OrderView> {
    Json(OrderView::from(order))
}

async fn create_charge(
    State(api): State<Arc<Api>>,
    Body(request): Body<Value>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    check_invoice_tags(&request)?;
    let request: ChargeRequest = typed(request)?;
    let (charge, order_id, payment_code) = request.into_parts();
    // The scanner is taken before the charge is stored: a charge whose scan cannot start is
    // refused, rather than stored to wait for a scan that never comes.
    let slot = match payment_code.is_none() && api.scan_on_charge {
        true => Some(
            api.scanner
                .reserve(order_id.as_deref())
                .map_err(scan_refused)?,
        ),
        false => None,
    };
    let order = api.orders.create(charge, order_id, payment_code).await?;
    if let Some(slot) = slot {
        slot.assign(order.id().as_str());
        scan_for_order(api.clone(), slot, order.id().to_string());
    }
    Ok((StatusCode::CREATED, view(&order)))
}

/// serde reads the tag of an internally tagged enum from a number too (the variant's index), and
/// lets a variant without fields carry any: the invoice's `type` and the carrier's `kind` must be
/// names, and `none`, `store_default` and `member` stand alone.
fn check_invoice_tags(request: &Value) -> Result<(), ApiError> {
    let checks = [
        ("invoice", "type", &["none", "store_default"][..]),
        ("invoice.carrier", "kind", &["member"][..]),
    ];
    for (path, tag, alone) in checks {
        let object = path
            .split('.')
            .try_fold(request, |value, key| value.get(key))
            .and_then(Value::as_object);
        let Some(object) = object else { continue };
        let field = format!("{path}.{tag}");
        match object.get(tag) {
            None => {}
            Some(Value::String(name)) => {
                if let Some(extra) = alone
                    .contains(&name.as_str())
                    .then(|| object.keys().find(|key| *key != tag))
                    .flatten()
                {
                    let field = format!("{path}.{extra}");
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Some(field.clone()),
                        format!(
                            "{field}: unknown field; {path} of {tag} {name:?} has no other field"
                        ),
                    ));
                }
            }
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Some(field.clone()),
                    format!("{field}: must be a name (a string)"),
                ));
            }
        }
    }
    Ok(())
}

/// The most orders one page of `GET /v1/charges` holds, and how many it holds unless asked.
const MAX_PAGE: usize = 1000;
const DEFAULT_PAGE: usize = 100;

/// `GET /v1/charges?state=&after=&limit=`, read as text so that each bad value is refused by name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    fn into_query(self) -> Result<OrderQuery, ApiError> {
        let bad = |field: &str, message: String| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Some(field.into()),
                format!("{field}: {message}"),
            )
        };
        let state = self
            .state
            .map(|state| {
                serde_json::from_value::<StateKind>(Value::String(state.clone())).map_err(|_| {
                    bad(
                        "state",
                        format!("{state:?} is not a state; states: {}", state_names()),
                    )
                })
            })
            .transpose()?;
        let after = self
            .after
            .map(|after| OrderId::parse(after).map_err(|e| bad("after", e.problem)))
            .transpose()?;
        let limit = match self.limit {
            None => DEFAULT_PAGE,
            Some(limit) => match limit.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(bad(
                        "limit",
                        format!("{limit:?} is not a whole number from 1 to {MAX_PAGE}"),
                    ));
                }
            },
        };
        Ok(OrderQuery {
            state,
            after,
            limit,
        })
    }
}

/// `GET /v1/charges`: one page of orders in id order; a full page means there may be more, after
/// its last order's id.
async fn list_charges(
    State(api): State<Arc<Api>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<OrderView>>, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::bad_query(&e, "the parameters are state, after and limit"))?;
    let orders = api.orders.list(query.into_query()?).await?;
    Ok(Json(orders.iter().map(OrderView::from).collect()))
}

/// The states as the API spells them.
fn state_names() -> String {
    StateKind::ALL
        .iter()
        .map(|kind| serde_json::to_value(kind).expect("state kinds serialise"))
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn get_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(view(&api.orders.get(&id).await?))
}

async fn cancel_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = api.orders.cancel(&id).await?;
    api.scanner.cancel_for(&id);
    Ok(view(&order))
}

async fn reprint_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(view(&api.orders.reprint(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentCodeBody {
    payment_code: String,
}

async fn give_payment_code(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    Body(body): Body<PaymentCodeBody>,
) -> Result<Json<OrderView>, ApiError> {
    let masked = super::orders::mask(&body.payment_code);
    let order = api.orders.payment_code(&id, body.payment_code).await?;
    api.orders.events().publish(
        super::events::Event::new(EventKind::CodeRead)
            .order(id)
            .detail(masked),
    );
    Ok(view(&order))
}

async fn reconcile_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = api.orders.get(&id).await?;
    api.orders.reconcile_now(&id)?;
    Ok(view(&order))
}

/// Scans in the background and hands the code to the order; the code never leaves the daemon.
pub fn scan_for_order(api: Arc<Api>, slot: super::scanning::ScanSlot, id: String) {
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
struct ScanBody {
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
async fn scan(
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
fn scan_refused(e: super::scanning::ScanFailure) -> ApiError {
    let status = match e {
        super::scanning::ScanFailure::Busy(_) => StatusCode::CONFLICT,
        super::scanning::ScanFailure::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, None, e.to_string())
}

/// `POST /v1/scan/cancel`: stops the running scan, if any; its order keeps waiting for a code.
async fn cancel_scan(State(api): State<Arc<Api>>) -> Json<Value> {
    let cancelled = api.scanner.cancel();
    Json(json!({"cancelled": cancelled}))
}

/// `POST /v1/frames?format=&width=&height=&stride=`, read as text so that each bad value is
/// refused by name.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FrameQuery {
    format: Option<String>,
    width: Option<String>,
    height: Option<String>,
    stride: Option<String>,
}

/// `POST /v1/frames`: a camera frame for the running scan: JPEG, PNG, or the camera's own bytes
/// (`application/octet-stream` with `?format=grey|nv21&width=&height=&stride=`).
async fn push_frame(
    State(api): State<Arc<Api>>,
    query: Result<Query<FrameQuery>, axum::extract::rejection::QueryRejection>,
    headers: axum::http::HeaderMap,
    bytes: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    use crate::scan::source::{PushedFrame, RawFrame, RawLayout};
    let Query(query) = query.map_err(|e| {
        ApiError::bad_query(&e, "the parameters are format, width, height and stride")
    })?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bytes = Vec::from(bytes);
    let frame = match content_type {
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
    api.scanner
        .push(frame)
        .await
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, None, e))?;
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": true}))))
}

/// `POST /v1/print-test`: the test page goes to the printer queue.
async fn print_test(State(api): State<Arc<Api>>) -> (StatusCode, Json<Value>) {
    api.orders.print(super::printing::PrintRequest::TestPage);
    (StatusCode::ACCEPTED, Json(json!({"queued": "test page"})))
}

/// `GET /v1/orders/export`: every final order as one JSON line, for accounting, streamed as the
/// store is read.
async fn export_orders(State(api): State<Arc<Api>>) -> Response {
    let chunks = api.orders.export_final(|order| {
        let mut line = serde_json::to_vec(&OrderView::from(order)).expect("views serialise");
        line.push(b'\n');
        line
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(ReceiverStream::new(chunks)),
    )
        .into_response()
}

/// The fields the POS app may send with each wallet command: the gateway's request fields, less
/// those the daemon fills in (`type` of `api/ewallet`).
const EWALLET_FIELDS: &[&str] = &["user_id", "homepage_url", "return_url"];
const FORGOT_TP_FIELDS: &[&str] = &["user_id", "homepage_url"];
const MEMBER_STATUS_FIELDS: &[&str] = &["user_id"];
const ONLINE_DEAL_FIELDS: &[&str] = &[
    "store_uid",
    "cost",
    "currency",
    "order_id",
    "items",
    "echo_0",
    "echo_1",
    "echo_2",
    "echo_3",
    "echo_4",
    "user_id",
    "user_name",
    "user_real_name",
    "user_english_name",
    "user_zipcode",
    "user_address",
    "user_sn_type",
    "user_sn",
    "user_phone",
    "user_cellphone_code",
    "user_cellphone",
    "user_email",
    "user_birthday",
    "ip",
    "return_url",
    "success_returl",
    "failure_returl",
    "homepage_url",
    "issue_invoice_state",
    "invoice_ratetype",
    "invoice_input_type",
    "invoice_cloud_type",
    "invoice_tax_id",
    "invoice_mobile_code",
    "invoice_natural_person",
    "invoice_m_post_zone",
    "invoice_m_address",
    "invoice_love_code",
    "invoice_b2b_title",
    "invoice_b2b_id",
    "invoice_b2b_post_zone",
    "invoice_b2b_address",
];
const VERIFICATION_FIELDS: &[&str] = &[
    "country_code",
    "store_uid",
    "method_type",
    "user_id",
    "user_sn_type",
    "user_sn",
    "user_phone",
    "user_cellphone",
    "user_email",
    "bank_code",
    "tix",
    "ip",
    "success_returl",
    "failure_returl",
    "homepage_url",
];

/// The gateway command behind `/v1/wallet/{name}`, the `type` the daemon adds, and the fields the
/// POS app may send.
pub fn wallet_command_named(
    name: &str,
) -> Option<(Command, Option<&'static str>, &'static [&'static str])> {
    Some(match name {
        "bind" => (Command::EWallet, Some("bind"), EWALLET_FIELDS),
        "pay" => (Command::EWallet, Some("pay"), EWALLET_FIELDS),
        "directdeal" => (Command::DirectDeal, None, ONLINE_DEAL_FIELDS),
        "shoppingdeal" => (Command::ShoppingDeal, None, ONLINE_DEAL_FIELDS),
        "verification" => (Command::Verification, None, VERIFICATION_FIELDS),
        "forgottp" => (Command::ForgotTp, None, FORGOT_TP_FIELDS),
        "memberstatus" => (Command::MemberStatus, None, MEMBER_STATUS_FIELDS),
        _ => return None,
    })
}

/// `POST /v1/wallet/{command}`: one e-wallet command, answered as the gateway answered.
async fn wallet_command(
    State(api): State<Arc<Api>>,
    Path(command): Path<String>,
    Body(mut body): Body<Value>,
) -> Result<Json<Value>, ApiError> {
    let Some((command, kind, fields)) = wallet_command_named(&command) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Some("command".into()),
            format!(
                "no wallet command {command:?}; use bind, pay, directdeal, shoppingdeal, verification, forgottp or memberstatus"
            ),
        ));
    };
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            "the body must be a JSON object",
        ));
    };
    let print_link = super::wallet_link::take(object, command, kind)?;
    // The gateway's types read the flattened blocks of a deal leniently and so cannot refuse an
    // unknown field themselves; a misspelt optional field would otherwise vanish unnoticed.
    if let Some(unknown) = object.keys().find(|key| !fields.contains(&key.as_str())) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(unknown.clone()),
            format!(
                "{unknown}: unknown field; this command takes {}",
                fields.join(", ")
            ),
        ));
    }
    if let Some(kind) = kind {
        object.insert("type".into(), Value::String(kind.into()));
    }
    if matches!(
        command,
        Command::DirectDeal | Command::ShoppingDeal | Command::Verification
    ) {
        object
            .entry("store_uid")
            .or_insert_with(|| Value::String(api.gateway.config().store_uid.clone()));
    }
    api::check_body(command, &body).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(e.field.clone()),
            e.to_string(),
        )
    })?;
    match api.gateway.call_json(command, &body).await {
        Outcome::Answered(answer) => Ok(Json(match print_link {
            Some(caption) => super::wallet_link::print(&api, caption, answer),
            None => answer,
        })),
        Outcome::NotSent(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            None,
            format!("not sent to the gateway (safe to retry): {e}"),
        )),
        Outcome::Unknown(e) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            None,
            format!("the gateway's answer was lost: {e}"),
        )),
    }
}

async fn health(State(api): State<Arc<Api>>) -> Result<Json<Value>, ApiError> {
    let queue = api.orders.queue_summary().await?;
    let url = &api.gateway.config().url;
    let reachable = api.reachability.reachable().await;
    Ok(Json(json!({
        "status": "ok",
        "uptime_secs": api.started.elapsed().as_secs(),
        "gateway": {
            "url": url.as_str(),
            "reachable": reachable,
            "requests": api.orders.gate(),
            "simulator": api.orders.simulated(),
        },
        "storage": {
            "free_bytes": api.orders.store().free_bytes().ok(),
            "reserve_bytes": api.orders.store().reserve(),
        },
        "printer": match &api.app_printer {
            Some(link) => {
                let mut view = super::print_jobs::state_view(link);
                view["transport"] = json!("app");
                view
            }
            None => json!({"transport": "device"}),
        },
        "queue": {
            "unfinished": queue.unfinished,
            "oldest_unfinished": queue.oldest_unfinished.map(|o| json!({"order_id": o.id.to_string(), "state": o.state.kind(), "created_at": o.created_at.as_millis()})),
            "needs_attention": queue.needs_attention,
        },
    })))
}

/// `GET /v1/events`: server-sent events, one JSON object per event; `429` beyond
/// [`MAX_EVENT_STREAMS`] open at once.
async fn events(State(api): State<Arc<Api>>) -> Response {
    let Ok(permit) = api.event_streams.clone().try_acquire_owned() else {
        let mut refusal = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!("{MAX_EVENT_STREAMS} event streams are open already; close one first"),
        )
        .into_response();
        // The connection is not left idle, holding a slot, after the refusal.
        refusal.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return refusal;
    };
    let bus = api.orders.events().clone();
    let stream = BroadcastStream::new(bus.subscribe()).map(move |event| {
        // The stream holds its slot until the client goes and the stream is dropped.
        let _slot = &permit;
        let event = match event {
            Ok(event) => event,
            Err(BroadcastStreamRecvError::Lagged(count)) => bus.missed(count),
        };
        let name = serde_json::to_value(&event.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{:?}", EventKind::Created));
        Ok::<_, std::convert::Infallible>(
            SseEvent::default()
                .event(name)
                .json_data(&event)
                .expect("events serialise"),
        )
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
