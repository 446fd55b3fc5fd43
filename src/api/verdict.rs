//! What a charge's answer decides, read from the few fields that decide it.
//!
//! An `api/transaction` answer (and each row of `api/querydirect`) carries some sixty fields, most of
//! them for the receipt. Whether the charge was paid rests on three: `code`, `order_id` and `cost`
//! (and, in a query row, `store_uid`). They are read here on their own, so an odd value anywhere
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
    /// another order proves nothing (`None`).
    pub fn answer_code(self) -> Option<Code> {
        match self {
            Reading::Ours(code) => Some(code),
            Reading::OtherAmount(Code::Paid | Code::Settled) => Some(Code::PaidWithMismatch),
            Reading::OtherAmount(code) => Some(code),
            Reading::NotOurs(_) => None,
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
            None => Reading::Ours(self.code.clone()),
            Some(Ok(Twd(cost))) if cost == key.amount => Reading::Ours(self.code.clone()),
            Some(_) => Reading::OtherAmount(self.code.clone()),
        }
    }
}

/// Among the rows of an `api/querydirect` answer, the one about order `key`: rows about other
/// orders, stores or amounts are passed over (a row for another amount is another charge under the
/// same id: a second till, or an id reused after a clock went back), and a row whose code settles
/// the charge is preferred to one that does not.
pub fn find_row(rows: &[Value], key: ChargeKey<'_>) -> Option<(Code, Value)> {
    let mut found: Option<(Code, Value)> = None;
    for row in rows {
        let Some(verdict) = ChargeVerdict::of(row) else {
            continue;
        };
        let Reading::Ours(code) = verdict.read(key) else {
            continue;
        };
        let better = match &found {
            None => true,
            Some((held, _)) => !held.is_final_for_charge() && code.is_final_for_charge(),
        };
        if better {
            found = Some((code, row.clone()));
        }
    }
    found
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
        ChargeVerdict::of(&answer).and_then(|v| v.read(KEY).answer_code())
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
        let (code, row) = find_row(&rows, KEY).unwrap();
        assert_eq!(code, Code::Settled);
        assert_eq!(row["uid"], "9");
        assert_eq!(find_row(&rows[..3], KEY), None, "another's 250 is not ours");
        let pending = find_row(&rows[3..4], KEY).unwrap();
        assert_eq!(pending.0, Code::Pending);
    }
}
