//! The part of the gateway's answer that the printout needs.
//!
//! The gateway is loose with types: numbers come as `10` or `"10"`, and an empty string means
//! "absent". These types accept all of that, so the rest of the receipt code sees plain
//! `Option`s; every other field of the answer is ignored.

use serde::{Deserialize, Deserializer};

/// The invoice fields of a `線下掃碼收款` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct InvoiceAnswer {
    #[serde(deserialize_with = "lenient_text")]
    pub order_id: Option<String>,
    #[serde(deserialize_with = "lenient_number")]
    pub cost: Option<u64>,
    /// 發票開立狀態: 2 issued, 1 pending, 3/5 failed, others not applicable.
    #[serde(deserialize_with = "lenient_number")]
    pub invoice_state: Option<u64>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_state_msg: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_date: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_wordtrack: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_number: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_rand_code: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_seller_ban: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_buyer_ban: Option<String>,
    #[serde(deserialize_with = "lenient_raw_text")]
    pub invoice_left_qrcode: Option<String>,
    #[serde(deserialize_with = "lenient_raw_text")]
    pub invoice_middle_barcode: Option<String>,
    #[serde(deserialize_with = "lenient_raw_text")]
    pub invoice_right_qrcode: Option<String>,
    /// 1 text title, 2 image title.
    #[serde(deserialize_with = "lenient_number")]
    pub invoice_title_type: Option<u64>,
    #[serde(deserialize_with = "lenient_text")]
    pub invoice_title: Option<String>,
    /// 0 nothing, 1 proof and detail, 2 proof only, 3 detail only.
    #[serde(deserialize_with = "lenient_number")]
    pub invoice_print_type: Option<u64>,
    #[serde(deserialize_with = "lenient_number")]
    pub invoice_amount: Option<u64>,
    #[serde(deserialize_with = "lenient_number")]
    pub invoice_sales_amount: Option<u64>,
    #[serde(deserialize_with = "lenient_number")]
    pub invoice_tax_amount: Option<u64>,
    /// A JSON list of items, itself sent as a string; see [`InvoiceAnswer::detail_lines`].
    #[serde(deserialize_with = "lenient_raw_text")]
    pub invoice_order_detail: Option<String>,
}

/// One line of the item detail (商品細項).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DetailLine {
    #[serde(rename = "Description", deserialize_with = "any_text")]
    pub description: String,
    #[serde(rename = "Quantity", deserialize_with = "any_text")]
    pub quantity: String,
    #[serde(rename = "UnitPrice", deserialize_with = "any_text")]
    pub unit_price: String,
    #[serde(rename = "Amount", deserialize_with = "any_text")]
    pub amount: String,
}

/// The answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("gateway answer: {field}: {detail}")]
    Json { field: String, detail: String },
    #[error(
        "invoice_order_detail is not a JSON list of Description/Quantity/UnitPrice/Amount: {0}"
    )]
    Detail(String),
}

impl InvoiceAnswer {
    /// Reads the answer from the gateway's JSON (the decrypted `encry_data` answer).
    pub fn from_json(text: &str) -> Result<Self, AnswerError> {
        let mut json = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut json).map_err(|err| {
            let path = err.path().to_string();
            AnswerError::Json {
                field: if path == "." {
                    "the whole answer".to_owned()
                } else {
                    path
                },
                detail: err.into_inner().to_string(),
            }
        })
    }

    /// The item lines of `invoice_order_detail`, or `None` when the field is absent.
    pub fn detail_lines(&self) -> Result<Option<Vec<DetailLine>>, AnswerError> {
        self.invoice_order_detail
            .as_deref()
            .map(|text| {
                serde_json::from_str(text).map_err(|err| AnswerError::Detail(err.to_string()))
            })
            .transpose()
    }
}

impl DetailLine {
    /// A detail line from an invoice item, for the order's own items.
    pub fn from_item(item: &crate::einvoice::Item) -> Self {
        DetailLine {
            description: item.name.clone(),
            quantity: item.quantity.to_string(),
            unit_price: item.unit_price.to_string(),
            amount: item.amount().to_string(),
        }
    }
}

/// A JSON value as the gateway may send a scalar.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Flag(bool),
    Null,
}

impl Scalar {
    fn into_text(self) -> Option<String> {
        match self {
            Scalar::Text(text) => Some(text),
            Scalar::Number(number) => Some(number.to_string()),
            Scalar::Flag(flag) => Some(flag.to_string()),
            Scalar::Null => None,
        }
    }
}

/// Text, trimmed; empty means absent.
fn lenient_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Scalar::deserialize(deserializer)?
        .into_text()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty()))
}

/// Text kept exactly as sent (codes are printed byte for byte); empty means absent.
fn lenient_raw_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(Scalar::deserialize(deserializer)?
        .into_text()
        .filter(|text| !text.is_empty()))
}

/// A whole number sent as a number or a string; empty means absent.
fn lenient_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let Some(text) = lenient_text(deserializer)? else {
        return Ok(None);
    };
    text.parse::<u64>()
        .or_else(|_| match text.parse::<f64>() {
            Ok(value) if value >= 0.0 && value.fract() == 0.0 => Ok(value as u64),
            _ => Err(()),
        })
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("expected a whole number, got {text:?}")))
}

/// Any scalar as text.
fn any_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Scalar::deserialize(deserializer)?
        .into_text()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_numbers_or_strings_and_empty_as_absent() {
        let answer = InvoiceAnswer::from_json(
            r#"{"code":"250","invoice_state":"2","invoice_print_type":1,"invoice_amount":"150",
                "invoice_buyer_ban":"","invoice_title":" Cafe ","cost":150.0,"unknown":[1]}"#,
        )
        .unwrap();
        assert_eq!(answer.invoice_state, Some(2));
        assert_eq!(answer.invoice_print_type, Some(1));
        assert_eq!(answer.invoice_amount, Some(150));
        assert_eq!(answer.cost, Some(150));
        assert_eq!(answer.invoice_buyer_ban, None);
        assert_eq!(answer.invoice_title.as_deref(), Some("Cafe"));
        assert_eq!(answer.invoice_tax_amount, None);
    }

    #[test]
    fn a_bad_number_names_the_field_and_the_value() {
        let err = InvoiceAnswer::from_json(r#"{"invoice_state":"two"}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invoice_state") && err.contains("whole number") && err.contains("two"),
            "{err}"
        );
        let err = InvoiceAnswer::from_json("42").unwrap_err().to_string();
        assert!(err.contains("the whole answer"), "{err}");
    }

    #[test]
    fn qr_texts_are_kept_exactly() {
        let answer = InvoiceAnswer::from_json(r#"{"invoice_right_qrcode":"**  "}"#).unwrap();
        assert_eq!(answer.invoice_right_qrcode.as_deref(), Some("**  "));
    }

    #[test]
    fn detail_lines_accept_numbers_and_strings() {
        let answer = InvoiceAnswer {
            invoice_order_detail: Some(
                r#"[{"Description":"咖啡","Quantity":2,"UnitPrice":"50","Amount":"100"}]"#
                    .to_owned(),
            ),
            ..InvoiceAnswer::default()
        };
        let lines = answer.detail_lines().unwrap().unwrap();
        assert_eq!(lines[0].quantity, "2");
        assert_eq!(lines[0].amount, "100");
        let broken = InvoiceAnswer {
            invoice_order_detail: Some("[{".to_owned()),
            ..InvoiceAnswer::default()
        };
        assert!(matches!(broken.detail_lines(), Err(AnswerError::Detail(_))));
    }
}
