//! Responses. Read leniently (numbers as `10` or `"10"`, empty strings for absent values), except for
//! amounts, which must be whole TWD. Fields this version does not know are kept in `extra`.

use super::Code;
use super::lenient::{Twd, opt, opt_bool, opt_text};
use super::request::Item;
use super::values::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The answer to `api/transaction` (『線下掃碼收款』回傳欄位), also one row of `api/querydirect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionResponse {
    pub code: Code,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg: Option<String>,
    /// The gateway's transaction serial number (a number or a string on the wire).
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub uid: Option<String>,
    /// 交易驗証碼: an opaque token later calls send back.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub key: Option<String>,
    /// `YYYYMMDDHHmmss`.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub finishtime: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub cardno: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub acode: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub card_type: Option<CardType>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub issuing_bank: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub issuing_bank_uid: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub transaction_mode: Option<TransactionMode>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub supplier_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub supplier_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub order_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub cost: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub currency: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_cost: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_currency: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub pfn: Option<PaymentName>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub trans_type: Option<TransType>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_type: Option<ResultType>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_content_type: Option<PaymentName>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_content: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub echo_0: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub echo_1: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub echo_2: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub echo_3: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub echo_4: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_state: Option<InvoiceState>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_state_msg: Option<String>,
    /// `YYYYMMDDHHmmss`.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_date: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_wordtrack: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_number: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_rand_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_seller_ban: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_buyer_ban: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_left_qrcode: Option<String>,
    /// The Code 39 text, printed exactly as sent.
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_middle_barcode: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_right_qrcode: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_title_type: Option<InvoiceTitleType>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_title: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_print_type: Option<InvoicePrintType>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_print_device: Option<InvoicePrintDevice>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_amount: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_sales_amount: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_tax_amount: Option<Twd>,
    /// JSON text: a list of 『商品細項』 (see [`InvoiceDetailLine`]).
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_order_detail: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_ratetype: Option<InvoiceRateType>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_input_type: Option<InvoiceInputType>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_cloud_type: Option<CloudInvoiceType>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_mobile_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_tax_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_natural_person: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_m_post_zone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_m_address: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_love_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_b2b_title: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_b2b_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_b2b_post_zone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub invoice_b2b_address: Option<String>,
    /// Fields this version does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TransactionResponse {
    /// An answer with only a code and a message, as the gateway sends for refused requests.
    pub fn bare(code: Code, msg: impl Into<String>) -> TransactionResponse {
        serde_json::from_value(serde_json::json!({"code": code, "msg": msg.into()}))
            .expect("a code and a message always make a transaction response")
    }

    /// The invoice's item lines, from the JSON text in `invoice_order_detail`.
    pub fn invoice_detail(&self) -> Result<Vec<InvoiceDetailLine>, serde_json::Error> {
        match self.invoice_order_detail.as_deref() {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(text),
        }
    }
}

/// 『商品細項』: one line of `invoice_order_detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceDetailLine {
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Quantity", deserialize_with = "super::lenient::whole")]
    #[serde(serialize_with = "super::lenient::as_text")]
    pub quantity: u64,
    #[serde(rename = "UnitPrice")]
    pub unit_price: Twd,
    #[serde(rename = "Amount")]
    pub amount: Twd,
}

/// The answer to `api/querydirect`: `B200` with the matching transactions, `B500` when none match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryDirectResponse {
    pub code: Code,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The answer to `api/memberstatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatusResponse {
    pub code: Code,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg: Option<String>,
    /// Whether the member has bound a card.
    #[serde(
        default,
        deserialize_with = "opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// 『電子錢包交易/退款完成通知』: what the gateway posts to `return_url` when a wallet payment or
/// refund completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalletNotification {
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    pub code: Code,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_cost: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub actual_currency: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub finishtime: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_uid: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub store_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub order_id: Option<String>,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
