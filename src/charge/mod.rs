//! What the POS app asks for when it starts a charge: amount, items, invoice options, echo fields.
//!
//! This is the merchant-facing model, in whole TWD and plain types. [`wire`] turns it into the
//! gateway's wire format ([`crate::api`]); [`Charge::validate`] checks it before the order is stored, so a charge the
//! gateway would refuse is refused at the counter with a message naming the field.

pub mod wire;

use crate::api::validate::{self, FieldError};
use serde::{Deserialize, Serialize};

/// How many `echo_N` fields the gateway carries.
pub const ECHO_FIELDS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// Total to charge, in whole TWD.
    pub amount: u64,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub discount: u64,
    #[serde(default)]
    pub shipping_fee: u64,
    #[serde(default)]
    pub invoice: InvoiceOptions,
    /// Free values the gateway echoes back (`echo_0` … `echo_4`).
    #[serde(default)]
    pub echo: Vec<String>,
    /// The consumer account the gateway files the charge under; the configured default when absent.
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub name: String,
    /// Unit price in whole TWD.
    pub unit_price: u64,
    pub quantity: u32,
}

impl Item {
    pub fn total(&self) -> u64 {
        self.unit_price * u64::from(self.quantity)
    }
}

/// Whether and how the gateway issues an e-invoice for the charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InvoiceOptions {
    /// As the store is set up at the gateway (`issue_invoice_state` 2).
    #[default]
    StoreDefault,
    /// No e-invoice (`issue_invoice_state` 0).
    None,
    /// A cloud invoice (`invoice_input_type` 1), optionally with a carrier and the buyer's tax id.
    Cloud {
        #[serde(default)]
        carrier: Carrier,
        #[serde(default)]
        tax_id: Option<String>,
        #[serde(default)]
        rate: TaxRate,
    },
    /// Donated to a charity (`invoice_input_type` 2).
    Donation {
        love_code: String,
        #[serde(default)]
        rate: TaxRate,
    },
    /// A business-to-business invoice with the buyer's title and tax id (`invoice_input_type` 3).
    Business {
        title: String,
        tax_id: String,
        #[serde(default)]
        post_zone: Option<String>,
        address: String,
        #[serde(default)]
        rate: TaxRate,
    },
}

/// Where a cloud invoice is kept (`invoice_cloud_type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Carrier {
    /// The gateway's member carrier (`invoice_cloud_type` 0).
    #[default]
    Member,
    /// A mobile barcode (`invoice_cloud_type` 2).
    MobileBarcode { code: String },
    /// A natural person certificate (`invoice_cloud_type` 3).
    NaturalPerson { code: String },
    /// Sent by e-mail; the paper copy of a winning invoice is posted to the address (`invoice_cloud_type` 4).
    Email {
        email: String,
        #[serde(default)]
        post_zone: Option<String>,
        #[serde(default)]
        address: Option<String>,
    },
}

/// `invoice_ratetype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TaxRate {
    #[default]
    Taxable,
    ZeroRated,
    Exempt,
}

impl Charge {
    /// Checks the charge as the gateway would, naming the first field that is wrong.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.amount == 0 {
            return Err(FieldError::new(
                "amount",
                "must be a positive whole number of TWD",
            ));
        }
        for (i, item) in self.items.iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            validate::required_text(&field("id"), &item.id)?;
            validate::required_text(&field("name"), &item.name)?;
            if item.quantity == 0 {
                return Err(FieldError::new(field("quantity"), "must be at least 1"));
            }
            if item
                .unit_price
                .checked_mul(u64::from(item.quantity))
                .is_none()
            {
                return Err(FieldError::new(field("unit_price"), "is too large"));
            }
        }
        validate::order_sum(
            "amount",
            self.amount,
            self.items.iter().map(Item::total),
            self.discount,
            self.shipping_fee,
        )?;
        if self.echo.len() > ECHO_FIELDS {
            return Err(FieldError::new(
                "echo",
                format!(
                    "has {} values; the gateway carries at most {ECHO_FIELDS}",
                    self.echo.len()
                ),
            ));
        }
        if let Some(user_id) = &self.user_id {
            validate::required_text("user_id", user_id)?;
        }
        self.invoice.validate()
    }
}

impl InvoiceOptions {
    fn validate(&self) -> Result<(), FieldError> {
        match self {
            InvoiceOptions::StoreDefault | InvoiceOptions::None => Ok(()),
            InvoiceOptions::Cloud {
                carrier, tax_id, ..
            } => {
                if let Some(tax_id) = tax_id {
                    validate::tax_id("invoice.tax_id", tax_id)?;
                }
                match carrier {
                    Carrier::Member => Ok(()),
                    Carrier::MobileBarcode { code } => {
                        validate::mobile_barcode("invoice.carrier.code", code)
                    }
                    Carrier::NaturalPerson { code } => {
                        validate::natural_person("invoice.carrier.code", code)
                    }
                    Carrier::Email { email, .. } => validate::email("invoice.carrier.email", email),
                }
            }
            InvoiceOptions::Donation { love_code, .. } => {
                validate::love_code("invoice.love_code", love_code)
            }
            InvoiceOptions::Business {
                title,
                tax_id,
                address,
                ..
            } => {
                validate::required_text("invoice.title", title)?;
                validate::tax_id("invoice.tax_id", tax_id)?;
                validate::required_text("invoice.address", address)
            }
        }
    }
}

#[cfg(test)]
impl Charge {
    /// One latte for 60 TWD: the smallest consistent charge, for other modules' unit tests.
    pub(crate) fn one_latte() -> Charge {
        Charge {
            amount: 60,
            items: vec![Item {
                id: "1".into(),
                name: "拿鐵".into(),
                unit_price: 60,
                quantity: 1,
            }],
            discount: 0,
            shipping_fee: 0,
            invoice: InvoiceOptions::StoreDefault,
            echo: Vec::new(),
            user_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coffee() -> Charge {
        Charge {
            amount: 150,
            items: vec![
                Item {
                    id: "1".into(),
                    name: "拿鐵".into(),
                    unit_price: 60,
                    quantity: 2,
                },
                Item {
                    id: "2".into(),
                    name: "可頌".into(),
                    unit_price: 40,
                    quantity: 1,
                },
            ],
            discount: 10,
            shipping_fee: 0,
            invoice: InvoiceOptions::default(),
            echo: vec![],
            user_id: None,
        }
    }

    #[test]
    fn consistent_charge_passes() {
        coffee().validate().unwrap();
    }

    #[test]
    fn inconsistent_amount_names_the_sum() {
        let mut c = coffee();
        c.amount = 160;
        let e = c.validate().unwrap_err();
        assert_eq!(e.field, "amount");
        assert!(e.problem.contains("makes 150"), "{e}");
    }

    #[test]
    fn invoice_options_are_checked() {
        let mut c = coffee();
        c.invoice = InvoiceOptions::Business {
            title: "好咖啡有限公司".into(),
            tax_id: "12345678".into(),
            post_zone: None,
            address: "台北市".into(),
            rate: TaxRate::Taxable,
        };
        assert_eq!(c.validate().unwrap_err().field, "invoice.tax_id");
        c.invoice = InvoiceOptions::Cloud {
            carrier: Carrier::MobileBarcode {
                code: "/ABC1234".into(),
            },
            tax_id: None,
            rate: TaxRate::Taxable,
        };
        c.validate().unwrap();
    }

    #[test]
    fn unknown_fields_and_negative_amounts_are_refused() {
        let e = serde_json::from_str::<Charge>(r#"{"amount": 10, "colour": "red"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `colour`"), "{e}");
        assert!(serde_json::from_str::<Charge>(r#"{"amount": -5}"#).is_err());
        assert!(serde_json::from_str::<Charge>(r#"{"amount": 1.5}"#).is_err());
    }
}
