//! `/v1/charges…` and `/v1/orders/export`: charges, their views and the accounting export.

use super::Api;
use super::error::ApiError;
use super::error::Body;
use super::error::typed;
use super::scan::scan_for_order;
use super::scan::scan_refused;
use crate::charge::Charge;
use crate::charge::InvoiceOptions;
use crate::charge::Item;
use crate::daemon::events::EventKind;
use crate::order::Order;
use crate::order::OrderId;
use crate::order::StateKind;
use crate::store::OrderQuery;
use axum::Json;
use axum::extract::Path;
use axum::extract::Query;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio_stream::wrappers::ReceiverStream;

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
    pub gateway: Option<Box<RawValue>>,
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

pub(super) fn view(order: &Order) -> Json<OrderView> {
    Json(OrderView::from(order))
}

pub(super) async fn create_charge(
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
pub(super) struct ListQuery {
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
pub(super) async fn list_charges(
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

pub(super) async fn get_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(view(&api.orders.get(&id).await?))
}

pub(super) async fn cancel_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = api.orders.cancel(&id).await?;
    api.scanner.cancel_for(&id);
    Ok(view(&order))
}

pub(super) async fn reprint_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(view(&api.orders.reprint(&id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PaymentCodeBody {
    payment_code: String,
}

pub(super) async fn give_payment_code(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    Body(body): Body<PaymentCodeBody>,
) -> Result<Json<OrderView>, ApiError> {
    // Masked as it is taken: a scanner's trailing newline would shift what the mask shows.
    let masked = crate::daemon::orders::mask(body.payment_code.trim());
    let order = api.orders.payment_code(&id, body.payment_code).await?;
    api.orders.events().publish(
        crate::daemon::events::Event::new(EventKind::CodeRead)
            .order(id)
            .detail(masked),
    );
    Ok(view(&order))
}

pub(super) async fn reconcile_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = api.orders.get(&id).await?;
    api.orders.reconcile_now(&id)?;
    Ok(view(&order))
}

/// `GET /v1/orders/export`: every final order as one JSON line, for accounting, streamed as the
/// store is read.
pub(super) async fn export_orders(State(api): State<Arc<Api>>) -> Response {
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
