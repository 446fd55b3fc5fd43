//! The e-invoice fields, once each: the buyer's choice a payment command carries
//! ([`InvoiceRequest`], echoed in the answer) and the invoice the gateway issued ([`InvoiceFields`],
//! in the answer and on the printout).

use super::fields::wire_block;
use super::lenient::{Twd, count};
use super::validate::{self, FieldError};
use super::values::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

wire_block! {
    /// The e-invoice fields shared by the payment commands.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct InvoiceRequest {
        pub issue_invoice_state: Option<IssueInvoiceState> = lenient,
        pub invoice_ratetype: Option<InvoiceRateType> = lenient,
        pub invoice_input_type: Option<InvoiceInputType> = lenient,
        pub invoice_cloud_type: Option<CloudInvoiceType> = lenient,
        pub invoice_tax_id: Option<String> = lenient,
        pub invoice_mobile_code: Option<String> = lenient,
        pub invoice_natural_person: Option<String> = lenient,
        pub invoice_m_post_zone: Option<String> = lenient,
        pub invoice_m_address: Option<String> = lenient,
        pub invoice_love_code: Option<String> = lenient,
        pub invoice_b2b_title: Option<String> = lenient,
        pub invoice_b2b_id: Option<String> = lenient,
        pub invoice_b2b_post_zone: Option<String> = lenient,
        pub invoice_b2b_address: Option<String> = lenient,
    }
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

wire_block! {
    /// The invoice as the gateway issued it: the fields of a `線下掃碼收款` answer the printout is
    /// made of. Text for people is trimmed; the codes and the item detail are kept exactly as sent.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct InvoiceFields {
        pub invoice_state: Option<InvoiceState> = lenient,
        pub invoice_state_msg: Option<String> = trimmed,
        /// `YYYYMMDDHHmmss`.
        pub invoice_date: Option<String> = trimmed,
        pub invoice_wordtrack: Option<String> = trimmed,
        pub invoice_number: Option<String> = trimmed,
        pub invoice_rand_code: Option<String> = trimmed,
        pub invoice_seller_ban: Option<String> = trimmed,
        pub invoice_buyer_ban: Option<String> = trimmed,
        pub invoice_left_qrcode: Option<String> = lenient,
        /// The Code 39 text, printed exactly as sent.
        pub invoice_middle_barcode: Option<String> = lenient,
        pub invoice_right_qrcode: Option<String> = lenient,
        pub invoice_title_type: Option<InvoiceTitleType> = lenient,
        pub invoice_title: Option<String> = trimmed,
        pub invoice_print_type: Option<InvoicePrintType> = lenient,
        pub invoice_print_device: Option<InvoicePrintDevice> = lenient,
        pub invoice_amount: Option<Twd> = lenient,
        pub invoice_sales_amount: Option<Twd> = lenient,
        pub invoice_tax_amount: Option<Twd> = lenient,
        /// JSON text: a list of 『商品細項』 (see [`InvoiceDetailLine`]).
        pub invoice_order_detail: Option<String> = lenient,
    }
}

impl InvoiceFields {
    /// The invoice number's eight digits: `invoice_number` as sent, or without its track in front
    /// when a gateway sends the number whole (`AB12345678`) beside `invoice_wordtrack`.
    pub fn invoice_digits(&self) -> Option<Cow<'_, str>> {
        let number = self.invoice_number.as_deref()?;
        let digits = self
            .invoice_wordtrack
            .as_deref()
            .and_then(|track| number.strip_prefix(track))
            .unwrap_or(number);
        Some(zero_padded(digits, 8))
    }

    /// The four digits of `invoice_rand_code`.
    pub fn random_code(&self) -> Option<Cow<'_, str>> {
        Some(zero_padded(self.invoice_rand_code.as_deref()?, 4))
    }

    /// The seller's eight-digit business number.
    pub fn seller_ban(&self) -> Option<Cow<'_, str>> {
        Some(zero_padded(self.invoice_seller_ban.as_deref()?, 8))
    }

    /// The buyer's business number, if the invoice names a buyer. All zeros is no buyer: eight
    /// is how the QR header writes it, ten the e-invoice data's consumer id, and a gateway may
    /// send either here, or the number `0`.
    pub fn buyer_ban(&self) -> Option<Cow<'_, str>> {
        let ban = zero_padded(self.invoice_buyer_ban.as_deref()?, 8);
        (!ban.bytes().all(|b| b == b'0')).then_some(ban)
    }

    /// The invoice's item lines, from the JSON text in `invoice_order_detail`.
    pub fn invoice_detail(&self) -> Result<Vec<InvoiceDetailLine>, serde_json::Error> {
        match self.invoice_order_detail.as_deref() {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(text),
        }
    }
}

/// `value`, or its digits padded with zeros to `width` when there are fewer: a field of digits
/// that a gateway sends as a JSON number (`416` for `0416`) loses its leading zeros.
fn zero_padded(value: &str, width: usize) -> Cow<'_, str> {
    if (1..width).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Owned(format!("{value:0>width$}"))
    } else {
        Cow::Borrowed(value)
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
