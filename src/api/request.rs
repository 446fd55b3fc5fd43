//! Requests: the `encry_data` body of every command.

use super::InvoiceRequest;
use super::lenient::{self, Lenient, Twd, count};
use super::validate::{self, FieldError};
use super::values::*;
pub use crate::payment_code::PaymentCode;
use serde::{Deserialize, Serialize};

/// 『商品項目』: one line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// Unit price.
    pub cost: Twd,
    /// Quantity.
    #[serde(with = "count")]
    pub amount: u64,
    /// `cost × amount`.
    pub total: Twd,
}

/// `data_json` of an OFFLINE transaction: `{"qrCode": "<scanned text>"}`, carried as a JSON string.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OfflineData {
    pub qr_code: PaymentCode,
}

#[derive(Serialize, Deserialize)]
struct OfflineDataWire {
    #[serde(rename = "qrCode")]
    qr_code: String,
}

impl Serialize for OfflineData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let json = serde_json::to_string(&OfflineDataWire {
            qr_code: self.qr_code.expose().to_owned(),
        })
        .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&json)
    }
}

impl Lenient for OfflineData {
    fn read(sent: lenient::Sent<'_>) -> Result<Option<Self>, String> {
        lenient::typed(sent)
    }
}

impl<'de> Deserialize<'de> for OfflineData {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let wire: OfflineDataWire = serde_json::from_str(&text).map_err(|e| {
            serde::de::Error::custom(format!("data_json is not {{\"qrCode\": …}} ({e})"))
        })?;
        let qr_code = PaymentCode::new(wire.qr_code)
            .map_err(|e| serde::de::Error::custom(format!("data_json.qrCode: {e}")))?;
        Ok(OfflineData { qr_code })
    }
}

/// The consumer fields shared by the payment commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Consumer {
    #[serde(default)]
    pub user_id: String,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_real_name: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_english_name: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_zipcode: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_address: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_sn_type: Option<UserSnType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_sn: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_phone: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_cellphone_code: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_cellphone: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_birthday: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// The order fields shared by the payment commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderFields {
    #[serde(default)]
    pub store_uid: String,
    #[serde(default)]
    pub cost: Twd,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default)]
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub echo_0: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub echo_1: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub echo_2: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub echo_3: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub echo_4: Option<String>,
}

/// `api/transaction` (線下掃碼收款): an offline charge of a scanned payment code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRequest {
    #[serde(flatten)]
    pub order: OrderFields,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub pfn: Option<PaymentName>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub discount: Option<Twd>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub shipping_fee: Option<Twd>,
    #[serde(flatten)]
    pub consumer: Consumer,
    #[serde(flatten)]
    pub invoice: InvoiceRequest,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub agent_sms_fee_type: Option<FeeInclusion>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub agent_charge_fee_type: Option<FeeInclusion>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub agent_charge_fee: Option<Twd>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub is_agent_charge: Option<AgentChargeMode>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub data_json: Option<OfflineData>,
}

/// `api/querydirect`: the store's transactions with this order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryDirectRequest {
    pub store_uid: String,
    pub order_id: String,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub cost: Option<Twd>,
}

/// `api/ewallet` (電子錢包綁定與交易).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EWalletRequest {
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: EWalletType,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    pub homepage_url: String,
}

/// `api/directdeal` (線上直接交易) and `api/shoppingdeal` (線上購物交易): the same fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineDealRequest {
    #[serde(flatten)]
    pub order: OrderFields,
    #[serde(flatten)]
    pub consumer: Consumer,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub success_returl: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub failure_returl: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub homepage_url: Option<String>,
    #[serde(flatten)]
    pub invoice: InvoiceRequest,
}

/// `api/verification` (實名驗證).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRequest {
    pub country_code: String,
    pub store_uid: String,
    pub method_type: VerificationMethod,
    pub user_id: String,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_sn_type: Option<UserSnType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_sn: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_phone: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_cellphone: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub tix: Option<EddaCode>,
    pub ip: String,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub success_returl: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub failure_returl: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub homepage_url: Option<String>,
}

/// `api/forgottp` (忘記交易密碼).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgotTpRequest {
    pub user_id: String,
    pub homepage_url: String,
}

/// `api/memberstatus` (查詢會員電子錢包狀況).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatusRequest {
    pub user_id: String,
}

impl Item {
    fn validate(&self, index: usize) -> Result<(), FieldError> {
        let field = |name: &str| format!("items[{index}].{name}");
        validate::required_text(&field("id"), &self.id)?;
        validate::required_text(&field("name"), &self.name)?;
        if self.amount == 0 {
            return Err(FieldError::new(field("amount"), "must be at least 1"));
        }
        let expected = self.cost.0.checked_mul(self.amount);
        if expected != Some(self.total.0) {
            return Err(FieldError::new(
                field("total"),
                format!(
                    "is {} but cost {} × amount {} is {}",
                    self.total,
                    self.cost,
                    self.amount,
                    expected.map_or_else(|| "too large".to_owned(), |e| e.to_string())
                ),
            ));
        }
        Ok(())
    }
}

impl OrderFields {
    fn validate(&self, discount: Twd, shipping_fee: Twd) -> Result<(), FieldError> {
        validate::required_text("store_uid", &self.store_uid)?;
        validate::order_id("order_id", &self.order_id)?;
        if self.cost.0 == 0 {
            return Err(FieldError::new(
                "cost",
                "must be a positive whole number of TWD",
            ));
        }
        if let Some(currency) = &self.currency
            && currency != "TWD"
        {
            return Err(FieldError::new(
                "currency",
                format!("is {currency:?}; only TWD is supported"),
            ));
        }
        for (i, item) in self.items.iter().enumerate() {
            item.validate(i)?;
        }
        validate::order_sum(
            "cost",
            self.cost.0,
            self.items.iter().map(|item| item.total.0),
            discount.0,
            shipping_fee.0,
        )
    }
}

impl TransactionRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        self.order.validate(
            self.discount.unwrap_or_default(),
            self.shipping_fee.unwrap_or_default(),
        )?;
        validate::required_text("user_id", &self.consumer.user_id)?;
        match &self.pfn {
            Some(PaymentName::Offline) => {
                let code = self.data_json.as_ref().ok_or_else(|| {
                    FieldError::new("data_json", "is required when pfn is OFFLINE")
                })?;
                validate::required_text("data_json.qrCode", code.qr_code.expose())?;
            }
            Some(other) => {
                return Err(FieldError::new(
                    "pfn",
                    format!("is {}; only OFFLINE is supported", other.as_str()),
                ));
            }
            None => return Err(FieldError::new("pfn", "is required (OFFLINE)")),
        }
        if let Some(email) = &self.consumer.user_email {
            validate::email("user_email", email)?;
        }
        self.invoice.validate()?;
        if self.invoice.invoice_cloud_type == Some(CloudInvoiceType::Email)
            && self.consumer.user_email.is_none()
        {
            return Err(FieldError::new(
                "user_email",
                "is required when invoice_cloud_type is 4 (e-mail)",
            ));
        }
        Ok(())
    }
}

impl QueryDirectRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        validate::required_text("store_uid", &self.store_uid)?;
        validate::order_id("order_id", &self.order_id)
    }
}

impl EWalletRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        validate::required_text("user_id", &self.user_id)?;
        if let EWalletType::Other(other) = &self.kind {
            return Err(FieldError::new(
                "type",
                format!("is {other:?}; it must be bind or pay"),
            ));
        }
        validate::required_text("homepage_url", &self.homepage_url)
    }
}

impl OnlineDealRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        self.order.validate(Twd(0), Twd(0))?;
        validate::required_text("user_id", &self.consumer.user_id)?;
        validate::required_text("ip", self.consumer.ip.as_deref().unwrap_or(""))?;
        self.invoice.validate()
    }
}

impl VerificationRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        validate::required_text("country_code", &self.country_code)?;
        validate::required_text("store_uid", &self.store_uid)?;
        validate::required_text("user_id", &self.user_id)?;
        validate::required_text("ip", &self.ip)?;
        if let VerificationMethod::Other(v) = self.method_type {
            return Err(FieldError::new(
                "method_type",
                format!("is {v}; it must be 1 to 5"),
            ));
        }
        let needs_tix = matches!(
            self.method_type,
            VerificationMethod::Edda | VerificationMethod::EddaOrTwid
        );
        if needs_tix && self.tix.is_none() {
            return Err(FieldError::new(
                "tix",
                "is required when method_type is 2 or 4 (eDDA)",
            ));
        }
        Ok(())
    }
}

impl ForgotTpRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        validate::required_text("user_id", &self.user_id)?;
        validate::required_text("homepage_url", &self.homepage_url)
    }
}

impl MemberStatusRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        validate::required_text("user_id", &self.user_id)
    }
}
