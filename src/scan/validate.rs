//! What a payment code looks like, and why a decoded text is refused.
//!
//! A QR decoder happily reads a shop's Wi-Fi code, a URL on a poster or half of an e-invoice.
//! None of those may reach the gateway, so every decoded text passes these checks first:
//! valid UTF-8, printable ASCII, length bounds, then one of the per-wallet patterns.
//!
//! The default wallet table ([`CodeRules::default`]) comes from the wallets' public
//! documentation; a deployment may replace it through [`CodeRulesConfig`].

pub use crate::payment_code::MaskedCode;
use std::fmt;

use regex::Regex;
use serde::Deserialize;

/// Why a decoded text is not accepted as a payment code.
///
/// Refusals never carry the text itself: it may be a real payment code of an unknown shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not a payment code: the bytes are not valid UTF-8 (first bad byte at {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error("not a payment code: character {position} is not printable ASCII")]
    NotPrintable { position: usize },
    #[error("not a payment code: {length} characters, fewer than the minimum {min}")]
    TooShort { length: usize, min: usize },
    #[error("not a payment code: {length} characters, more than the maximum {max}")]
    TooLong { length: usize, max: usize },
    #[error("not a payment code: {length} characters that match no wallet's pattern")]
    UnknownShape { length: usize },
}

/// One wallet's payment-code shape.
#[derive(Debug, Clone)]
pub struct WalletPattern {
    wallet: String,
    pattern: Regex,
}

impl WalletPattern {
    /// `pattern` must match the whole code: it is anchored here, so `[0-9]{18}` does not accept
    /// 19 digits.
    pub fn new(wallet: &str, pattern: &str) -> Result<Self, PatternError> {
        let anchored = format!("^(?:{pattern})$");
        let pattern = Regex::new(&anchored).map_err(|source| PatternError {
            wallet: wallet.to_owned(),
            source: Box::new(source),
        })?;
        Ok(Self {
            wallet: wallet.to_owned(),
            pattern,
        })
    }

    pub fn wallet(&self) -> &str {
        &self.wallet
    }

    fn matches(&self, text: &str) -> bool {
        self.pattern.is_match(text)
    }
}

/// A wallet pattern from configuration did not compile.
#[derive(Debug, thiserror::Error)]
#[error("payment-code pattern for wallet {wallet:?} is not a valid regular expression: {source}")]
pub struct PatternError {
    wallet: String,
    #[source]
    source: Box<regex::Error>,
}

/// The default wallet table: `(wallet, pattern, where the shape comes from)`.
///
/// Order matters: the first match names the wallet. LINE Pay Taiwan's 18 digits overlap
/// WeChat Pay's, so it comes last and only names codes no other wallet claims.
pub const DEFAULT_WALLETS: &[(&str, &str, &str)] = &[
    (
        "MyPay",
        "MY[0-9]{8}[0-9A-Za-z]{8}",
        "OCP agent API document sample `MY13697573pbmQsYhY`",
    ),
    (
        "JKOPay",
        "22[0-9A-Z]{16}",
        "JKOPay POS API `CardToken`: \"22\" then 16 random characters",
    ),
    (
        "WeChat Pay",
        "1[0-5][0-9]{16}",
        "WeChat Pay micropay `auth_code`: 18 digits starting 10-15",
    ),
    (
        "Alipay",
        "(2[5-9]|30)[0-9]{14,22}",
        "Alipay barcode pay `auth_code`: 16-24 digits starting 25-30",
    ),
    (
        "LINE Pay",
        "[0-9]{18}",
        "LINE Pay Offline `oneTimeKey`: 18 digits in Taiwan",
    ),
];

/// Settings a deployment may override; anything left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRulesConfig {
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// Replaces the whole default wallet table when given.
    pub wallets: Option<Vec<WalletPatternConfig>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletPatternConfig {
    pub wallet: String,
    pub pattern: String,
}

/// The checks a decoded text must pass to count as a payment code.
#[derive(Debug, Clone)]
pub struct CodeRules {
    min_length: usize,
    max_length: usize,
    wallets: Vec<WalletPattern>,
}

impl CodeRules {
    const DEFAULT_MIN_LENGTH: usize = 12;
    const DEFAULT_MAX_LENGTH: usize = 64;

    pub fn new(min_length: usize, max_length: usize, wallets: Vec<WalletPattern>) -> Self {
        Self {
            min_length,
            max_length,
            wallets,
        }
    }

    pub fn from_config(config: &CodeRulesConfig) -> Result<Self, PatternError> {
        let wallets = match &config.wallets {
            Some(wallets) => wallets
                .iter()
                .map(|w| WalletPattern::new(&w.wallet, &w.pattern))
                .collect::<Result<_, _>>()?,
            None => default_wallets(),
        };
        Ok(Self::new(
            config.min_length.unwrap_or(Self::DEFAULT_MIN_LENGTH),
            config.max_length.unwrap_or(Self::DEFAULT_MAX_LENGTH),
            wallets,
        ))
    }

    /// Accepts `bytes` as a payment code or says why not.
    pub fn check(&self, bytes: &[u8]) -> Result<PaymentCode, Refusal> {
        let text = std::str::from_utf8(bytes).map_err(|e| Refusal::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        if let Some(position) = text.chars().position(|c| !c.is_ascii_graphic()) {
            return Err(Refusal::NotPrintable { position });
        }
        let length = text.len();
        if length < self.min_length {
            return Err(Refusal::TooShort {
                length,
                min: self.min_length,
            });
        }
        if length > self.max_length {
            return Err(Refusal::TooLong {
                length,
                max: self.max_length,
            });
        }
        let wallet = self
            .wallets
            .iter()
            .find(|w| w.matches(text))
            .ok_or(Refusal::UnknownShape { length })?;
        Ok(PaymentCode {
            text: text.to_owned(),
            wallet: wallet.wallet.clone(),
        })
    }
}

impl Default for CodeRules {
    fn default() -> Self {
        Self::new(
            Self::DEFAULT_MIN_LENGTH,
            Self::DEFAULT_MAX_LENGTH,
            default_wallets(),
        )
    }
}

fn default_wallets() -> Vec<WalletPattern> {
    DEFAULT_WALLETS
        .iter()
        .map(|(wallet, pattern, _)| {
            WalletPattern::new(wallet, pattern).expect("the default wallet patterns compile")
        })
        .collect()
}

/// A validated payment code. `Debug` and `Display` show it masked; only [`Self::expose`] gives
/// the full text, for the request to the gateway.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode {
    text: String,
    wallet: String,
}

impl PaymentCode {
    /// The full code, to be sent to the gateway and nowhere else.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The wallet whose pattern matched first.
    pub fn wallet(&self) -> &str {
        &self.wallet
    }

    pub fn masked(&self) -> MaskedCode {
        MaskedCode::of(&self.text)
    }
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentCode")
            .field("text", &self.masked())
            .field("wallet", &self.wallet)
            .finish()
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.masked(), self.wallet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wallet_of(code: &str) -> Result<String, Refusal> {
        CodeRules::default()
            .check(code.as_bytes())
            .map(|c| c.wallet().to_owned())
    }

    #[test]
    fn default_table_names_each_wallet() {
        assert_eq!(wallet_of("MY13697573pbmQsYhY").unwrap(), "MyPay");
        assert_eq!(wallet_of("22J111111111111111").unwrap(), "JKOPay");
        assert_eq!(wallet_of("134567890123456789").unwrap(), "WeChat Pay");
        assert_eq!(wallet_of("2812345678901234").unwrap(), "Alipay");
        assert_eq!(wallet_of("301234567890123456789012").unwrap(), "Alipay");
        assert_eq!(wallet_of("912345678901234567").unwrap(), "LINE Pay");
    }

    #[test]
    fn refuses_urls_and_plain_text() {
        assert_eq!(
            wallet_of("https://example.com/pay"),
            Err(Refusal::UnknownShape { length: 23 })
        );
        assert_eq!(
            wallet_of("WIFI:S:shop;T:WPA;P:secret;;"),
            Err(Refusal::UnknownShape { length: 28 })
        );
    }

    #[test]
    fn refuses_codes_one_digit_off() {
        assert!(wallet_of("1345678901234567890").is_err(), "19 digits");
        assert!(wallet_of("16456789012345678").is_err(), "17 digits");
        assert!(wallet_of("MY13697573pbmQsYh").is_err(), "MyPay one short");
    }

    #[test]
    fn refuses_invalid_utf8_with_position() {
        let refusal = CodeRules::default()
            .check(b"MY1369\xff7573pbmQsYhY")
            .unwrap_err();
        assert_eq!(refusal, Refusal::NotUtf8 { valid_up_to: 6 });
    }

    #[test]
    fn refuses_unprintable_with_position() {
        let rules = CodeRules::default();
        assert_eq!(
            rules.check(b"1345678901 23456789").unwrap_err(),
            Refusal::NotPrintable { position: 10 }
        );
        assert_eq!(
            rules
                .check("13456789\u{7}0123456789".as_bytes())
                .unwrap_err(),
            Refusal::NotPrintable { position: 8 }
        );
        assert_eq!(
            rules
                .check("付款碼134567890123456789".as_bytes())
                .unwrap_err(),
            Refusal::NotPrintable { position: 0 }
        );
    }

    #[test]
    fn refuses_by_length_before_pattern() {
        let rules = CodeRules::default();
        assert_eq!(
            rules.check(b"12345").unwrap_err(),
            Refusal::TooShort { length: 5, min: 12 }
        );
        assert_eq!(
            rules.check("9".repeat(65).as_bytes()).unwrap_err(),
            Refusal::TooLong {
                length: 65,
                max: 64
            }
        );
    }

    #[test]
    fn configuration_replaces_the_wallet_table() {
        let config: CodeRulesConfig = toml::from_str(
            r#"
            min_length = 6
            wallets = [{ wallet = "Test wallet", pattern = "TW[0-9]{6}" }]
            "#,
        )
        .unwrap();
        let rules = CodeRules::from_config(&config).unwrap();
        assert_eq!(rules.check(b"TW123456").unwrap().wallet(), "Test wallet");
        assert_eq!(
            rules.check(b"134567890123456789").unwrap_err(),
            Refusal::UnknownShape { length: 18 }
        );
    }

    #[test]
    fn bad_configured_pattern_names_the_wallet() {
        let config = CodeRulesConfig {
            wallets: Some(vec![WalletPatternConfig {
                wallet: "Broken".into(),
                pattern: "([0-9]".into(),
            }]),
            ..Default::default()
        };
        let message = CodeRules::from_config(&config).unwrap_err().to_string();
        assert!(message.contains("\"Broken\""), "{message}");
    }

    #[test]
    fn masks_all_but_head_and_tail() {
        assert_eq!(
            MaskedCode::of("MY13697573pbmQsYhY").as_str(),
            "MY13************hY"
        );
        assert_eq!(MaskedCode::of("12345678").as_str(), "********");
        let code = CodeRules::default().check(b"134567890123456789").unwrap();
        assert_eq!(
            format!("{code:?}"),
            "PaymentCode { text: MaskedCode(\"1345************89\"), wallet: \"WeChat Pay\" }"
        );
        assert_eq!(code.to_string(), "1345************89 (WeChat Pay)");
    }
}
