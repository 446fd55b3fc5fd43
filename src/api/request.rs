//! Requests: the `service` header and the `encry_data` body of every command.

use super::lenient::{Twd, as_text, opt, opt_text, whole};
use super::validate::{self, FieldError};
use super::values::*;
use crate::charge::{self, Carrier, Charge, InvoiceOptions, TaxRate};
pub use crate::payment_code::PaymentCode;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The commands this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `api/transaction`: the offline scan-to-pay charge (線下掃碼收款).
    Transaction,
    /// `api/querydirect`: find a store's transaction by order id, for reconciliation.
    QueryDirect,
    /// `api/ewallet`: bind a card to, or pay with, the OCP e-wallet (電子錢包綁定與交易).
    EWallet,
    /// `api/directdeal`: online direct payment (線上直接交易).
    DirectDeal,
    /// `api/shoppingdeal`: online shopping payment (線上購物交易).
    ShoppingDeal,
    /// `api/verification`: real-name verification (實名驗證).
    Verification,
    /// `api/forgottp`: reset the wallet's transaction password (忘記交易密碼).
    ForgotTp,
    /// `api/memberstatus`: whether a member has bound a card (查詢會員電子錢包狀況).
    MemberStatus,
}

impl Command {
    pub const ALL: [Command; 8] = [
        Command::Transaction,
        Command::QueryDirect,
        Command::EWallet,
        Command::DirectDeal,
        Command::ShoppingDeal,
        Command::Verification,
        Command::ForgotTp,
        Command::MemberStatus,
    ];

    /// The `cmd` of the `service` header.
    pub fn cmd(self) -> &'static str {
        match self {
            Command::Transaction => "api/transaction",
            Command::QueryDirect => "api/querydirect",
            Command::EWallet => "api/ewallet",
            Command::DirectDeal => "api/directdeal",
            Command::ShoppingDeal => "api/shoppingdeal",
            Command::Verification => "api/verification",
            Command::ForgotTp => "api/forgottp",
            Command::MemberStatus => "api/memberstatus",
        }
    }

    /// The `service_name`: payment commands go to `api`, e-wallet commands to `ocpap`.
    pub fn service_name(self) -> &'static str {
        match self {
            Command::Transaction | Command::QueryDirect => "api",
            _ => "ocpap",
        }
    }

    pub fn service(self) -> Service {
        Service {
            service_name: self.service_name().to_owned(),
            cmd: self.cmd().to_owned(),
        }
    }

    /// Finds a command by its `cmd` (`api/transaction`) or short name (`transaction`).
    pub fn parse(name: &str) -> Option<Command> {
        let short = name.strip_prefix("api/").unwrap_or(name);
        Command::ALL
            .into_iter()
            .find(|c| c.cmd().strip_prefix("api/") == Some(short))
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cmd())
    }
}

/// The decrypted `service` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub service_name: String,
    pub cmd: String,
}

impl Service {
    /// The command this header names, if it is one of ours and its `service_name` matches.
    pub fn command(&self) -> Option<Command> {
        Command::parse(&self.cmd).filter(|c| c.service_name() == self.service_name)
    }
}

/// 『商品項目』: one line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// Unit price.
    pub cost: Twd,
    /// Quantity.
    #[serde(serialize_with = "as_text", deserialize_with = "whole")]
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
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_real_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_english_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_zipcode: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_address: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_sn_type: Option<UserSnType>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_sn: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_phone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_cellphone_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_cellphone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_email: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_birthday: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub ip: Option<String>,
}

/// The e-invoice fields shared by the payment commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InvoiceRequest {
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub issue_invoice_state: Option<IssueInvoiceState>,
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
    pub invoice_tax_id: Option<String>,
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
}

/// The order fields shared by the payment commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OrderFields {
    #[serde(default)]
    pub store_uid: String,
    #[serde(default)]
    pub cost: Twd,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub currency: Option<String>,
    #[serde(default)]
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
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
}

/// `api/transaction` (線下掃碼收款): an offline charge of a scanned payment code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRequest {
    #[serde(flatten)]
    pub order: OrderFields,
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
    pub discount: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub shipping_fee: Option<Twd>,
    #[serde(flatten)]
    pub consumer: Consumer,
    #[serde(flatten)]
    pub invoice: InvoiceRequest,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_sms_fee_type: Option<FeeInclusion>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_charge_fee_type: Option<FeeInclusion>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_charge_fee: Option<Twd>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_agent_charge: Option<AgentChargeMode>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_json: Option<OfflineData>,
}

/// `api/querydirect`: the store's transactions with this order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryDirectRequest {
    pub store_uid: String,
    pub order_id: String,
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
}

/// `api/ewallet` (電子錢包綁定與交易).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EWalletRequest {
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: EWalletType,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub return_url: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub success_returl: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_returl: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_sn_type: Option<UserSnType>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_sn: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_phone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_cellphone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_email: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub bank_code: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub tix: Option<EddaCode>,
    pub ip: String,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub success_returl: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_returl: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
        if !self.items.is_empty() {
            let items_total = self
                .items
                .iter()
                .try_fold(0u64, |sum, item| sum.checked_add(item.total.0))
                .ok_or_else(|| FieldError::new("items", "add up to more than can be charged"))?;
            let expected = items_total
                .checked_add(shipping_fee.0)
                .and_then(|t| t.checked_sub(discount.0));
            if expected != Some(self.cost.0) {
                return Err(FieldError::new(
                    "cost",
                    format!(
                        "is {} but the items total {items_total}, minus discount {discount}, plus shipping fee {shipping_fee} makes {}",
                        self.cost,
                        expected.map_or_else(|| "less than zero".to_owned(), |e| e.to_string())
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl InvoiceRequest {
    /// Invoice fields are only valid in the combinations the API document allows.
    fn validate(&self) -> Result<(), FieldError> {
        let input = self.invoice_input_type;
        let cloud = self.invoice_cloud_type;
        let only_with = |field: &str, present: bool, allowed: bool, when: &str| {
            if present && !allowed {
                Err(FieldError::new(field, format!("is only valid when {when}")))
            } else {
                Ok(())
            }
        };
        let is_cloud = input == Some(InvoiceInputType::Cloud);
        only_with(
            "invoice_cloud_type",
            cloud.is_some_and(|c| c != CloudInvoiceType::NotUsed),
            is_cloud,
            "invoice_input_type is 1 (cloud invoice)",
        )?;
        only_with(
            "invoice_tax_id",
            self.invoice_tax_id.is_some(),
            is_cloud,
            "invoice_input_type is 1 (cloud invoice)",
        )?;
        only_with(
            "invoice_mobile_code",
            self.invoice_mobile_code.is_some(),
            is_cloud && cloud == Some(CloudInvoiceType::MobileBarcode),
            "invoice_cloud_type is 2 (mobile barcode)",
        )?;
        only_with(
            "invoice_natural_person",
            self.invoice_natural_person.is_some(),
            is_cloud && cloud == Some(CloudInvoiceType::NaturalPerson),
            "invoice_cloud_type is 3 (natural person certificate)",
        )?;
        let email = is_cloud && cloud == Some(CloudInvoiceType::Email);
        only_with(
            "invoice_m_post_zone",
            self.invoice_m_post_zone.is_some(),
            email,
            "invoice_cloud_type is 4 (e-mail)",
        )?;
        only_with(
            "invoice_m_address",
            self.invoice_m_address.is_some(),
            email,
            "invoice_cloud_type is 4 (e-mail)",
        )?;
        only_with(
            "invoice_love_code",
            self.invoice_love_code.is_some(),
            input == Some(InvoiceInputType::Donation),
            "invoice_input_type is 2 (donation)",
        )?;
        let b2b = input == Some(InvoiceInputType::Physical);
        for (field, value) in [
            ("invoice_b2b_title", &self.invoice_b2b_title),
            ("invoice_b2b_id", &self.invoice_b2b_id),
            ("invoice_b2b_post_zone", &self.invoice_b2b_post_zone),
            ("invoice_b2b_address", &self.invoice_b2b_address),
        ] {
            only_with(
                field,
                value.is_some(),
                b2b,
                "invoice_input_type is 3 (B2B invoice)",
            )?;
        }

        if let Some(tax_id) = &self.invoice_tax_id {
            validate::tax_id("invoice_tax_id", tax_id)?;
        }
        match cloud {
            Some(CloudInvoiceType::MobileBarcode) if is_cloud => validate::mobile_barcode(
                "invoice_mobile_code",
                require("invoice_mobile_code", &self.invoice_mobile_code)?,
            )?,
            Some(CloudInvoiceType::NaturalPerson) if is_cloud => validate::natural_person(
                "invoice_natural_person",
                require("invoice_natural_person", &self.invoice_natural_person)?,
            )?,
            _ => {}
        }
        if input == Some(InvoiceInputType::Donation) {
            validate::love_code(
                "invoice_love_code",
                require("invoice_love_code", &self.invoice_love_code)?,
            )?;
        }
        if b2b {
            validate::required_text(
                "invoice_b2b_title",
                require("invoice_b2b_title", &self.invoice_b2b_title)?,
            )?;
            validate::tax_id(
                "invoice_b2b_id",
                require("invoice_b2b_id", &self.invoice_b2b_id)?,
            )?;
            validate::required_text(
                "invoice_b2b_address",
                require("invoice_b2b_address", &self.invoice_b2b_address)?,
            )?;
        }
        Ok(())
    }

    /// The wire fields for the merchant-facing invoice options.
    pub fn from_options(options: &InvoiceOptions) -> InvoiceRequest {
        let rate = |r: &TaxRate| {
            Some(match r {
                TaxRate::Taxable => InvoiceRateType::Taxable,
                TaxRate::ZeroRated => InvoiceRateType::ZeroRated,
                TaxRate::Exempt => InvoiceRateType::Exempt,
            })
        };
        let issue = Some(IssueInvoiceState::Issue);
        match options {
            InvoiceOptions::StoreDefault => InvoiceRequest {
                issue_invoice_state: Some(IssueInvoiceState::StoreDefault),
                ..Default::default()
            },
            InvoiceOptions::None => InvoiceRequest {
                issue_invoice_state: Some(IssueInvoiceState::DoNotIssue),
                ..Default::default()
            },
            InvoiceOptions::Cloud {
                carrier,
                tax_id,
                rate: r,
            } => {
                let mut req = InvoiceRequest {
                    issue_invoice_state: issue,
                    invoice_ratetype: rate(r),
                    invoice_input_type: Some(InvoiceInputType::Cloud),
                    invoice_tax_id: tax_id.clone(),
                    ..Default::default()
                };
                match carrier {
                    Carrier::Member => req.invoice_cloud_type = Some(CloudInvoiceType::NotUsed),
                    Carrier::MobileBarcode { code } => {
                        req.invoice_cloud_type = Some(CloudInvoiceType::MobileBarcode);
                        req.invoice_mobile_code = Some(code.clone());
                    }
                    Carrier::NaturalPerson { code } => {
                        req.invoice_cloud_type = Some(CloudInvoiceType::NaturalPerson);
                        req.invoice_natural_person = Some(code.clone());
                    }
                    Carrier::Email {
                        post_zone, address, ..
                    } => {
                        req.invoice_cloud_type = Some(CloudInvoiceType::Email);
                        req.invoice_m_post_zone = post_zone.clone();
                        req.invoice_m_address = address.clone();
                    }
                }
                req
            }
            InvoiceOptions::Donation { love_code, rate: r } => InvoiceRequest {
                issue_invoice_state: issue,
                invoice_ratetype: rate(r),
                invoice_input_type: Some(InvoiceInputType::Donation),
                invoice_love_code: Some(love_code.clone()),
                ..Default::default()
            },
            InvoiceOptions::Business {
                title,
                tax_id,
                post_zone,
                address,
                rate: r,
            } => InvoiceRequest {
                issue_invoice_state: issue,
                invoice_ratetype: rate(r),
                invoice_input_type: Some(InvoiceInputType::Physical),
                invoice_b2b_title: Some(title.clone()),
                invoice_b2b_id: Some(tax_id.clone()),
                invoice_b2b_post_zone: post_zone.clone(),
                invoice_b2b_address: Some(address.clone()),
                ..Default::default()
            },
        }
    }
}

fn require<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, FieldError> {
    value
        .as_deref()
        .ok_or_else(|| FieldError::new(field, "is required"))
}

impl TransactionRequest {
    /// The OFFLINE charge of `payment_code` for `charge`, as order `order_id` of `store_uid`.
    pub fn offline(
        store_uid: &str,
        order_id: &str,
        user_id: &str,
        charge: &Charge,
        payment_code: PaymentCode,
    ) -> TransactionRequest {
        let mut echo = charge.echo.iter().cloned().map(Some);
        let email = match &charge.invoice {
            InvoiceOptions::Cloud {
                carrier: Carrier::Email { email, .. },
                ..
            } => Some(email.clone()),
            _ => None,
        };
        TransactionRequest {
            order: OrderFields {
                store_uid: store_uid.to_owned(),
                cost: Twd(charge.amount),
                currency: Some("TWD".to_owned()),
                order_id: order_id.to_owned(),
                items: charge.items.iter().map(Item::from_charge_item).collect(),
                echo_0: echo.next().flatten(),
                echo_1: echo.next().flatten(),
                echo_2: echo.next().flatten(),
                echo_3: echo.next().flatten(),
                echo_4: echo.next().flatten(),
            },
            pfn: Some(PaymentName::Offline),
            discount: (charge.discount > 0).then_some(Twd(charge.discount)),
            shipping_fee: (charge.shipping_fee > 0).then_some(Twd(charge.shipping_fee)),
            consumer: Consumer {
                user_id: charge.user_id.clone().unwrap_or_else(|| user_id.to_owned()),
                user_email: email,
                ..Default::default()
            },
            invoice: InvoiceRequest::from_options(&charge.invoice),
            agent_sms_fee_type: None,
            agent_charge_fee_type: None,
            agent_charge_fee: None,
            is_agent_charge: None,
            data_json: Some(OfflineData {
                qr_code: payment_code,
            }),
        }
    }

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

impl Item {
    fn from_charge_item(item: &charge::Item) -> Item {
        Item {
            id: item.id.clone(),
            name: item.name.clone(),
            cost: Twd(item.unit_price),
            amount: u64::from(item.quantity),
            total: Twd(item.total()),
        }
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
