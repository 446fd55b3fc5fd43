//! A charge in the agent API's terms: the `api/transaction` body of an offline charge.
//!
//! The mapping lives with the charge so that `crate::api`, the wire types, knows nothing of the
//! POS app's model.

use super::{Carrier, Charge, InvoiceOptions, Item, TaxRate};
use crate::api::values::{
    CloudInvoiceType, InvoiceInputType, InvoiceRateType, IssueInvoiceState, PaymentName,
};
use crate::api::{
    self, Consumer, InvoiceRequest, OfflineData, OrderFields, TransactionRequest, Twd,
};
use crate::payment_code::PaymentCode;

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
                items: charge.items.iter().map(api::Item::from).collect(),
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
            invoice: InvoiceRequest::from(&charge.invoice),
            agent_sms_fee_type: None,
            agent_charge_fee_type: None,
            agent_charge_fee: None,
            is_agent_charge: None,
            data_json: Some(OfflineData {
                qr_code: payment_code,
            }),
        }
    }
}

impl From<&Item> for api::Item {
    fn from(item: &Item) -> api::Item {
        api::Item {
            id: item.id.clone(),
            name: item.name.clone(),
            cost: Twd(item.unit_price),
            amount: u64::from(item.quantity),
            total: Twd(item.total()),
        }
    }
}

impl From<TaxRate> for InvoiceRateType {
    fn from(rate: TaxRate) -> InvoiceRateType {
        match rate {
            TaxRate::Taxable => InvoiceRateType::Taxable,
            TaxRate::ZeroRated => InvoiceRateType::ZeroRated,
            TaxRate::Exempt => InvoiceRateType::Exempt,
        }
    }
}

/// The wire fields for the merchant-facing invoice options.
impl From<&InvoiceOptions> for InvoiceRequest {
    fn from(options: &InvoiceOptions) -> InvoiceRequest {
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
                rate,
            } => {
                let mut req = InvoiceRequest {
                    issue_invoice_state: issue,
                    invoice_ratetype: Some((*rate).into()),
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
            InvoiceOptions::Donation { love_code, rate } => InvoiceRequest {
                issue_invoice_state: issue,
                invoice_ratetype: Some((*rate).into()),
                invoice_input_type: Some(InvoiceInputType::Donation),
                invoice_love_code: Some(love_code.clone()),
                ..Default::default()
            },
            InvoiceOptions::Business {
                title,
                tax_id,
                post_zone,
                address,
                rate,
            } => InvoiceRequest {
                issue_invoice_state: issue,
                invoice_ratetype: Some((*rate).into()),
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
