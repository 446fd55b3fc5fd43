//! `POST /v1/charges/{id}/resolve`: a person's resolution of an order that needs attention.
//!
//! The gateway is asked once more (`api/querydirect`) before anything changes, and its answer is
//! kept with the order whatever comes of the request. An answer that settles the charge the other
//! way refuses the resolution (`409`); a gateway that cannot say (unreachable, a failed query, a
//! charge it has not settled yet) refuses it too (`503`), unless the person forces it, which the
//! audit records.

use super::Api;
use super::charges::OrderView;
use super::error::{ApiError, Body};
use crate::api::Code;
use crate::clock;
use crate::daemon::events::{Event, EventKind};
use crate::daemon::orders::{Orders, OrdersError};
use crate::daemon::printing::PrintRequest;
use crate::gateway::Outcome;
use crate::order::resolution::check_person;
use crate::order::{
    Agreement, GatewayAnswer, GatewayCheck, Order, QueryResult, Resolution, Verdict,
};
use crate::receipt::InvoiceAnswer;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub fn routes() -> Router<Arc<Api>> {
    Router::new().route("/v1/charges/{id}/resolve", post(resolve_charge))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    resolution: Verdict,
    by: String,
    #[serde(default, deserialize_with = "super::scan::present")]
    note: Option<String>,
    /// Resolve even though the gateway could not say how the charge stands.
    #[serde(default)]
    force: bool,
}

/// The resolved order, and whether its receipt is on its way to the printer.
#[derive(Serialize)]
struct Resolved {
    order: OrderView,
    receipt: ReceiptOutlook,
}

#[derive(Serialize)]
struct ReceiptOutlook {
    printing: bool,
    message: String,
}

async fn resolve_charge(
    State(api): State<Arc<Api>>,
    Path(id): Path<String>,
    Body(body): Body<ResolveBody>,
) -> Result<Json<Resolved>, ApiError> {
    check_person(&body.by, body.note.as_deref()).map_err(OrdersError::from)?;
    let orders = &api.orders;
    let order = orders.get(&id).await?;
    if !order.needs_attention() {
        // The same refusal the order gives once it is changed under its lock.
        return Err(not_resolvable(&order).into());
    }
    let (check, found) = ask_gateway(orders, &order).await;
    let agreement = check.judge(body.resolution);
    let forced = matches!(agreement, Agreement::Unsettled(_));
    let refusal = match agreement {
        Agreement::Agrees => None,
        Agreement::Contradicts(why) => Some((StatusCode::CONFLICT, why)),
        Agreement::Unsettled(_) if body.force => None,
        Agreement::Unsettled(why) => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{why}; ask again later, or send \"force\": true to resolve it anyway"),
        )),
    };
    if let Some((status, why)) = refusal {
        if let Some(answer) = found {
            orders
                .update(&id, move |order| order.gateway_rechecked(answer))
                .await?;
        }
        return Err(ApiError::new(
            status,
            Some("resolution".into()),
            format!(
                "order {id} cannot be resolved as {}: {why}",
                body.resolution
            ),
        ));
    }
    let resolution = Resolution {
        resolved_as: body.resolution,
        by: body.by.trim().to_owned(),
        note: body.note,
        at: clock::now(),
        gateway: check,
        forced,
    };
    let invoice = einvoice_known(found.as_ref().or(order.last_answer()));
    let owes_receipt = body.resolution == Verdict::Paid && invoice;
    let order = orders
        .update(&id, move |order| {
            if let Some(answer) = found {
                order.gateway_rechecked(answer)?;
            }
            order.resolve(resolution, owes_receipt)
        })
        .await?;
    if owes_receipt {
        orders.print(PrintRequest::Order(order.id().clone()));
    }
    let by = order.resolution().map_or("", |r| r.by.as_str());
    orders.events().publish(
        Event::new(EventKind::Resolved)
            .order(order.id().as_str())
            .detail(format!("{} by {by}", body.resolution))
            .waiting_for_a_person(orders.store().needs_attention_count()),
    );
    let message = match (body.resolution, invoice) {
        (Verdict::Paid, true) => "the receipt goes to the printer".to_owned(),
        (Verdict::Paid, false) => {
            "no e-invoice is known for this order (the gateway's answers carry none issued), so no \
             receipt is printed"
                .to_owned()
        }
        (Verdict::NotPaid, _) => "an order not paid has no receipt".to_owned(),
    };
    Ok(Json(Resolved {
        order: OrderView::from(&order),
        receipt: ReceiptOutlook {
            printing: owes_receipt,
            message,
        },
    }))
}

fn not_resolvable(order: &Order) -> OrdersError {
    OrdersError::Order(crate::order::OrderError::NotResolvable {
        id: order.id().clone(),
        state: order.state().clone(),
    })
}

/// Asks `api/querydirect` once, outside the gate: a person waits for this answer, and one query
/// cannot flood a gateway that is down. The row found, if any, is the answer to keep.
async fn ask_gateway(orders: &Orders, order: &Order) -> (GatewayCheck, Option<GatewayAnswer>) {
    let unanswered = |why: String| (GatewayCheck::Unanswered { why }, None);
    match orders.querydirect(order).await {
        Outcome::NotSent(e) => unanswered(format!("not sent ({e})")),
        Outcome::Unknown(e) => unanswered(format!("the answer was lost ({e})")),
        Outcome::Answered(raw) => match orders.read_query(order, &raw) {
            QueryResult::Found { code, answer } => {
                let check = GatewayCheck::Found {
                    code: code.clone(),
                    msg: text_field(&answer, "msg"),
                };
                let kept = GatewayAnswer::new(code, &answer, clock::now());
                (check, Some(kept))
            }
            QueryResult::NotFound => (GatewayCheck::NotFound, None),
            QueryResult::NotSent | QueryResult::Unknown => {
                let code = raw
                    .get("code")
                    .and_then(|code| serde_json::from_value::<Code>(code.clone()).ok());
                let said = match (code, text_field(&raw, "msg")) {
                    (Some(code), Some(msg)) => format!("{code} ({msg})"),
                    (Some(code), None) => code.to_string(),
                    (None, _) => "no readable code".to_owned(),
                };
                unanswered(format!("the query answered {said}"))
            }
        },
    }
}

fn text_field(answer: &Value, name: &str) -> Option<String> {
    answer
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// Whether the answer carries an issued e-invoice, which a paid order's receipt prints.
fn einvoice_known(answer: Option<&GatewayAnswer>) -> bool {
    let Some(answer) = answer else {
        return false;
    };
    InvoiceAnswer::from_json(answer.raw.get()).is_ok_and(|invoice| {
        invoice.invoice.invoice_number.is_some()
            && invoice
                .invoice
                .invoice_state
                .is_none_or(|state| state == crate::api::values::InvoiceState::Issued)
    })
}
