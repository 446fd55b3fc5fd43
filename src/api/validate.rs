//! Field rules of the agent API, checked before anything is sent (and by the simulator on receipt).
//!
//! Every failure is a [`FieldError`] naming the field and what is wrong with it, in words an operator
//! or a POS-app developer can act on.

use std::fmt;

/// One field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub struct FieldError {
    /// The field's name as the API or the local API spells it, e.g. `order_id` or `items[2].total`.
    pub field: String,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// The longest order id the gateway stores.
pub const ORDER_ID_MAX_BYTES: usize = 50;

/// An order id: 1 to 50 bytes of printable ASCII without spaces.
pub fn order_id(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "is empty"));
    }
    if value.len() > ORDER_ID_MAX_BYTES {
        return Err(FieldError::new(
            field,
            format!(
                "is {} bytes long; at most {ORDER_ID_MAX_BYTES} are allowed",
                value.len()
            ),
        ));
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(FieldError::new(
            field,
            format!("contains {c:?}; only printable ASCII without spaces is allowed"),
        ));
    }
    Ok(())
}

/// A required free-text field: present, not blank, no control characters.
pub fn required_text(field: &str, value: &str) -> Result<(), FieldError> {
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::new(field, "contains control characters"));
    }
    Ok(())
}

/// An order's sum: its items' totals, plus the shipping fee, less the discount, make `charged`, the
/// amount in `field`. An order without items has nothing to add up.
pub fn order_sum(
    field: &str,
    charged: u64,
    item_totals: impl IntoIterator<Item = u64>,
    discount: u64,
    shipping_fee: u64,
) -> Result<(), FieldError> {
    let mut totals = item_totals.into_iter().peekable();
    if totals.peek().is_none() {
        return Ok(());
    }
    let items_total = totals
        .try_fold(0u64, u64::checked_add)
        .ok_or_else(|| FieldError::new("items", "add up to more than can be charged"))?;
    let with_shipping = items_total
        .checked_add(shipping_fee)
        .ok_or_else(|| FieldError::new("shipping_fee", "is too large"))?;
    let expected = with_shipping.checked_sub(discount);
    if expected == Some(charged) {
        return Ok(());
    }
    Err(FieldError::new(
        field,
        format!(
            "is {charged} but the items total {items_total}, minus discount {discount}, plus shipping fee {shipping_fee} makes {}",
            expected.map_or_else(|| "less than zero".to_owned(), |e| e.to_string())
        ),
    ))
}

/// A Taiwanese business administration number (統一編號): 8 digits whose weighted digit sum is a
/// multiple of 5 (the Ministry of Finance rule since 2023, which also accepts every older number).
pub fn tax_id(field: &str, value: &str) -> Result<(), FieldError> {
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    if value.len() != 8 || digits.len() != 8 {
        return Err(FieldError::new(field, "must be exactly 8 digits"));
    }
    const WEIGHTS: [u32; 8] = [1, 2, 1, 2, 1, 2, 4, 1];
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| {
            let p = d * w;
            p / 10 + p % 10
        })
        .sum();
    // When the seventh digit is 7 its product 28 may count as either 1 (2+8 → 10 → 1) or 0.
    let valid = sum.is_multiple_of(5) || (digits[6] == 7 && (sum + 1).is_multiple_of(5));
    if valid {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{value} fails the tax id checksum"),
        ))
    }
}

/// A mobile barcode carrier (手機條碼): `/` followed by 7 of `0-9 A-Z . + -`.
pub fn mobile_barcode(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = value.len() == 8
        && value.starts_with('/')
        && value[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || matches!(c, '.' | '+' | '-'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be '/' followed by 7 characters of 0-9, A-Z, '.', '+', '-'",
        ))
    }
}

/// A natural person certificate carrier (自然人憑證): 2 capital letters then 14 digits.
pub fn natural_person(field: &str, value: &str) -> Result<(), FieldError> {
    let b = value.as_bytes();
    let ok = b.len() == 16
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..].iter().all(u8::is_ascii_digit);
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "must be 2 capital letters followed by 14 digits",
        ))
    }
}

/// A donation love code (愛心碼): 3 to 7 digits.
pub fn love_code(field: &str, value: &str) -> Result<(), FieldError> {
    if (3..=7).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(FieldError::new(field, "must be 3 to 7 digits"))
    }
}

/// An e-mail address, checked loosely: the gateway sends the invoice there, so an obvious typo is
/// worth catching, but full RFC 5322 validation is not.
pub fn email(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = value
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, "is not an e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_ids_follow_the_checksum() {
        for good in ["04595257", "22099131", "10458575", "12345675", "04595252"] {
            assert!(tax_id("ban", good).is_ok(), "{good} should pass");
        }
        assert_eq!(
            tax_id("invoice_b2b_id", "12345678")
                .unwrap_err()
                .to_string(),
            "invoice_b2b_id: 12345678 fails the tax id checksum"
        );
        assert!(tax_id("ban", "1234567").is_err());
        assert!(tax_id("ban", "1234567a").is_err());
    }

    #[test]
    fn carriers_and_codes() {
        assert!(mobile_barcode("m", "/ABC+1.-").is_ok());
        assert!(mobile_barcode("m", "ABC+1.-9").is_err());
        assert!(mobile_barcode("m", "/abc1234").is_err());
        assert!(natural_person("n", "AB12345678901234").is_ok());
        assert!(natural_person("n", "A112345678901234").is_err());
        assert!(love_code("l", "168").is_ok());
        assert!(love_code("l", "12").is_err());
        assert!(love_code("l", "12345678").is_err());
        assert!(email("e", "a@b.tw").is_ok());
        assert!(email("e", "ab.tw").is_err());
    }

    #[test]
    fn order_ids() {
        assert!(order_id("order_id", "POS1-20261126-000001").is_ok());
        assert!(order_id("order_id", &"x".repeat(51)).is_err());
        assert!(
            order_id("order_id", "訂單")
                .unwrap_err()
                .problem
                .contains("printable ASCII")
        );
        assert!(order_id("order_id", "a b").is_err());
        assert!(order_id("order_id", "").is_err());
    }
}
