//! Responses. Read leniently (numbers as `10` or `"10"`, empty strings for absent values), except for
//! amounts, which must be whole TWD. Fields this version does not know are kept in `extra`.

use super::Code;
use super::fields::wire_message;
use super::lenient::{self, Twd};
use super::request::Item;
use super::values::*;
use super::{InvoiceFields, InvoiceRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

wire_message! {
    /// The answer to `api/transaction` (『線下掃碼收款』回傳欄位), also one row of `api/querydirect`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct TransactionResponse {
        pub code: Code = required,
        pub msg: Option<String> = lenient,
        /// The gateway's transaction serial number (a number or a string on the wire).
        pub uid: Option<String> = lenient,
        /// 交易驗証碼: an opaque token later calls send back.
        pub key: Option<String> = lenient,
        /// `YYYYMMDDHHmmss`.
        pub finishtime: Option<String> = lenient,
        pub cardno: Option<String> = lenient,
        pub acode: Option<String> = lenient,
        pub card_type: Option<CardType> = lenient,
        pub issuing_bank: Option<String> = lenient,
        pub issuing_bank_uid: Option<String> = lenient,
        pub transaction_mode: Option<TransactionMode> = lenient,
        pub supplier_name: Option<String> = lenient,
        pub supplier_code: Option<String> = lenient,
        pub order_id: Option<String> = lenient,
        pub user_id: Option<String> = lenient,
        pub cost: Option<Twd> = lenient,
        pub currency: Option<String> = lenient,
        pub actual_cost: Option<Twd> = lenient,
        pub actual_currency: Option<String> = lenient,
        pub pfn: Option<PaymentName> = lenient,
        pub trans_type: Option<TransType> = lenient,
        pub result_type: Option<ResultType> = lenient,
        pub result_content_type: Option<PaymentName> = lenient,
        pub result_content: Option<String> = lenient,
        pub echo_0: Option<String> = lenient,
        pub echo_1: Option<String> = lenient,
        pub echo_2: Option<String> = lenient,
        pub echo_3: Option<String> = lenient,
        pub echo_4: Option<String> = lenient,
        #[flatten]
        /// The invoice as issued.
        pub invoice: InvoiceFields,
        #[flatten]
        /// The buyer's choice of invoice, as the request sent it.
        pub requested_invoice: InvoiceRequest,
        #[extra]
        /// Fields this version does not know, kept as sent.
        pub extra: Map<String, Value>,
    }
}

impl TransactionResponse {
    /// An answer with only a code and a message, as the gateway sends for refused requests.
    pub fn bare(code: Code, msg: impl Into<String>) -> TransactionResponse {
        serde_json::from_value(serde_json::json!({"code": code, "msg": msg.into()}))
            .expect("a code and a message always make a transaction response")
    }
}

/// The answer to `api/querydirect`: `B200` with the matching transactions, `B500` when none match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryDirectResponse {
    pub code: Code,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default)]
    pub rows: Vec<TransactionResponse>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to `api/ewallet`, `api/directdeal`, `api/shoppingdeal`, `api/verification` and
/// `api/forgottp`: a code and the URL the customer opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalletResponse {
    pub code: Code,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to `api/memberstatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatusResponse {
    pub code: Code,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// Whether the member has bound a card.
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub status: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// 『電子錢包交易/退款完成通知』: what the gateway posts to `return_url` when a wallet payment or
/// refund completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalletNotification {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub code: Code,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub actual_cost: Option<Twd>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub actual_currency: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub finishtime: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub store_uid: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
