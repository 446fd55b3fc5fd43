//! Every transition of the order machine, driven through its public interface.

use posd::api::Code;
use posd::charge::Charge;
use posd::order::{
    Action, Order, OrderError, OrderId, PaymentCode, Policy, PrintStatus, QueryResult, SendResult,
    State, StateKind, Timestamp,
};
use serde_json::json;

const CODE: &str = "281234567890123456";
const T0: u64 = 1_764_000_000_000;

fn at_ms(ms: u64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

fn at(secs: u64) -> Timestamp {
    at_ms(secs * 1000)
}

fn policy() -> Policy {
    Policy::default()
}

fn new_order() -> Order {
    let charge: Charge = serde_json::from_value(json!({ "amount": 150 })).unwrap();
    Order::new(OrderId::parse("T-1").unwrap(), charge, at(0)).unwrap()
}

fn scanned() -> Order {
    let mut o = new_order();
    o.payment_code_scanned(PaymentCode::new(CODE).unwrap(), at(1))
        .unwrap();
    o
}

/// Attempt 1 out.
fn sending() -> Order {
    let mut o = scanned();
    assert_eq!(o.next_action(at(1), &policy()), Action::Send { attempt: 1 });
    o
}

fn reconciling() -> Order {
    let mut o = sending();
    o.send_finished(
        SendResult::Unknown {
            why: "the connection was reset".into(),
        },
        at(2),
        &policy(),
        0,
    )
    .unwrap();
    assert_eq!(o.state(), &State::Reconciling);
    let why = &o.history().last().unwrap().why;
    assert!(why.ends_with("unknown: the connection was reset"), "{why}");
    o
}

fn answered(code: &str) -> SendResult {
    SendResult::Answered {
        code: Code::parse(code),
        answer: json!({ "code": code }),
    }
}

fn found(code: &str) -> QueryResult {
    QueryResult::Found {
        code: Code::parse(code),
        answer: json!({ "code": "B200", "rows": [{ "code": code }] }),
    }
}

/// The invariants every order keeps, whatever happened to it.
fn assert_invariants(o: &Order) {
    if o.is_final() {
        assert_eq!(
            o.payment_code(),
            None,
            "a final order keeps no payment code"
        );
        assert_eq!(o.due_at(), None);
    }
    let paid = matches!(o.state(), State::Paid | State::PaidWithMismatch);
    assert_eq!(paid, o.receipt().status != PrintStatus::NotNeeded);
    let history = o.history();
    assert_eq!(history[0].from, None);
    for pair in history.windows(2) {
        assert_eq!(pair[1].from.as_ref(), Some(&pair[0].to));
        assert!(!pair[0].to.is_final(), "nothing follows a final state");
    }
    assert_eq!(&history.last().unwrap().to, o.state());
    assert!(!format!("{o:?}").contains(CODE));
    assert!(!serde_json::to_string(o).unwrap().contains(CODE));
}

#[test]
fn a_new_order_awaits_its_payment_code() {
    let mut o = new_order();
    assert_eq!(o.state(), &State::AwaitingPaymentCode);
    assert_eq!(o.history()[0].why, "created");
    let until = at(policy().max_age_secs);
    assert_eq!(
        o.next_action(at(5), &policy()),
        Action::AwaitPaymentCode { until }
    );
    assert_invariants(&o);
}

#[test]
fn an_invalid_charge_never_becomes_an_order() {
    let charge: Charge = serde_json::from_value(json!({ "amount": 0 })).unwrap();
    let e = Order::new(OrderId::parse("T-0").unwrap(), charge, at(0)).unwrap_err();
    assert_eq!(e.field, "amount");
}

#[test]
fn scanning_makes_attempt_one_due_now_and_is_refused_twice() {
    let mut o = scanned();
    assert_eq!(o.state(), &State::WaitingToSend { attempt: 1 });
    assert_eq!(o.code_scanned_at(), Some(at(1)));
    assert_eq!(o.payment_code().map(PaymentCode::expose), Some(CODE));
    let e = o
        .payment_code_scanned(PaymentCode::new("999").unwrap(), at(2))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "order T-1 takes no payment code: it is waiting to send attempt 1"
    );
    assert_eq!(o.next_action(at(1), &policy()), Action::Send { attempt: 1 });
    assert_eq!(o.state(), &State::Sending { attempt: 1 });
    assert_eq!(o.attempts(), 1);
    assert_invariants(&o);
}

#[test]
fn every_answer_to_an_attempt() {
    use StateKind::*;
    let table: &[(&str, StateKind)] = &[
        ("250", Paid),
        ("600", Paid),
        ("290", PaidWithMismatch),
        ("300", Declined),
        ("380", Expired),
        ("100", Rejected),
        ("A0002", Abandoned),
        ("220", NeedsAttention),
        ("230", NeedsAttention),
        ("400", Reconciling),
        ("280", Reconciling),
        ("A0001", Reconciling),
        ("B200", Reconciling),
        ("Z999", Reconciling),
    ];
    for (code, expected) in table {
        let mut o = sending();
        o.send_finished(answered(code), at(2), &policy(), 0)
            .unwrap();
        assert_eq!(o.state().kind(), *expected, "answer {code}");
        assert_eq!(o.last_answer().unwrap().code, Code::parse(code));
        assert_eq!(o.last_answer().unwrap().value()["code"], *code);
        assert_eq!(o.last_answer().unwrap().at, at(2));
        assert!(o.reached_gateway(), "answer {code}");
        assert_eq!(
            o.payment_code().is_some(),
            !expected.is_final(),
            "answer {code}"
        );
        assert!(
            o.history().last().unwrap().why.contains(code),
            "answer {code}"
        );
        assert_invariants(&o);
    }
}

#[test]
fn not_sent_resends_the_same_order_after_a_jittered_backoff() {
    for random in [0, 250, u64::MAX] {
        let mut o = sending();
        o.send_finished(SendResult::NotSent, at(2), &policy(), random)
            .unwrap();
        assert_eq!(o.state(), &State::WaitingToSend { attempt: 2 });
        let due = o.due_at().unwrap();
        let wait = due.since(at(2)).as_millis();
        assert!((500..=1000).contains(&wait), "{wait} ms");
        assert_eq!(o.next_action(at(2), &policy()), Action::WaitUntil(due));
        assert_eq!(o.next_action(due, &policy()), Action::Send { attempt: 2 });
        assert_eq!(o.payment_code().map(PaymentCode::expose), Some(CODE));
        assert_eq!(o.id().as_str(), "T-1");
        assert_eq!(o.attempts(), 2);
    }
}

#[test]
fn attempts_are_capped() {
    let p = Policy {
        max_attempts: 3,
        payment_code_lifetime_secs: 600,
        ..policy()
    };
    let mut o = scanned();
    let mut now = at(1);
    for attempt in 1..=3 {
        assert_eq!(o.next_action(now, &p), Action::Send { attempt });
        o.send_finished(SendResult::NotSent, now, &p, 0).unwrap();
        now = o.due_at().unwrap_or(now);
    }
    let State::NeedsAttention { reason } = o.state() else {
        panic!("{:?}", o.state());
    };
    assert!(reason.contains("after 3 tries"), "{reason}");
    assert_eq!(o.payment_code(), None);
    assert_invariants(&o);
}

#[test]
fn an_unsent_order_expires_with_its_payment_code() {
    let p = policy();
    let lifetime = p.payment_code_lifetime_secs;
    // Never started.
    let mut o = scanned();
    assert_eq!(o.next_action(at(1 + lifetime), &p), Action::Done);
    assert_eq!(o.state(), &State::Expired);
    assert!(
        o.history()
            .last()
            .unwrap()
            .why
            .contains("ran out before attempt 1")
    );
    assert_invariants(&o);
    // Waiting for a resend whose backoff ends after the code: the wait stops at the expiry.
    let mut o = sending();
    let p = Policy {
        backoff_initial_ms: lifetime * 4000,
        backoff_max_ms: lifetime * 4000,
        ..p
    };
    o.send_finished(SendResult::NotSent, at(2), &p, 0).unwrap();
    let expiry = at(1 + lifetime);
    assert_eq!(o.next_action(at(3), &p), Action::WaitUntil(expiry));
    assert_eq!(o.next_action(expiry, &p), Action::Done);
    assert_eq!(o.state(), &State::Expired);
    assert_invariants(&o);
}

#[test]
fn patience_ends_when_time_alone_would_change_the_order() {
    let p = policy();
    let deadline = at(p.max_age_secs);
    let code_runs_out = at(1 + p.payment_code_lifetime_secs);
    assert_eq!(new_order().patience(&p), deadline);
    assert_eq!(scanned().patience(&p), code_runs_out);
    assert_eq!(sending().patience(&p), code_runs_out);
    assert_eq!(reconciling().patience(&p), deadline);
    // A code that outlives the order's age limit waits only until that limit.
    let p = Policy {
        payment_code_lifetime_secs: p.max_age_secs * 2,
        ..p
    };
    assert_eq!(scanned().patience(&p), deadline);
    // What patience promises: at that time the waiting order changes without any call.
    let mut o = scanned();
    assert_eq!(o.next_action(o.patience(&p), &p), Action::Done);
    assert_eq!(o.state().kind(), StateKind::Cancelled);
}

#[test]
fn every_answer_to_a_query() {
    use StateKind::*;
    let table: &[(&str, StateKind)] = &[
        ("250", Paid),
        ("600", Paid),
        ("290", PaidWithMismatch),
        ("300", Declined),
        ("380", Expired),
        ("100", Rejected),
        ("A0002", Abandoned),
        ("220", NeedsAttention),
        ("400", Reconciling),
        ("280", Reconciling),
        ("A0001", Reconciling),
        ("Z999", Reconciling),
    ];
    let p = policy();
    for (code, expected) in table {
        let mut o = reconciling();
        assert_eq!(o.next_action(at(2), &p), Action::Query);
        o.query_finished(found(code), at(3), &p, 0).unwrap();
        assert_eq!(o.state().kind(), *expected, "found {code}");
        assert_eq!(o.last_answer().unwrap().code, Code::parse(code));
        if *expected == Reconciling {
            let next = at_ms(3000 + p.reconcile_poll_ms);
            assert_eq!(
                o.next_action(at(3), &p),
                Action::WaitUntil(next),
                "found {code}"
            );
            assert_eq!(o.next_action(next, &p), Action::Query, "found {code}");
        }
        assert_invariants(&o);
    }
}

#[test]
fn a_failed_query_is_asked_again_after_the_poll_interval() {
    let p = policy();
    for result in [QueryResult::NotSent, QueryResult::Unknown] {
        let mut o = reconciling();
        o.query_finished(result, at(3), &p, 0).unwrap();
        assert_eq!(o.state(), &State::Reconciling);
        assert_eq!(o.due_at(), Some(at_ms(3000 + p.reconcile_poll_ms)));
        assert_eq!(o.last_answer(), None);
    }
}

#[test]
fn not_found_allows_a_resend_only_once_it_has_settled() {
    let p = policy();
    let mut o = reconciling(); // unknown since at(2)
    let early = at(2 + p.not_found_settle_secs - 1);
    o.query_finished(QueryResult::NotFound, early, &p, 0)
        .unwrap();
    assert_eq!(
        o.state(),
        &State::Reconciling,
        "the request may still be in transit"
    );
    let settled = at(2 + p.not_found_settle_secs);
    o.query_finished(QueryResult::NotFound, settled, &p, 0)
        .unwrap();
    assert_eq!(o.state(), &State::WaitingToSend { attempt: 2 });
    assert!(
        o.history()
            .last()
            .unwrap()
            .why
            .contains("no transaction for attempt 1")
    );
    // The code is 17 s old here, well within its lifetime: the same order goes out again.
    let due = o.due_at().unwrap();
    assert_eq!(o.next_action(due, &p), Action::Send { attempt: 2 });
    assert_invariants(&o);
}

/// 280 and A0001 say the gateway holds the charge and settles it later: a query that does not
/// list it is no proof that it is gone, so the order is never sent again (a resend under the same
/// id is refused as a duplicate while the first may yet be paid). It is asked about until it
/// settles, or a person decides at max age.
#[test]
fn a_charge_the_gateway_took_is_never_sent_again_on_not_found() {
    let p = policy();
    for took in ["280", "A0001"] {
        let mut o = sending();
        o.send_finished(answered(took), at(2), &p, 0).unwrap();
        assert_eq!(o.state(), &State::Reconciling, "{took}");
        let long_after = at(2 + 10 * p.not_found_settle_secs);
        o.query_finished(QueryResult::NotFound, long_after, &p, 0)
            .unwrap();
        assert_eq!(o.state(), &State::Reconciling, "{took}");
        assert_eq!(o.attempts(), 1, "{took}");
        assert_eq!(o.next_action(o.due_at().unwrap(), &p), Action::Query);
        o.query_finished(found("250"), long_after, &p, 0).unwrap();
        assert_eq!(o.state(), &State::Paid, "{took}");
        assert_invariants(&o);

        let mut o = sending();
        o.send_finished(answered(took), at(2), &p, 0).unwrap();
        o.query_finished(QueryResult::NotFound, long_after, &p, 0)
            .unwrap();
        assert_eq!(o.next_action(at(p.max_age_secs), &p), Action::Done);
        assert!(
            matches!(o.state(), State::NeedsAttention { .. }),
            "{took}: {:?}",
            o.state()
        );
    }
}

#[test]
fn a_system_error_answer_is_reconciled_before_any_resend() {
    let p = policy();
    let mut o = sending();
    o.send_finished(answered("400"), at(2), &p, 0).unwrap();
    assert_eq!(
        o.state(),
        &State::Reconciling,
        "a 400 may come after the gateway acted"
    );
    assert_eq!(o.next_action(at(2), &p), Action::Query);
    let early = at(2 + p.not_found_settle_secs - 1);
    o.query_finished(QueryResult::NotFound, early, &p, 0)
        .unwrap();
    assert_eq!(o.state(), &State::Reconciling);
    o.query_finished(
        QueryResult::NotFound,
        at(2 + p.not_found_settle_secs),
        &p,
        0,
    )
    .unwrap();
    assert_eq!(o.state(), &State::WaitingToSend { attempt: 2 });
    assert_invariants(&o);
}

#[test]
fn an_order_found_in_flight_is_reconciled_not_resent() {
    let mut o = sending();
    // What a restart finds: the order saved as Sending, its result lost.
    let restored: Order = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
    assert_eq!(restored.state(), &State::Sending { attempt: 1 });
    assert_eq!(o.next_action(at(30), &policy()), Action::Query);
    assert_eq!(o.state(), &State::Reconciling);
    assert!(
        o.history()
            .last()
            .unwrap()
            .why
            .contains("in flight when last saved")
    );
    assert!(o.reached_gateway());
    assert_invariants(&o);
}

#[test]
fn max_age_closes_what_never_left_and_flags_what_may_have() {
    let p = policy();
    let old = at(p.max_age_secs);
    let mut o = new_order();
    assert_eq!(o.next_action(old, &p), Action::Done);
    assert_eq!(o.state(), &State::Cancelled);
    assert_invariants(&o);

    let mut o = reconciling();
    o.query_finished(found("A0001"), at(3), &p, 0).unwrap();
    assert_eq!(o.next_action(old, &p), Action::Done);
    let State::NeedsAttention { reason } = o.state() else {
        panic!("{:?}", o.state());
    };
    assert!(
        reason.contains("may hold a charge") && reason.contains("A0001"),
        "{reason}"
    );
    assert_invariants(&o);

    // Waiting stops at max age too.
    let mut o = reconciling();
    let p = Policy {
        reconcile_poll_ms: p.max_age_secs * 2000,
        ..p
    };
    o.query_finished(QueryResult::Unknown, at(3), &p, 0)
        .unwrap();
    assert_eq!(o.next_action(at(4), &p), Action::WaitUntil(old));
}

#[test]
fn cancel_only_before_anything_may_have_reached_the_gateway() {
    let mut o = new_order();
    o.cancel(at(1)).unwrap();
    assert_eq!(o.state(), &State::Cancelled);
    assert_invariants(&o);

    let mut o = scanned();
    o.cancel(at(1)).unwrap();
    assert_eq!(o.payment_code(), None);

    // An attempt that never left does not count as sent.
    let mut o = sending();
    o.send_finished(SendResult::NotSent, at(2), &policy(), 0)
        .unwrap();
    o.cancel(at(3)).unwrap();
    assert_eq!(o.state(), &State::Cancelled);

    let refused: Vec<(Order, &str)> = vec![
        (sending(), "attempt 1 may have reached the gateway"),
        (reconciling(), "attempt 1 may have reached the gateway"),
        (
            {
                let mut o = sending();
                o.send_finished(answered("400"), at(2), &policy(), 0)
                    .unwrap();
                o
            },
            "attempt 1 may have reached the gateway",
        ),
        (
            {
                let mut o = sending();
                o.send_finished(answered("250"), at(2), &policy(), 0)
                    .unwrap();
                o
            },
            "it is already paid",
        ),
    ];
    for (mut o, why) in refused {
        let before = o.clone();
        let e = o.cancel(at(3)).unwrap_err();
        assert!(matches!(e, OrderError::CancelRefused { .. }));
        assert!(e.to_string().contains(why), "{e}");
        assert_eq!(o, before, "a refused cancel changes nothing");
    }
}

#[test]
fn results_that_do_not_fit_the_state_are_refused() {
    let mut o = scanned();
    let e = o
        .send_finished(SendResult::NotSent, at(2), &policy(), 0)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "order T-1 has no attempt in flight (it is waiting to send attempt 1), so a send result cannot apply"
    );
    let e = o
        .query_finished(QueryResult::NotFound, at(2), &policy(), 0)
        .unwrap_err();
    assert!(matches!(e, OrderError::NotReconciling { .. }), "{e}");
}

#[test]
fn a_final_order_takes_nothing_more() {
    let mut o = sending();
    o.send_finished(answered("300"), at(2), &policy(), 0)
        .unwrap();
    let before = o.clone();
    assert_eq!(o.next_action(at(9_999), &policy()), Action::Done);
    assert!(o.cancel(at(3)).is_err());
    assert!(
        o.payment_code_scanned(PaymentCode::new(CODE).unwrap(), at(3))
            .is_err()
    );
    assert!(
        o.send_finished(answered("250"), at(3), &policy(), 0)
            .is_err()
    );
    assert!(o.query_finished(found("250"), at(3), &policy(), 0).is_err());
    assert!(
        o.reprint_requested(at(3)).is_err(),
        "a declined order prints nothing"
    );
    assert_eq!(o, before);
}

#[test]
fn receipts_of_paid_orders_are_tracked_through_failures_and_reprints() {
    let mut o = sending();
    o.send_finished(answered("290"), at(2), &policy(), 0)
        .unwrap();
    assert_eq!(o.receipt().status, PrintStatus::Pending);
    o.receipt_failed("paper out", at(3)).unwrap();
    assert_eq!(
        o.receipt().status,
        PrintStatus::Failed {
            reason: "paper out".into(),
            at: at(3)
        }
    );
    o.receipt_printed(at(4)).unwrap();
    o.reprint_requested(at(5)).unwrap();
    assert_eq!(o.receipt().status, PrintStatus::Pending);
    assert_eq!(o.receipt().reprints, 1);
    assert_eq!(o.updated_at(), at(5));
    assert_invariants(&o);
    let mut unpaid = scanned();
    let e = unpaid.receipt_printed(at(3)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "order T-1 has no receipt to print: it is waiting to send attempt 1"
    );
}

#[test]
fn an_order_round_trips_through_json_without_its_code() {
    let mut o = reconciling();
    o.query_finished(found("280"), at(3), &policy(), 7).unwrap();
    let json = serde_json::to_value(&o).unwrap();
    assert!(json.get("payment_code").is_none());
    let back: Order = serde_json::from_value(json).unwrap();
    assert_eq!(back.payment_code(), None);
    assert_eq!(back.history(), o.history());
    assert_eq!(back.last_answer(), o.last_answer());
    assert_eq!(back.state(), o.state());
}

#[test]
fn an_order_whose_payment_code_is_lost_is_never_sent_without_one() {
    let o = scanned();
    // JSON never carries the code, so this is what a store that lost the code would hand back.
    let mut lost: Order = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
    assert_eq!(lost.next_action(at(2), &policy()), Action::Done);
    let State::NeedsAttention { reason } = lost.state() else {
        panic!("{:?}", lost.state());
    };
    assert!(reason.contains("no longer available"), "{reason}");
    assert_invariants(&lost);
}
