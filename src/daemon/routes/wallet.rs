//! `/v1/wallet/{command}`: the e-wallet commands, passed on to the gateway.

use super::Api;
use super::error::ApiError;
use super::error::Body;
use crate::api;
use crate::api::Command;
use crate::gateway::Outcome;
use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use std::sync::Arc;

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
pub(super) async fn wallet_command(
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
    let print_link = crate::daemon::wallet_link::take(object, command, kind)?;
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
            Some(caption) => crate::daemon::wallet_link::print(&api, caption, answer),
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
