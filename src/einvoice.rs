//! The Ministry of Finance e-invoice (電子發票) as printed on the proof (電子發票證明聯).
//!
//! An [`Invoice`] holds what the tax authority registers: the number (word track + 8 digits),
//! the issue date-time, the 4-digit random code, the amounts in whole TWD, the seller's and
//! optional buyer's business numbers (統一編號, BAN) and the items. From it this module derives
//! the texts that go on paper and into codes, following the MoF barcode specification
//! (電子發票證明聯一維及二維條碼規格說明):
//!
//! - the period label, `113年11-12月`: invoices are grouped in two-month periods 01-02 … 11-12,
//!   years counted in the ROC calendar (Gregorian − 1911);
//! - the 19-character Code 39 text: ROC year (3) + the period's even month (2) + number (10) +
//!   random code (4);
//! - the two QR texts: the left one opens with a 77-character fixed header, then `:`-separated
//!   fields and the first items; the right one is `**` followed by the remaining items.
//!
//! The module is pure: no I/O, no clock, no randomness. The gateway normally sends these texts
//! ready-made; the printing path prints the gateway's strings byte for byte, and this module is
//! what produces realistic, self-consistent ones (the simulator, the samples, the tests).
//!
//! [`Invoice`]: crate::einvoice::Invoice

use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::fmt;

type CheckEncryptor = cbc::Encryptor<aes::Aes128>;

/// The IV the MoF's published QR-code library uses for the check value
/// (`Dt8lyToo17X/XkXaQvihuA==` in base64). Readers verifying the check value assume it.
const CHECK_VALUE_IV: [u8; 16] = [
    0x0e, 0xdf, 0x25, 0xc9, 0x3a, 0x28, 0xd7, 0xb5, 0xff, 0x5e, 0x45, 0xda, 0x42, 0xf8, 0xa1, 0xb8,
];

/// Length of the fixed header that opens the left QR text.
pub const LEFT_QR_HEADER_LEN: usize = 77;

/// Length of the Code 39 text.
pub const BARCODE_TEXT_LEN: usize = 19;

/// How many bytes one QR text may hold so that it still prints at the size the proof requires.
///
/// The proof is 5.7 cm wide whatever the printer: two codes side by side, each at least 1.5 cm
/// (120 dots at 8 dots/mm) with quiet zones of at least 16 dots, fit in 384 dots with 3-dot
/// modules up to version 9 (53 modules, 159 dots). Version 9 at error correction L carries 230
/// bytes in byte mode, the least compact mode; a text within this bound therefore always fits.
pub const QR_TEXT_CAPACITY: usize = 230;

/// The 10-character area reserved for the merchant when it has nothing to put there.
pub const EMPTY_MERCHANT_AREA: &str = "**********";

/// Encoding flag of the left QR text: item names are UTF-8.
const ENCODING_FLAG_UTF8: &str = "1";
/// Encoding flag of the left QR text: item names are Big5.
const ENCODING_FLAG_BIG5: &str = "0";

/// Why a value could not be taken as part of an invoice. Each variant names the field and the
/// value that was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error(
        "invoice number {0:?}: expected a word track of 2 capital letters and 8 digits, e.g. AB12345678"
    )]
    Number(String),
    #[error("invoice date {0:?}: expected YYYYMMDDHHmmss, a real date and time from 1912 on")]
    Date(String),
    #[error("random code {0:?}: expected 4 digits")]
    RandomCode(String),
    #[error("business number (統一編號) {0:?}: expected 8 digits")]
    Ban(String),
    #[error("check key: expected 32 hexadecimal characters (an AES-128 key)")]
    CheckKey,
    #[error("merchant area {0:?}: expected exactly 10 characters without ':'")]
    MerchantArea(String),
}

/// An invoice number: the 2-letter word track (字軌) and 8 digits, printed `AB-12345678`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InvoiceNumber {
    word_track: String,
    digits: String,
}

impl InvoiceNumber {
    /// Takes the number as one string, `AB12345678` (a dash after the track is accepted too).
    pub fn parse(text: &str) -> Result<Self, InvoiceError> {
        let compact: String = text.trim().chars().filter(|c| *c != '-').collect();
        if compact.len() != 10 || !compact.is_ascii() {
            return Err(InvoiceError::Number(text.to_owned()));
        }
        Self::from_parts(&compact[..2], &compact[2..])
            .map_err(|_| InvoiceError::Number(text.to_owned()))
    }

    /// Takes the number as the gateway sends it: `invoice_wordtrack` and `invoice_number`.
    pub fn from_parts(word_track: &str, digits: &str) -> Result<Self, InvoiceError> {
        let track_ok = word_track.len() == 2 && word_track.bytes().all(|b| b.is_ascii_uppercase());
        let digits_ok = digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit());
        if !track_ok || !digits_ok {
            return Err(InvoiceError::Number(format!("{word_track}{digits}")));
        }
        Ok(InvoiceNumber {
            word_track: word_track.to_owned(),
            digits: digits.to_owned(),
        })
    }

    pub fn word_track(&self) -> &str {
        &self.word_track
    }

    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The 10 characters used in codes: `AB12345678`.
    pub fn compact(&self) -> String {
        format!("{}{}", self.word_track, self.digits)
    }
}

impl fmt::Display for InvoiceNumber {
    /// The printed form, `AB-12345678`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.word_track, self.digits)
    }
}

/// The issue date and time, Gregorian, local time of Taiwan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IssueTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl IssueTime {
    /// Parses the gateway's `invoice_date`, `YYYYMMDDHHmmss`.
    pub fn parse(text: &str) -> Result<Self, InvoiceError> {
        let bad = || InvoiceError::Date(text.to_owned());
        if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let field = |range: std::ops::Range<usize>| text[range].parse::<u16>().map_err(|_| bad());
        let time = IssueTime {
            year: field(0..4)?,
            month: field(4..6)? as u8,
            day: field(6..8)? as u8,
            hour: field(8..10)? as u8,
            minute: field(10..12)? as u8,
            second: field(12..14)? as u8,
        };
        let valid = time.year >= 1912
            && (1..=12).contains(&time.month)
            && time.day >= 1
            && time.day <= days_in_month(time.year, time.month)
            && time.hour < 24
            && time.minute < 60
            && time.second < 60;
        if valid { Ok(time) } else { Err(bad()) }
    }

    /// The year in the ROC calendar (民國), e.g. 113 for 2024.
    pub fn roc_year(&self) -> u16 {
        self.year - 1911
    }

    /// The even month that closes this date's two-month period (02, 04, … 12).
    pub fn period_end_month(&self) -> u8 {
        self.month.div_ceil(2) * 2
    }

    /// The printed form, `2024-01-15 13:45:10`.
    pub fn printed(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// The gateway's form, `YYYYMMDDHHmmss`.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The 4-digit random code (隨機碼) that, with the number, identifies the invoice to a reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RandomCode(String);

impl RandomCode {
    pub fn parse(text: &str) -> Result<Self, InvoiceError> {
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(RandomCode(text.to_owned()))
        } else {
            Err(InvoiceError::RandomCode(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A business identification number (統一編號), 8 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ban(String);

impl Ban {
    pub fn parse(text: &str) -> Result<Self, InvoiceError> {
        if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Ban(text.to_owned()))
        } else {
            Err(InvoiceError::Ban(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The amounts of an invoice in whole TWD. Built from sales and tax so that
/// `sales + tax == total` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amounts {
    sales: u64,
    tax: u64,
}

impl Amounts {
    pub fn new(sales: u64, tax: u64) -> Self {
        Amounts { sales, tax }
    }

    /// Amounts of a consumer (B2C) invoice, whose prices include the 5% business tax: the tax
    /// part is `round(total / 21)`, as the MoF rounding rule gives for a 5% rate.
    pub fn tax_included(total: u64) -> Self {
        let tax = (total * 10 + 105) / 210;
        Amounts {
            sales: total - tax,
            tax,
        }
    }

    pub fn sales(&self) -> u64 {
        self.sales
    }

    pub fn tax(&self) -> u64 {
        self.tax
    }

    pub fn total(&self) -> u64 {
        self.sales + self.tax
    }
}

/// One line of the invoice: name, quantity and unit price in whole TWD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Item {
    pub name: String,
    pub quantity: u32,
    pub unit_price: u64,
}

impl Item {
    pub fn new(name: impl Into<String>, quantity: u32, unit_price: u64) -> Self {
        Item {
            name: name.into(),
            quantity,
            unit_price,
        }
    }

    pub fn amount(&self) -> u64 {
        u64::from(self.quantity) * self.unit_price
    }

    /// The item as a QR field triple, `name:quantity:unit price`. A `:` inside the name would
    /// shift every later field for a reader, so it is written as the full-width `：`.
    fn qr_fields(&self) -> String {
        format!(
            "{}:{}:{}",
            self.name.replace(':', "："),
            self.quantity,
            self.unit_price
        )
    }
}

/// The AES-128 key the merchant registered with the MoF for the QR check value. Its `Debug`
/// form never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CheckKey([u8; 16]);

impl CheckKey {
    /// Takes the key as the MoF platform shows it: 32 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, InvoiceError> {
        let bytes = hex::decode(text.trim()).map_err(|_| InvoiceError::CheckKey)?;
        let key: [u8; 16] = bytes.try_into().map_err(|_| InvoiceError::CheckKey)?;
        Ok(CheckKey(key))
    }
}

impl fmt::Debug for CheckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckKey(<redacted>)")
    }
}

/// The 24-character check value of the left QR header: AES-128-CBC of number (10) + random
/// code (4) under the merchant's key, base64. 14 bytes pad to one block, which base64 makes 24
/// characters.
pub fn check_value(key: &CheckKey, number: &InvoiceNumber, random_code: &RandomCode) -> String {
    let plaintext = format!("{}{}", number.compact(), random_code.as_str());
    let ciphertext = CheckEncryptor::new(&key.0.into(), &CHECK_VALUE_IV.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext.as_bytes());
    BASE64.encode(ciphertext)
}

/// The 10-character area of the left QR text that the merchant may use for itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MerchantArea(String);

impl MerchantArea {
    pub fn parse(text: &str) -> Result<Self, InvoiceError> {
        if text.chars().count() == 10 && !text.contains(':') {
            Ok(MerchantArea(text.to_owned()))
        } else {
            Err(InvoiceError::MerchantArea(text.to_owned()))
        }
    }
}

impl Default for MerchantArea {
    fn default() -> Self {
        MerchantArea(EMPTY_MERCHANT_AREA.to_owned())
    }
}

/// The texts of the two QR codes, and how many items they record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrTexts {
    pub left: String,
    pub right: String,
    /// Items written into the two codes, in invoice order. Fewer than the invoice's items when
    /// the rest did not fit; the left text says so in its item-count field.
    pub items_recorded: usize,
}

/// An issued e-invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub number: InvoiceNumber,
    pub issued_at: IssueTime,
    pub random_code: RandomCode,
    pub amounts: Amounts,
    pub seller_ban: Ban,
    /// Present for a business buyer (B2B); the proof then shows `買方` and `格式 25`.
    pub buyer_ban: Option<Ban>,
    pub items: Vec<Item>,
}

impl Invoice {
    /// The period label printed on the proof, `113年11-12月`.
    pub fn period_label(&self) -> String {
        period_label(&self.issued_at)
    }

    /// The 19-character Code 39 text.
    pub fn barcode_text(&self) -> String {
        format!(
            "{:03}{:02}{}{}",
            self.issued_at.roc_year(),
            self.issued_at.period_end_month(),
            self.number.compact(),
            self.random_code.as_str()
        )
    }

    /// The 77-character fixed header of the left QR text.
    pub fn left_qr_header(&self, key: &CheckKey) -> String {
        let date = &self.issued_at;
        format!(
            "{number}{year:03}{month:02}{day:02}{random}{sales:08x}{total:08x}{buyer}{seller}{check}",
            number = self.number.compact(),
            year = date.roc_year(),
            month = date.month,
            day = date.day,
            random = self.random_code.as_str(),
            sales = self.amounts.sales(),
            total = self.amounts.total(),
            buyer = self.buyer_ban.as_ref().map_or("00000000", Ban::as_str),
            seller = self.seller_ban.as_str(),
            check = check_value(key, &self.number, &self.random_code),
        )
    }

    /// Both QR texts, each within [`QR_TEXT_CAPACITY`] bytes.
    ///
    /// Items fill the left code first, then the right one, in order; the first item that fits in
    /// neither ends the list, so a reader never sees a gap. The left text records how many items
    /// the codes carry and how many the invoice has.
    pub fn qr_texts(&self, key: &CheckKey, merchant_area: &MerchantArea) -> QrTexts {
        let header = self.left_qr_header(key);
        let total_items = self.items.len();
        // The recorded count is not known until the split is done, but it never has more digits
        // than the total, so sizing with the total is safe.
        let fixed_len = header.len()
            + format!(
                ":{}:{total_items}:{total_items}:{ENCODING_FLAG_UTF8}",
                merchant_area.0
            )
            .len();

        let fields: Vec<String> = self.items.iter().map(Item::qr_fields).collect();
        let mut left_items = 0;
        let mut left_len = fixed_len;
        while let Some(field) = fields.get(left_items) {
            if left_len + 1 + field.len() > QR_TEXT_CAPACITY {
                break;
            }
            left_len += 1 + field.len();
            left_items += 1;
        }
        let mut right = String::from("**");
        let mut recorded = left_items;
        for field in &fields[left_items..] {
            let separator = usize::from(recorded > left_items);
            if right.len() + separator + field.len() > QR_TEXT_CAPACITY {
                break;
            }
            if separator == 1 {
                right.push(':');
            }
            right.push_str(field);
            recorded += 1;
        }

        let mut left = format!(
            "{header}:{}:{recorded}:{total_items}:{ENCODING_FLAG_UTF8}",
            merchant_area.0
        );
        for field in &fields[..left_items] {
            left.push(':');
            left.push_str(field);
        }
        QrTexts {
            left,
            right,
            items_recorded: recorded,
        }
    }
}

/// The bytes the two QR codes carry, from the texts the gateway sends. Its JSON can only carry
/// Unicode, so a left text whose encoding flag (the fifth field after the fixed header) says
/// Big5 is encoded to Big5, the right text with it: a phone reads the codes by that flag. Any
/// other flag (UTF-8, Base64) keeps the texts' bytes exactly as sent. A character Big5 lacks
/// becomes a numeric character reference (`&#NNNN;`), so the other names still read.
pub fn qr_bytes<'a>(left: &'a str, right: &'a str) -> [std::borrow::Cow<'a, [u8]>; 2] {
    let flag = left
        .get(LEFT_QR_HEADER_LEN..)
        .and_then(|rest| rest.split(':').nth(4));
    if flag == Some(ENCODING_FLAG_BIG5) {
        [
            encoding_rs::BIG5.encode(left).0,
            encoding_rs::BIG5.encode(right).0,
        ]
    } else {
        [left.as_bytes().into(), right.as_bytes().into()]
    }
}

/// The period label for a date, `113年11-12月`.
pub fn period_label(date: &IssueTime) -> String {
    let end = date.period_end_month();
    format!("{}年{:02}-{:02}月", date.roc_year(), end - 1, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_texts_flagged_big5_are_carried_in_big5_and_others_as_sent() {
        let header = "A".repeat(LEFT_QR_HEADER_LEN);
        let left = |flag: &str| format!("{header}:**********:1:1:{flag}:拿鐵咖啡:2:75");
        let right = "**:可頌:1:45";
        let big5 = left("0");
        let [l, r] = qr_bytes(&big5, right);
        assert_eq!(&*l, &*encoding_rs::BIG5.encode(&big5).0);
        assert_eq!(&*r, &*encoding_rs::BIG5.encode(right).0);
        assert_ne!(&*l, big5.as_bytes());
        for flag in ["1", "2"] {
            let text = left(flag);
            let [l, r] = qr_bytes(&text, right);
            assert_eq!(&*l, text.as_bytes());
            assert_eq!(&*r, right.as_bytes());
        }
        // A text too short to hold the flag is carried as sent.
        let [l, _] = qr_bytes("拿鐵", right);
        assert_eq!(&*l, "拿鐵".as_bytes());
    }

    fn key() -> CheckKey {
        CheckKey::from_hex("0123456789ABCDEF0123456789ABCDEF").unwrap()
    }

    fn sample(items: Vec<Item>) -> Invoice {
        Invoice {
            number: InvoiceNumber::parse("AB12345678").unwrap(),
            issued_at: IssueTime::parse("20241115134510").unwrap(),
            random_code: RandomCode::parse("1234").unwrap(),
            amounts: Amounts::tax_included(150),
            seller_ban: Ban::parse("12345678").unwrap(),
            buyer_ban: None,
            items,
        }
    }

    #[test]
    fn period_pairs_months_and_counts_roc_years() {
        let cases = [
            ("20240101000000", "113年01-02月"),
            ("20240229235959", "113年01-02月"),
            ("20241130120000", "113年11-12月"),
            ("20241201120000", "113年11-12月"),
            ("20100715000000", "99年07-08月"),
        ];
        for (date, label) in cases {
            assert_eq!(
                period_label(&IssueTime::parse(date).unwrap()),
                label,
                "{date}"
            );
        }
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        for bad in [
            "20240230120000",
            "20231301000000",
            "2024111513451",
            "2024111513451x",
            "19110101000000",
            "20241115246000",
        ] {
            assert_eq!(
                IssueTime::parse(bad),
                Err(InvoiceError::Date(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(IssueTime::parse("20240229000000").is_ok());
    }

    #[test]
    fn barcode_text_is_period_number_and_random_code() {
        let invoice = sample(vec![]);
        assert_eq!(invoice.barcode_text(), "11312AB123456781234");
        assert_eq!(invoice.barcode_text().len(), BARCODE_TEXT_LEN);
        let mut early = invoice.clone();
        early.issued_at = IssueTime::parse("20240105000000").unwrap();
        assert_eq!(early.barcode_text(), "11302AB123456781234");
    }

    #[test]
    fn number_forms_and_errors() {
        let number = InvoiceNumber::from_parts("AB", "12345678").unwrap();
        assert_eq!(number.to_string(), "AB-12345678");
        assert_eq!(InvoiceNumber::parse("AB-12345678").unwrap(), number);
        for bad in ["ab12345678", "AB1234567", "A112345678", "AB1234567X"] {
            assert_eq!(
                InvoiceNumber::parse(bad),
                Err(InvoiceError::Number(bad.to_owned()))
            );
        }
        assert!(Ban::parse("1234567").is_err());
        assert!(RandomCode::parse("12a4").is_err());
        assert!(CheckKey::from_hex("0123").is_err());
    }

    #[test]
    fn tax_included_amounts_add_up() {
        let amounts = Amounts::tax_included(150);
        assert_eq!(
            (amounts.sales(), amounts.tax(), amounts.total()),
            (143, 7, 150)
        );
        for total in 0..2000 {
            assert_eq!(Amounts::tax_included(total).total(), total);
        }
    }

    #[test]
    fn check_value_is_aes_128_cbc_under_the_mof_iv() {
        use aes::cipher::{BlockDecryptMut, KeyIvInit};
        let invoice = sample(vec![]);
        let value = check_value(&key(), &invoice.number, &invoice.random_code);
        assert_eq!(value.len(), 24);
        let bytes = BASE64.decode(&value).unwrap();
        let plain = cbc::Decryptor::<aes::Aes128>::new(&key().0.into(), &CHECK_VALUE_IV.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&bytes)
            .unwrap();
        assert_eq!(plain, b"AB123456781234");
        assert_eq!(
            BASE64.decode("Dt8lyToo17X/XkXaQvihuA==").unwrap(),
            CHECK_VALUE_IV
        );
        assert_eq!(format!("{:?}", key()), "CheckKey(<redacted>)");
    }

    #[test]
    fn left_header_has_the_fixed_layout() {
        let mut invoice = sample(vec![]);
        invoice.buyer_ban = Some(Ban::parse("87654321").unwrap());
        let header = invoice.left_qr_header(&key());
        assert_eq!(header.len(), LEFT_QR_HEADER_LEN);
        assert_eq!(&header[..10], "AB12345678");
        assert_eq!(&header[10..17], "1131115");
        assert_eq!(&header[17..21], "1234");
        assert_eq!(&header[21..29], format!("{:08x}", 143));
        assert_eq!(&header[29..37], "00000096");
        assert_eq!(&header[37..45], "87654321");
        assert_eq!(&header[45..53], "12345678");
        invoice.buyer_ban = None;
        assert_eq!(&invoice.left_qr_header(&key())[37..45], "00000000");
    }

    #[test]
    fn short_item_lists_stay_in_the_left_code() {
        let invoice = sample(vec![Item::new("咖啡", 2, 50), Item::new("蛋糕", 1, 50)]);
        let texts = invoice.qr_texts(&key(), &MerchantArea::default());
        let header = invoice.left_qr_header(&key());
        assert_eq!(
            texts.left,
            format!("{header}:**********:2:2:1:咖啡:2:50:蛋糕:1:50")
        );
        assert_eq!(texts.right, "**");
        assert_eq!(texts.items_recorded, 2);
    }

    #[test]
    fn long_item_lists_continue_in_the_right_code_and_stop_when_full() {
        let items: Vec<Item> = (1..=40)
            .map(|n| Item::new(format!("有機鮮奶茶第{n}號大杯"), n, 10 * u64::from(n)))
            .collect();
        let invoice = sample(items);
        let texts = invoice.qr_texts(&key(), &MerchantArea::default());
        assert!(texts.left.len() <= QR_TEXT_CAPACITY, "{}", texts.left.len());
        assert!(
            texts.right.len() <= QR_TEXT_CAPACITY,
            "{}",
            texts.right.len()
        );
        assert!(texts.items_recorded < 40);
        assert!(texts.right.starts_with("**有機鮮奶茶"));
        let fields: Vec<&str> = texts.left[LEFT_QR_HEADER_LEN + 1..].split(':').collect();
        assert_eq!(fields[0], EMPTY_MERCHANT_AREA);
        assert_eq!(fields[1], texts.items_recorded.to_string());
        assert_eq!(fields[2], "40");
        assert_eq!(fields[3], "1");
        let in_left = (fields.len() - 4) / 3;
        let in_right = texts.right[2..].split(':').count() / 3;
        assert_eq!(in_left + in_right, texts.items_recorded);
        assert!(in_left > 0 && in_right > 0);
    }

    #[test]
    fn colons_in_item_names_do_not_shift_fields() {
        let invoice = sample(vec![Item::new("A:B", 1, 150)]);
        let texts = invoice.qr_texts(&key(), &MerchantArea::default());
        assert!(texts.left.ends_with(":1:A：B:1:150"));
    }

    #[test]
    fn capacity_is_what_version_9_l_carries_in_byte_mode() {
        use qrcode::{EcLevel, QrCode, Version};
        let full = "é".repeat(QR_TEXT_CAPACITY / 2);
        assert!(QrCode::with_version(full.as_bytes(), Version::Normal(9), EcLevel::L).is_ok());
        let over = "x".repeat(QR_TEXT_CAPACITY) + "é";
        assert!(QrCode::with_version(over.as_bytes(), Version::Normal(9), EcLevel::L).is_err());
    }

    #[test]
    fn merchant_area_must_be_ten_characters() {
        assert!(MerchantArea::parse("posd-00001").is_ok());
        assert!(MerchantArea::parse("short").is_err());
        assert!(MerchantArea::parse("posd:00001").is_err());
    }
}
