//! The part of the gateway's answer that the printout needs: the order, its cost and the issued
//! invoice ([`InvoiceFields`], read as the wire types read it); every other field is ignored.

use crate::api::InvoiceFields;
use crate::api::lenient::{self, Twd, trimmed};
use serde::Deserialize;

/// The invoice fields of a `線下掃碼收款` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct InvoiceAnswer {
    #[serde(default, deserialize_with = "trimmed::deserialize")]
    pub order_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    pub cost: Option<Twd>,
    #[serde(flatten)]
    pub invoice: InvoiceFields,
}

/// One line of the item detail (商品細項). A field the gateway leaves out prints blank.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DetailLine {
    #[serde(
        rename = "Description",
        default,
        deserialize_with = "trimmed::or_empty"
    )]
    pub description: String,
    #[serde(rename = "Quantity", default, deserialize_with = "trimmed::or_empty")]
    pub quantity: String,
    #[serde(rename = "UnitPrice", default, deserialize_with = "trimmed::or_empty")]
    pub unit_price: String,
    #[serde(rename = "Amount", default, deserialize_with = "trimmed::or_empty")]
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
        let reader = || serde_json::Deserializer::from_str(text);
        Self::located(read(&mut reader()), || read(&mut reader()))
    }

    fn located(
        answer: Result<Self, AnswerError>,
        invoice_alone: impl FnOnce() -> Result<InvoiceFields, AnswerError>,
    ) -> Result<Self, AnswerError> {
        answer.map_err(|err| {
            if !names_no_field(&err) {
                return err;
            }
            // The flattened invoice's fields lose their path; read alone, the invoice names them.
            match invoice_alone() {
                Err(located) if !names_no_field(&located) => located,
                _ => err,
            }
        })
    }

    /// The item lines of `invoice_order_detail`, or `None` when the field is absent or lists none.
    pub fn detail_lines(&self) -> Result<Option<Vec<DetailLine>>, AnswerError> {
        let Some(text) = self.invoice.invoice_order_detail.as_deref() else {
            return Ok(None);
        };
        let lines: Vec<DetailLine> =
            serde_json::from_str(text).map_err(|err| AnswerError::Detail(err.to_string()))?;
        // An empty list (PHP's `json_encode` of no items) says no more than an absent one.
        Ok((!lines.is_empty()).then_some(lines))
    }
}

const WHOLE_ANSWER: &str = "the whole answer";

fn names_no_field(err: &AnswerError) -> bool {
    matches!(err, AnswerError::Json { field, .. } if field == WHOLE_ANSWER)
}

fn read<'de, T: Deserialize<'de>>(
    json: impl serde::Deserializer<'de, Error = serde_json::Error>,
) -> Result<T, AnswerError> {
    serde_path_to_error::deserialize(json).map_err(|err| {
        let path = err.path().to_string();
        AnswerError::Json {
            field: if path == "." {
                WHOLE_ANSWER.to_owned()
            } else {
                path
            },
            detail: err.into_inner().to_string(),
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::values::{InvoicePrintType, InvoiceState};

    #[test]
    fn numbers_as_numbers_or_strings_and_empty_as_absent() {
        let answer = InvoiceAnswer::from_json(
            r#"{"code":"250","invoice_state":"2","invoice_print_type":1,"invoice_amount":"150",
                "invoice_buyer_ban":"","invoice_title":" Cafe ","cost":150.0,"unknown":[1]}"#,
        )
        .unwrap();
        assert_eq!(answer.invoice.invoice_state, Some(InvoiceState::Issued));
        assert_eq!(
            answer.invoice.invoice_print_type,
            Some(InvoicePrintType::InvoiceAndDetail)
        );
        assert_eq!(answer.invoice.invoice_amount, Some(Twd(150)));
        assert_eq!(answer.cost, Some(Twd(150)));
        assert_eq!(answer.invoice.invoice_buyer_ban, None);
        assert_eq!(answer.invoice.invoice_title.as_deref(), Some("Cafe"));
        assert_eq!(answer.invoice.invoice_tax_amount, None);
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
        assert_eq!(answer.invoice.invoice_right_qrcode.as_deref(), Some("**  "));
    }

    #[test]
    fn detail_lines_accept_numbers_and_strings() {
        let answer = InvoiceAnswer {
            invoice: InvoiceFields {
                invoice_order_detail: Some(
                    r#"[{"Description":"咖啡","Quantity":2,"UnitPrice":"50","Amount":"100"}]"#
                        .to_owned(),
                ),
                ..InvoiceFields::default()
            },
            ..InvoiceAnswer::default()
        };
        let lines = answer.detail_lines().unwrap().unwrap();
        assert_eq!(lines[0].quantity, "2");
        assert_eq!(lines[0].amount, "100");
        let broken = InvoiceAnswer {
            invoice: InvoiceFields {
                invoice_order_detail: Some("[{".to_owned()),
                ..InvoiceFields::default()
            },
            ..InvoiceAnswer::default()
        };
        assert!(matches!(broken.detail_lines(), Err(AnswerError::Detail(_))));
    }
}
