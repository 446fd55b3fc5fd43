//! The value tables of the API document (『…』值內容), one enum each.
//!
//! Every enum keeps a value it does not know in an `Other` variant instead of refusing the answer:
//! the gateway may add values, and a charge must not fail because a label is new.

use super::lenient::{Lenient, Sent};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// An enum whose wire form is an integer (sent as a number, sometimes received as `"1"`).
macro_rules! int_values {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know.
            Other(i64),
        }

        impl $name {
            pub fn value(self) -> i64 {
                match self {
                    $($name::$variant => $value,)+
                    $name::Other(v) => v,
                }
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                match v {
                    $($value => $name::$variant,)+
                    other => $name::Other(other),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.value())
            }
        }

        impl $name {
            fn from_sent(sent: Sent<'_>) -> Result<Self, String> {
                $name::read_whole(&sent).ok_or_else(|| $name::not_whole(sent))
            }

            #[inline]
            fn read_whole(sent: &Sent<'_>) -> Option<Self> {
                sent.whole_number()
                    .and_then(|n| i64::try_from(n).ok())
                    .map($name::from)
            }

            fn not_whole(sent: Sent<'_>) -> String {
                format!("{} is not a whole number ({})", sent.into_value(), stringify!($name))
            }
        }

        impl Lenient for $name {
            #[inline]
            fn read(sent: Sent<'_>) -> Result<Option<Self>, String> {
                // Blank text is never a number: it is looked for only when no value was read.
                match $name::read_whole(&sent) {
                    Some(value) => Ok(Some(value)),
                    None if sent.is_blank() => Ok(None),
                    None => Err($name::not_whole(sent)),
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::from_sent(Sent::deserialize(d)?).map_err(de::Error::custom)
            }
        }
    };
}

/// An enum whose wire form is a string code.
macro_rules! text_values {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $value,)+
                    $name::Other(v) => v,
                }
            }
        }

        impl From<&str> for $name {
            fn from(v: &str) -> Self {
                match v {
                    $($value => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl $name {
            fn from_sent(sent: Sent<'_>) -> Result<Self, String> {
                match sent {
                    Sent::Text(text) => Ok($name::from(text.as_ref())),
                    other => match other.into_value() {
                        Value::Number(n) => Ok($name::from(n.to_string().as_str())),
                        other => Err(format!("{other} is not a {} value", stringify!($name))),
                    },
                }
            }
        }

        impl Lenient for $name {
            #[inline]
            fn read(sent: Sent<'_>) -> Result<Option<Self>, String> {
                if sent.is_blank() {
                    return Ok(None);
                }
                $name::from_sent(sent).map(Some)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::from_sent(Sent::deserialize(d)?).map_err(de::Error::custom)
            }
        }
    };
}

int_values! {
    /// 『電子發票是否開立狀態』 `issue_invoice_state`.
    IssueInvoiceState { DoNotIssue = 0, Issue = 1, StoreDefault = 2, }
}
int_values! {
    /// 『電子發票稅率別』 `invoice_ratetype`.
    InvoiceRateType { Taxable = 1, ZeroRated = 2, Exempt = 3, }
}
int_values! {
    /// 『電子發票開立類型』 `invoice_input_type`.
    InvoiceInputType { NotUsed = 0, Cloud = 1, Donation = 2, Physical = 3, }
}
int_values! {
    /// 『雲端發票類型』 `invoice_cloud_type`.
    CloudInvoiceType { NotUsed = 0, MobileBarcode = 2, NaturalPerson = 3, Email = 4, }
}
int_values! {
    /// 『電子發票開立狀態類型』 `invoice_state`.
    InvoiceState {
        /// Not processed, or no longer valid (the default).
        NotProcessed = 0,
        /// Waiting to be issued.
        Waiting = 1,
        /// Issued: the only state whose proof may be printed.
        Issued = 2,
        /// Failed: the store's invoice settings are wrong.
        FailedSettings = 3,
        Voided = 4,
        /// Failed: system error at the gateway.
        FailedSystem = 5,
        /// An allowance (折讓) was made.
        Allowance = 6,
    }
}
int_values! {
    /// 『電子發票紙本列印標題類型』 `invoice_title_type`.
    InvoiceTitleType { Text = 1, Image = 2, }
}
int_values! {
    /// 『電子發票列印類型』 `invoice_print_type`.
    InvoicePrintType {
        Nothing = 0,
        InvoiceAndDetail = 1,
        InvoiceOnly = 2,
        DetailOnly = 3,
    }
}
int_values! {
    /// 『電子發票列印設備』 `invoice_print_device`.
    InvoicePrintDevice { Merchant = 0, SunmiV2Pro = 1, }
}
int_values! {
    /// 『信用卡別類型』 `card_type`.
    CardType { Unrecognised = 0, Visa = 1, MasterCard = 2, Jcb = 3, Amex = 4, }
}
int_values! {
    /// 『交易服務類型』 `transaction_mode`.
    TransactionMode { NotYet = 0, CollectionAgent = 1, Merchant = 2, }
}
int_values! {
    /// 『交易類型定義』 `trans_type`.
    TransType { Normal = 1, Installment = 2, Bonus = 3, }
}
int_values! {
    /// 『閘道內容回傳格式類型』 `result_type`.
    ResultType { Unknown = 0, Url = 1, Html = 2, Xml = 3, Json = 4, Csv = 5, Stream = 6, }
}
int_values! {
    /// 『證號類型』 `user_sn_type`.
    UserSnType { NationalId = 1, ResidentId = 2, Passport = 3, }
}
int_values! {
    /// 『含不含簡訊費』 / 『含不含手續費類型』 `agent_sms_fee_type`, `agent_charge_fee_type`.
    FeeInclusion { Excluded = 0, Included = 1, }
}
int_values! {
    /// 『是否為經銷商代收費模式』 `is_agent_charge`.
    AgentChargeMode { No = 0, Yes = 1, }
}
int_values! {
    /// 『驗證類型』 `method_type` of `api/verification`.
    VerificationMethod { SmsOtp = 1, Edda = 2, Twid = 3, EddaOrTwid = 4, NationalId = 5, }
}

text_values! {
    /// 『電子錢包交易類型』 `type` of `api/ewallet`.
    EWalletType { Bind = "bind", Pay = "pay", }
}
text_values! {
    /// 『付款方式』 / 『資料內容所屬支付名稱』: `pfn` and `result_content_type`.
    PaymentName {
        Offline = "OFFLINE",
        VirtualAccount = "E_COLLECTION",
        Ibon = "IBON",
        FamiPort = "FAMIPORT",
        LifeEt = "LIFEET",
        WebAtm = "WEBATM",
        CreditCard = "CREDITCARD",
        UnionPay = "UNIONPAY",
        PointCard = "SVC",
        Abroad = "ABROAD",
        Alipay = "ALIPAY",
        WeChat = "WECHAT",
        LinePayOnline = "LINEPAYON",
        LinePayOffline = "LINEPAYOFF",
        WeChatOffline = "WECHATOFF",
        ApplePay = "APPLEPAY",
        GooglePay = "GOOGLEPAY",
        Each = "EACH",
        Cardless = "CARDLESS",
        PiOnline = "PION",
        PiOffline = "PIOFF",
        Amex = "AMEX",
        JkoOnline = "JKOON",
        JkoOffline = "JKOOFF",
        AlipayOffline = "ALIPAYOFF",
        Recharge = "M_RECHARGE",
        EasyWalletOnline = "EASYWALLETON",
        EasyWalletOffline = "EASYWALLETOFF",
        PayLater = "AFP",
        Barcode = "BARCODE",
    }
}
text_values! {
    /// 『EDDA交易代碼』 `tix` of `api/verification`.
    EddaCode {
        Charity = "530",
        Shopping = "560",
        ConsumerLoan = "803",
        Instalment = "902",
        Security = "903",
        Goods = "904",
        TopUp = "908",
        Rent = "909",
        Membership = "910",
        Brokerage = "912",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_unknown_and_stringly_values() {
        assert_eq!(
            serde_json::from_str::<InvoiceState>("2").unwrap(),
            InvoiceState::Issued
        );
        assert_eq!(
            serde_json::from_str::<CardType>("\"1\"").unwrap(),
            CardType::Visa
        );
        assert_eq!(
            serde_json::from_str::<InvoicePrintType>("9").unwrap(),
            InvoicePrintType::Other(9)
        );
        assert_eq!(
            serde_json::from_str::<PaymentName>("\"NEWPAY\"").unwrap(),
            PaymentName::Other("NEWPAY".into())
        );
        assert_eq!(
            serde_json::to_string(&InvoiceRateType::Exempt).unwrap(),
            "3"
        );
        assert_eq!(
            serde_json::to_string(&EWalletType::Bind).unwrap(),
            "\"bind\""
        );
        assert!(serde_json::from_str::<InvoiceState>("\"two\"").is_err());
    }
}
