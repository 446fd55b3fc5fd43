//! The commands of the agent API and the `service` header that names one.

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
