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
use crate::order::{Order, StateKind};
use crate::store::StoreError;
use axum::extract::rejection::JsonRejection;
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
use tokio_stream::wrappers::BroadcastStream;

/// Largest JSON body the API reads.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// What the handlers share.
pub struct Api {
    pub orders: Arc<Orders>,
    pub gateway: crate::gateway::Client,
    pub started: std::time::Instant,
}

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
        .route("/v1/wallet/{command}", post(wallet_command))
        .route("/v1/health", get(health))
        .route("/v1/events", get(events))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                None,
                "no such endpoint; see /v1/health and the API description",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(api)
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
            OrdersError::Store(StoreError::Flush(_)) => {
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, None, message)
            }
            OrdersError::Store(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, message)
            }
        }
    }
}

/// A JSON body whose rejection is one of our errors, naming the field serde stopped at.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => {
                let status = rejection.status();
                let text = rejection.body_text();
                // serde_path_to_error puts the path first: "Failed to deserialize …: items[0].name: …"
                let field = text
                    .split(": ")
                    .nth(1)
                    .filter(|p| !p.contains(' '))
                    .map(str::to_owned);
                Err(ApiError::new(status, field, text))
            }
        }
    }
}

/// `POST /v1/charges`: the charge, plus an optional order id and payment code.
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
        }
    }
}

fn view(order: &Order) -> Json<OrderView> {
    Json(OrderView::from(order))
}

async fn create_charge(
    State(api): State<Arc<Api>>,
    Body(request): Body<ChargeRequest>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let charge = Charge {
        amount: request.amount,
        items: request.items,
        discount: request.discount,
        shipping_fee: request.shipping_fee,
        invoice: request.invoice,
        echo: request.echo,
        user_id: request.user_id,
    };
    let order = api
        .orders
        .create(charge, request.order_id, request.payment_code)
        .await?;
    Ok((StatusCode::CREATED, view(&order)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<StateKind>,
}

async fn list_charges(
    State(api): State<Arc<Api>>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<OrderView>>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Some("state".into()),
            format!("{}; states: {}", e.body_text(), state_names()),
        )
    })?;
    let orders = api.orders.list(query.state).await?;
    Ok(Json(orders.iter().map(OrderView::from).collect()))
}

fn state_names() -> String {
    StateKind::ALL
        .iter()
        .map(|k| k.to_string())
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
    Ok(view(&api.orders.cancel(&id).await?))
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
    Ok(view(
        &api.orders.payment_code(&id, body.payment_code).await?,
    ))
}

async fn reconcile_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = api.orders.get(&id).await?;
    api.orders.reconcile_now(&id)?;
    Ok(view(&order))
}

/// `POST /v1/print-test`: the test page goes to the printer queue.
async fn print_test(State(api): State<Arc<Api>>) -> (StatusCode, Json<Value>) {
    api.orders.print(super::printing::PrintRequest::TestPage);
    (StatusCode::ACCEPTED, Json(json!({"queued": "test page"})))
}

/// `GET /v1/orders/export`: every final order as one JSON line, for accounting.
async fn export_orders(State(api): State<Arc<Api>>) -> Result<Response, ApiError> {
    let orders = api.orders.list(None).await?;
    let mut lines = String::new();
    for order in orders.iter().filter(|o| o.is_final()) {
        lines.push_str(&serde_json::to_string(&OrderView::from(order)).expect("views serialise"));
        lines.push('\n');
    }
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        lines,
    )
        .into_response())
}

/// `POST /v1/wallet/{command}`: one e-wallet command, answered as the gateway answered.
async fn wallet_command(
    State(api): State<Arc<Api>>,
    Path(command): Path<String>,
    Body(mut body): Body<Value>,
) -> Result<Json<Value>, ApiError> {
    let (command, kind) = match command.as_str() {
        "bind" => (Command::EWallet, Some("bind")),
        "pay" => (Command::EWallet, Some("pay")),
        "directdeal" => (Command::DirectDeal, None),
        "shoppingdeal" => (Command::ShoppingDeal, None),
        "verification" => (Command::Verification, None),
        "forgottp" => (Command::ForgotTp, None),
        "memberstatus" => (Command::MemberStatus, None),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                Some("command".into()),
                format!(
                    "no wallet command {other:?}; use bind, pay, directdeal, shoppingdeal, verification, forgottp or memberstatus"
                ),
            ));
        }
    };
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            "the body must be a JSON object",
        ));
    };
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
        Outcome::Answered(answer) => Ok(Json(answer)),
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
    let open = api.orders.list(None).await?;
    let unfinished: Vec<&Order> = open.iter().filter(|o| !o.is_final()).collect();
    let oldest = unfinished.iter().min_by_key(|o| o.created_at());
    let needs_attention = open
        .iter()
        .filter(|o| o.state().kind() == StateKind::NeedsAttention)
        .count();
    let url = &api.gateway.config().url;
    let reachable = match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => {
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect((host, port)),
            )
            .await
            .is_ok_and(|c| c.is_ok())
        }
        _ => false,
    };
    Ok(Json(json!({
        "status": "ok",
        "uptime_secs": api.started.elapsed().as_secs(),
        "gateway": {"url": url.as_str(), "reachable": reachable},
        "queue": {
            "unfinished": unfinished.len(),
            "oldest_unfinished": oldest.map(|o| json!({"order_id": o.id().to_string(), "state": o.state().kind(), "created_at": o.created_at().as_millis()})),
            "needs_attention": needs_attention,
        },
    })))
}

/// `GET /v1/events`: server-sent events, one JSON object per event.
async fn events(State(api): State<Arc<Api>>) -> impl IntoResponse {
    let stream = BroadcastStream::new(api.orders.events().subscribe()).filter_map(|event| {
        let event = event.ok()?;
        let name = serde_json::to_value(&event.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{:?}", EventKind::Created));
        Some(Ok::<_, std::convert::Infallible>(
            SseEvent::default()
                .event(name)
                .json_data(&event)
                .expect("events serialise"),
        ))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
