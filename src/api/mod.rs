//! The agent API's wire types: commands, requests, responses and their value tables.
//!
//! Every command is a pair of types tied together by [`Request`]: the `encry_data` body and the
//! answer. Requests validate themselves before anything is sent ([`Request::validate`]); the gateway
//! simulator runs the same checks on what it receives.
pub mod code;
pub mod command;
pub mod fields;
pub mod invoice;
pub mod lenient;
pub mod request;
pub mod response;
pub mod validate;
pub mod values;
pub mod verdict;

pub use code::Code;
pub use command::{Command, Service};
pub use invoice::{InvoiceDetailLine, InvoiceFields, InvoiceRequest};
pub use lenient::Twd;
pub use request::*;
pub use response::*;
pub use validate::FieldError;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A command's request body, its answer type, and its checks.
pub trait Request: Serialize + DeserializeOwned {
    const COMMAND: Command;
    type Response: Serialize + DeserializeOwned;
    fn validate(&self) -> Result<(), FieldError>;
}

/// `api/directdeal`'s body: the online deal fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct DirectDealRequest(pub OnlineDealRequest);

/// `api/shoppingdeal`'s body: the online deal fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ShoppingDealRequest(pub OnlineDealRequest);

macro_rules! request {
    ($ty:ty, $command:ident, $response:ty, |$this:ident| $validate:expr) => {
        impl Request for $ty {
            const COMMAND: Command = Command::$command;
            type Response = $response;
            fn validate(&self) -> Result<(), FieldError> {
                let $this = self;
                $validate
            }
        }
    };
}

request!(TransactionRequest, Transaction, TransactionResponse, |r| r
    .validate());
request!(QueryDirectRequest, QueryDirect, QueryDirectResponse, |r| r
    .validate());
request!(EWalletRequest, EWallet, WalletResponse, |r| r.validate());
request!(DirectDealRequest, DirectDeal, WalletResponse, |r| r
    .0
    .validate());
request!(ShoppingDealRequest, ShoppingDeal, WalletResponse, |r| r
    .0
    .validate());
request!(VerificationRequest, Verification, WalletResponse, |r| r
    .validate());
request!(ForgotTpRequest, ForgotTp, WalletResponse, |r| r.validate());
request!(
    MemberStatusRequest,
    MemberStatus,
    MemberStatusResponse,
    |r| r.validate()
);

/// Parses a decrypted `encry_data` body as `T`, naming the field that does not fit.
pub fn parse_body<T: Request>(json: &serde_json::Value) -> Result<T, FieldError> {
    parse_part::<T>(json).map_err(|e| {
        if e.field != WHOLE_BODY {
            return e;
        }
        // Fields of flattened blocks lose their path; reading each block alone finds the field.
        parse_part::<OrderFields>(json)
            .err()
            .or_else(|| parse_part::<Consumer>(json).err())
            .or_else(|| parse_part::<InvoiceRequest>(json).err())
            .filter(|located| located.field != WHOLE_BODY)
            .unwrap_or(e)
    })
}

const WHOLE_BODY: &str = "encry_data";

fn parse_part<T: serde::de::DeserializeOwned>(json: &serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            WHOLE_BODY.to_owned()
        } else {
            path
        };
        FieldError::new(field, e.into_inner().to_string())
    })
}

/// Parses and validates a body for `command`, as the simulator and `posd gateway call` do.
pub fn check_body(command: Command, json: &serde_json::Value) -> Result<(), FieldError> {
    fn check<T: Request>(json: &serde_json::Value) -> Result<(), FieldError> {
        parse_body::<T>(json)?.validate()
    }
    match command {
        Command::Transaction => check::<TransactionRequest>(json),
        Command::QueryDirect => check::<QueryDirectRequest>(json),
        Command::EWallet => check::<EWalletRequest>(json),
        Command::DirectDeal => check::<DirectDealRequest>(json),
        Command::ShoppingDeal => check::<ShoppingDealRequest>(json),
        Command::Verification => check::<VerificationRequest>(json),
        Command::ForgotTp => check::<ForgotTpRequest>(json),
        Command::MemberStatus => check::<MemberStatusRequest>(json),
    }
}
