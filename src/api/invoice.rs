//! The e-invoice fields, once each: the buyer's choice a payment command carries
//! ([`InvoiceRequest`], echoed in the answer) and the invoice the gateway issued ([`InvoiceFields`],
//! in the answer and on the printout).

use super::lenient::{self, Twd, count, trimmed};
use super::validate::{self, FieldError};
use super::values::*;
use serde::{Deserialize, Serialize};

/// The e-invoice fields shared by the payment commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct InvoiceRequest {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub issue_invoice_state: Option<IssueInvoiceState>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_ratetype: Option<InvoiceRateType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_input_type: Option<InvoiceInputType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_cloud_type: Option<CloudInvoiceType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_tax_id: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_mobile_code: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_natural_person: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_m_post_zone: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_m_address: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_love_code: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_b2b_title: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_b2b_id: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_b2b_post_zone: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_b2b_address: Option<String>,
}

impl InvoiceRequest {
    /// Invoice fields are only valid in the combinations the API document allows.
    pub fn validate(&self) -> Result<(), FieldError> {
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
}

fn require<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, FieldError> {
    value
        .as_deref()
        .ok_or_else(|| FieldError::new(field, "is required"))
}

/// The invoice as the gateway issued it: the fields of a `線下掃碼收款` answer the printout is
/// made of. Text for people is trimmed; the codes and the item detail are kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InvoiceFields {
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_state: Option<InvoiceState>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_state_msg: Option<String>,
    /// `YYYYMMDDHHmmss`.
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_date: Option<String>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_wordtrack: Option<String>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_rand_code: Option<String>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_seller_ban: Option<String>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_buyer_ban: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_left_qrcode: Option<String>,
    /// The Code 39 text, printed exactly as sent.
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_middle_barcode: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_right_qrcode: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_title_type: Option<InvoiceTitleType>,
    #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub invoice_title: Option<String>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_print_type: Option<InvoicePrintType>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_print_device: Option<InvoicePrintDevice>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_amount: Option<Twd>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_sales_amount: Option<Twd>,
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_tax_amount: Option<Twd>,
    /// JSON text: a list of 『商品細項』 (see [`InvoiceDetailLine`]).
    #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
    pub invoice_order_detail: Option<String>,
}

impl InvoiceFields {
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
    #[serde(rename = "Quantity", with = "count")]
    pub quantity: u64,
    #[serde(rename = "UnitPrice")]
    pub unit_price: Twd,
    #[serde(rename = "Amount")]
    pub amount: Twd,
}
