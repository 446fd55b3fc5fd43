//! What a charge's answer decides, read from the few fields that decide it.
//!
//! An `api/transaction` answer (and each row of `api/querydirect`) carries some sixty fields, most of
//! them for the receipt. Whether the charge was paid rests on three: `code`, `order_id` and `cost`
//! (and, in a query row, `store_uid`; a payment is flagged for a person when `actual_cost`, the
//! amount really charged, is another amount of TWD). They are read here on their own, so an odd value anywhere
//! else (a fractional amount in an invoice field, a new enum value) can spoil the receipt, never
//! the payment's state.

use super::Code;
use super::lenient::{self, Twd, parse_twd};
use serde::Deserialize;
use serde_json::Value;

/// The deciding fields of one answer or row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChargeVerdict {
    pub code: Code,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    pub order_id: Option<String>,
    #[serde(default)]
    pub cost: Option<Value>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    pub store_uid: Option<String>,
    #[serde(default)]
    pub actual_cost: Option<Value>,
    #[serde(default, deserialize_with = "lenient::deserialize")]
    pub actual_currency: Option<String>,
}

/// The order an answer must be about.
#[derive(Debug, Clone, Copy)]
pub struct ChargeKey<'a> {
    pub order_id: &'a str,
    pub amount: u64,
    pub store_uid: &'a str,
}

/// How an answer relates to the order it should be about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// About this order, for its amount (or an answer that leaves the amount out).
    Ours(Code),
    /// About this order id, but for another amount, or one that cannot be read.
    OtherAmount(Code),
    /// About another order, or another store: proof of nothing about this one.
    NotOurs(String),
}

impl Reading {
    /// The code the answer to this order's own request stands for: a payment for another amount
    /// is paid, but not as asked ([`Code::PaidWithMismatch`], for a person); an answer about
    /// another order proves nothing, and the error says what it was about.
    pub fn answer_code(self) -> Result<Code, String> {
        match self {
            Reading::Ours(code) => Ok(code),
            Reading::OtherAmount(Code::Paid | Code::Settled) => Ok(Code::PaidWithMismatch),
            Reading::OtherAmount(code) => Ok(code),
            Reading::NotOurs(why) => Err(why),
        }
    }
}

impl ChargeVerdict {
    /// Reads the deciding fields of `answer`; `None` when it has no readable `code`.
    pub fn of(answer: &Value) -> Option<ChargeVerdict> {
        serde_json::from_value(answer.clone()).ok()
    }

    /// What this answer says about the order `key`. A field the answer leaves out is not held
    /// against it; a field that names something else is.
    pub fn read(&self, key: ChargeKey<'_>) -> Reading {
        if let Some(order_id) = &self.order_id
            && order_id.trim() != key.order_id
        {
            return Reading::NotOurs(format!(
                "the answer is about order {order_id:?}, not {}",
                key.order_id
            ));
        }
        if let Some(store) = &self.store_uid
            && store.trim() != key.store_uid
        {
            return Reading::NotOurs(format!("the answer is about store {store:?}"));
        }
        let cost = match &self.cost {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => None,
            Some(value) => Some(parse_twd(value)),
        };
        match cost {
            None => Reading::Ours(self.code_charging(key.amount)),
            Some(Ok(Twd(cost))) if cost == key.amount => {
                Reading::Ours(self.code_charging(key.amount))
            }
            Some(_) => Reading::OtherAmount(self.code.clone()),
        }
    }

    /// The code, unless it is a payment whose `actual_cost` is another whole amount of TWD than
    /// `amount`: then it is paid, but not as asked ([`Code::PaidWithMismatch`], for a person).
    /// The answer still counts as this order's, so a query never takes it for another charge
    /// and sends the order again. An amount in another currency, or with a fraction (a converted
    /// amount), says nothing about the TWD asked.
    fn code_charging(&self, amount: u64) -> Code {
        let in_twd = match self.actual_currency.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(currency) => currency.eq_ignore_ascii_case("TWD"),
        };
        let actual = match &self.actual_cost {
            Some(value @ (Value::String(_) | Value::Number(_))) if in_twd => parse_twd(value).ok(),
            _ => None,
        };
        match (&self.code, actual) {
            (Code::Paid | Code::Settled, Some(Twd(actual))) if actual != amount => {
                Code::PaidWithMismatch
            }
            _ => self.code.clone(),
        }
    }
}

/// The rows of an `api/querydirect` answer that says it is done (`B200`); `None` when the answer
/// proves nothing (`B500`, no code, rows that cannot be read). Nested JSON may arrive as text,
/// and an absent list as `""` or `null`.
pub fn query_rows(answer: &Value) -> Option<Vec<Value>> {
    let done = answer
        .get("code")
        .and_then(|code| serde_json::from_value::<Code>(code.clone()).ok())
        == Some(Code::Done);
    if !done {
        return None;
    }
    match answer.get("rows") {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Array(rows)) => Some(rows.clone()),
        Some(Value::String(text)) if text.trim().is_empty() => Some(Vec::new()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(rows)) => Some(rows),
            Ok(Value::Null) => Some(Vec::new()),
            _ => None,
        },
        Some(_) => None,
    }
}

/// What the rows of an `api/querydirect` answer say about one order.
#[derive(Debug, Clone, PartialEq)]
pub enum RowSearch {
    /// The row about this order that settles the most, with its code.
    Found(Code, Value),
    /// No row is about this order.
    Absent,
    /// A row that may be about this order cannot be read: the answer proves nothing.
    Unreadable,
}

/// Among the rows of an `api/querydirect` answer, the one about order `key`. Rows about other
/// orders, stores or amounts are passed over (a row for another amount is another charge under the
/// same id: a second till, or an id reused after a clock went back). Of this order's rows, a
/// cancel or refund outranks a payment (it came after it), a payment outranks a failure (the
/// order's id is sent again after a "not found", so a failed attempt and a paid one can stand side
/// by side), and a failure a code that settles nothing. A row that names this order, or names
/// none, and cannot be read may be the payment: unless a payment or a cancel was read, the answer
/// is then [`RowSearch::Unreadable`].
pub fn find_row(rows: &[Value], key: ChargeKey<'_>) -> RowSearch {
    let mut found: Option<(Code, Value)> = None;
    let mut unreadable = false;
    for row in rows {
        let row = match row {
            Value::String(text) => match serde_json::from_str::<Value>(text) {
                Ok(parsed @ Value::Object(_)) => parsed,
                _ => {
                    unreadable = true;
                    continue;
                }
            },
            other => other.clone(),
        };
        let Some(verdict) = ChargeVerdict::of(&row) else {
            unreadable |= may_name(&row, key.order_id);
            continue;
        };
        let Reading::Ours(code) = verdict.read(key) else {
            continue;
        };
        let better = match &found {
            None => true,
            Some((held, _)) => settles(&code) > settles(held),
        };
        if better {
            found = Some((code, row));
        }
    }
    match found {
        Some((code, row)) if settles(&code) >= PAID || !unreadable => RowSearch::Found(code, row),
        _ if unreadable => RowSearch::Unreadable,
        _ => RowSearch::Absent,
    }
}

/// A payment's rank in [`settles`]: a row at it or above decides whatever else cannot be read.
const PAID: u8 = 2;

/// How far a row's code settles a charge: a cancel or refund, a payment, any other final code,
/// then the rest.
fn settles(code: &Code) -> u8 {
    match code {
        Code::Cancelled | Code::Refunded => PAID + 1,
        Code::Paid | Code::Settled | Code::PaidWithMismatch => PAID,
        code if code.is_final_for_charge() => 1,
        _ => 0,
    }
}

/// Whether a row may be about order `order_id`: it names it, or names no order at all.
fn may_name(row: &Value, order_id: &str) -> bool {
    match row.get("order_id") {
        Some(Value::String(text)) => text.trim() == order_id || text.trim().is_empty(),
        Some(Value::Number(number)) => number.to_string() == order_id,
        Some(Value::Null) | None => true,
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: ChargeKey<'static> = ChargeKey {
        order_id: "T-1",
        amount: 150,
        store_uid: "289151880002",
    };

    fn read(answer: Value) -> Option<Code> {
        ChargeVerdict::of(&answer).and_then(|v| v.read(KEY).answer_code().ok())
    }

    #[test]
    fn an_odd_field_elsewhere_does_not_hide_a_payment() {
        let answer = json!({
            "code": "250", "order_id": "T-1", "cost": "150",
            "invoice_amount": "150.5", "card_type": "99", "invoice_state": {"odd": true}
        });
        assert_eq!(read(answer), Some(Code::Paid));
        assert_eq!(read(json!({"code": 250, "cost": 150.0})), Some(Code::Paid));
        assert!(ChargeVerdict::of(&json!({"msg": "no code"})).is_none());
    }

    #[test]
    fn a_payment_for_another_amount_needs_a_person() {
        for cost in [json!("250"), json!("150.5"), json!("abc")] {
            assert_eq!(
                read(json!({"code": "250", "order_id": "T-1", "cost": cost})),
                Some(Code::PaidWithMismatch),
                "{cost}"
            );
        }
        assert_eq!(
            read(json!({"code": "300", "order_id": "T-1", "cost": "250"})),
            Some(Code::Failed)
        );
    }

    #[test]
    fn a_payment_whose_actual_cost_is_another_amount_of_twd_needs_a_person() {
        for answer in [
            json!({"code": "250", "order_id": "T-1", "cost": "150",
                   "actual_cost": "140", "actual_currency": "TWD"}),
            json!({"code": "600", "cost": 150, "actual_cost": 1500}),
            json!({"code": "250", "cost": "", "actual_cost": "140", "actual_currency": ""}),
        ] {
            assert_eq!(
                read(answer.clone()),
                Some(Code::PaidWithMismatch),
                "{answer}"
            );
        }
        for answer in [
            json!({"code": "250", "cost": "150", "actual_cost": "150", "actual_currency": "TWD"}),
            json!({"code": "250", "cost": "150", "actual_cost": "150.5"}),
            json!({"code": "250", "cost": "150", "actual_cost": "33", "actual_currency": "CNY"}),
            json!({"code": "250", "cost": "150", "actual_cost": ""}),
            json!({"code": "300", "cost": "150", "actual_cost": "0"}),
        ] {
            assert_ne!(
                read(answer.clone()),
                Some(Code::PaidWithMismatch),
                "{answer}"
            );
        }
        // A query row charged another amount is still this order's payment, never "no row".
        let row = json!({"code": "250", "order_id": "T-1", "cost": "150", "actual_cost": "140"});
        assert_eq!(
            find_row(std::slice::from_ref(&row), KEY),
            RowSearch::Found(Code::PaidWithMismatch, row)
        );
    }

    #[test]
    fn query_rows_are_read_as_sent_as_text_or_as_nothing() {
        let row = json!({"code": "250", "order_id": "T-1", "cost": "150"});
        let list = json!([row.clone()]);
        for rows in [list.clone(), json!(list.to_string())] {
            let answer = json!({"code": "B200", "rows": rows});
            assert_eq!(query_rows(&answer), Some(vec![row.clone()]), "{answer}");
        }
        for rows in [json!([]), json!(null), json!(""), json!(" "), json!("null")] {
            let answer = json!({"code": "B200", "msg": "查無交易", "rows": rows});
            assert_eq!(query_rows(&answer), Some(Vec::new()), "{answer}");
        }
        assert_eq!(query_rows(&json!({"code": "B200"})), Some(Vec::new()));
        for answer in [
            json!({"code": "B500", "rows": []}),
            json!({"rows": []}),
            json!({"code": "B200", "rows": "[{\"code\""}),
            json!({"code": "B200", "rows": {"code": "250"}}),
        ] {
            assert_eq!(query_rows(&answer), None, "{answer}");
        }
    }

    #[test]
    fn an_answer_about_another_order_or_store_proves_nothing() {
        assert_eq!(
            read(json!({"code": "250", "order_id": "T-2", "cost": "150"})),
            None
        );
        assert_eq!(
            read(json!({"code": "250", "order_id": "T-1", "store_uid": "999"})),
            None
        );
    }

    #[test]
    fn a_query_row_must_match_order_cost_and_store_and_final_rows_win() {
        let rows = [
            json!({"code": "250", "order_id": "T-1", "cost": "250"}),
            json!({"code": "250", "order_id": "T-2", "cost": "150"}),
            json!({"code": "250", "order_id": "T-1", "cost": "150", "store_uid": "1"}),
            json!({"code": "A0001", "order_id": "T-1", "cost": "150"}),
            json!({"code": "600", "order_id": "T-1", "cost": "150", "uid": "9"}),
            json!({"code": "280", "order_id": "T-1", "cost": "150"}),
        ];
        let RowSearch::Found(code, row) = find_row(&rows, KEY) else {
            panic!("no row found");
        };
        assert_eq!(code, Code::Settled);
        assert_eq!(row["uid"], "9");
        assert_eq!(
            find_row(&rows[..3], KEY),
            RowSearch::Absent,
            "another's 250 is not ours"
        );
        assert!(matches!(
            find_row(&rows[3..4], KEY),
            RowSearch::Found(Code::Pending, _)
        ));
    }

    /// The order's id goes out again after a "not found", so a failed attempt and the paid one
    /// can both be listed, in either order: the payment decides.
    #[test]
    fn a_paid_row_outranks_a_failed_row_of_the_same_order() {
        for failed in ["380", "300", "A0002", "100"] {
            let paid = json!({"code": "250", "order_id": "T-1", "cost": "150", "uid": "paid"});
            let lost = json!({"code": failed, "order_id": "T-1", "cost": "150"});
            for rows in [[lost.clone(), paid.clone()], [paid, lost]] {
                let RowSearch::Found(code, row) = find_row(&rows, KEY) else {
                    panic!("{rows:?}");
                };
                assert_eq!(code, Code::Paid, "{rows:?}");
                assert_eq!(row["uid"], "paid");
            }
        }
        let rows = [
            json!({"code": "280", "order_id": "T-1", "cost": "150"}),
            json!({"code": "300", "order_id": "T-1", "cost": "150"}),
        ];
        assert!(matches!(
            find_row(&rows, KEY),
            RowSearch::Found(Code::Failed, _)
        ));
        // A cancel or refund came after the payment it undoes.
        for undone in ["220", "230"] {
            let rows = [
                json!({"code": undone, "order_id": "T-1", "cost": "150"}),
                json!({"code": "250", "order_id": "T-1", "cost": "150"}),
            ];
            let RowSearch::Found(code, _) = find_row(&rows, KEY) else {
                panic!("{rows:?}");
            };
            assert_eq!(code.as_str(), undone);
        }
    }

    /// A row that may be this order's and cannot be read may be its payment: the answer proves
    /// nothing, rather than that the gateway has no such charge.
    #[test]
    fn an_unreadable_row_that_may_be_ours_proves_nothing() {
        for row in [
            json!({"order_id": "T-1", "cost": "150"}),
            json!({"code": null, "order_id": "T-1"}),
            json!({"code": ["250"], "order_id": " T-1 "}),
            json!({"code": {"odd": 1}}),
            json!("{\"code\": ["),
            json!(42),
        ] {
            assert_eq!(
                find_row(std::slice::from_ref(&row), KEY),
                RowSearch::Unreadable,
                "{row}"
            );
        }
        let other = json!({"code": null, "order_id": "T-2"});
        assert_eq!(find_row(&[other], KEY), RowSearch::Absent);
        // A payment read beside it decides; a failure does not.
        let paid = json!({"code": "250", "order_id": "T-1", "cost": "150"});
        let failed = json!({"code": "300", "order_id": "T-1", "cost": "150"});
        let garbled = json!({"total": 3});
        assert!(matches!(
            find_row(&[garbled.clone(), paid], KEY),
            RowSearch::Found(Code::Paid, _)
        ));
        assert_eq!(find_row(&[garbled, failed], KEY), RowSearch::Unreadable);
        let as_text = json!("{\"code\": \"250\", \"order_id\": \"T-1\", \"cost\": \"150\"}");
        assert!(matches!(
            find_row(&[as_text], KEY),
            RowSearch::Found(Code::Paid, _)
        ));
    }
}
