//! Properties of the order machine under any sequence of inputs, checked with proptest.
//!
//! A model worker drives one order the way the daemon does (ask for the next action, carry it
//! out, feed the result back) while proptest picks the results, the passing of time, scans,
//! cancels and restarts that lose the result in flight.

use posd::api::Code;
use posd::charge::Charge;
use posd::order::{
    Action, Order, OrderId, PaymentCode, Policy, QueryResult, SendResult, State, Timestamp,
};
use proptest::prelude::*;
use serde_json::json;

const CODE: &str = "281234567890123456";

#[derive(Debug, Clone)]
enum Input {
    Scan,
    Cancel,
    Wait {
        ms: u64,
    },
    /// Ask for the next action and start it.
    Act,
    SendEnds(SendResult),
    QueryEnds(QueryResult),
    /// The daemon restarts: whatever was in flight never reports back.
    Restart,
    Random(u64),
}

fn code() -> impl Strategy<Value = Code> {
    prop::sample::select(vec![
        "100", "220", "230", "250", "280", "290", "300", "380", "400", "600", "A0001", "A0002",
        "B200", "B500", "Z999",
    ])
    .prop_map(Code::parse)
}

fn input() -> impl Strategy<Value = Input> {
    let send = prop_oneof![
        Just(SendResult::NotSent),
        Just(SendResult::Unknown {
            why: "the answer was cut off".into()
        }),
        code().prop_map(|code| SendResult::Answered {
            code,
            answer: json!({}),
        }),
    ];
    let query = prop_oneof![
        Just(QueryResult::NotFound),
        Just(QueryResult::NotSent),
        Just(QueryResult::Unknown),
        code().prop_map(|code| QueryResult::Found {
            code,
            answer: json!({}),
        }),
    ];
    prop_oneof![
        1 => Just(Input::Scan),
        1 => Just(Input::Cancel),
        3 => (0u64..8_000).prop_map(|ms| Input::Wait { ms }),
        4 => Just(Input::Act),
        3 => send.prop_map(Input::SendEnds),
        3 => query.prop_map(Input::QueryEnds),
        1 => Just(Input::Restart),
        1 => any::<u64>().prop_map(Input::Random),
    ]
}

/// Short times, so that backoffs, expiries and age limits all happen within a sequence.
fn policy() -> Policy {
    Policy {
        backoff_initial_ms: 200,
        backoff_max_ms: 2_000,
        payment_code_lifetime_secs: 20,
        max_attempts: 4,
        max_age_secs: 90,
        reconcile_poll_ms: 700,
        not_found_settle_secs: 3,
        ..Policy::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum InFlight {
    Send,
    Query,
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn whatever_happens_an_order_keeps_its_promises(inputs in prop::collection::vec(input(), 1..80)) {
        let policy = policy();
        let charge: Charge = serde_json::from_value(json!({ "amount": 100 })).unwrap();
        let mut now = Timestamp::from_millis(1_764_000_000_000);
        let mut order = Order::new(OrderId::parse("P-1").unwrap(), charge, now).unwrap();
        let mut random = 0;
        let mut in_flight = None;
        // True while an attempt may have reached the gateway and no query has since proved it
        // did not: no resend is allowed then.
        let mut unresolved = false;
        // True once an attempt may have reached the gateway: cancelling is refused from then on.
        let mut reached = false;
        let mut first_final: Option<State> = None;

        for input in inputs {
            match input {
                Input::Scan => {
                    let _ = order.payment_code_scanned(PaymentCode::new(CODE).unwrap(), now);
                }
                Input::Cancel => {
                    let sending = in_flight == Some(InFlight::Send);
                    if order.cancel(now).is_ok() {
                        prop_assert!(
                            !reached && !sending,
                            "cancelled after an attempt may have reached the gateway"
                        );
                    }
                }
                Input::Wait { ms } => now = Timestamp::from_millis(now.as_millis() + ms),
                Input::Random(r) => random = r,
                Input::Restart => {
                    if in_flight == Some(InFlight::Send) {
                        unresolved = true;
                        reached = true;
                    }
                    in_flight = None;
                }
                Input::Act if in_flight.is_none() => match order.next_action(now, &policy) {
                    Action::Send { attempt } => {
                        prop_assert!(!unresolved, "attempt {attempt} resent while the last one was unresolved");
                        prop_assert_eq!(order.state(), &State::Sending { attempt });
                        prop_assert!(order.payment_code().is_some());
                        in_flight = Some(InFlight::Send);
                    }
                    Action::Query => {
                        prop_assert_eq!(order.state(), &State::Reconciling);
                        in_flight = Some(InFlight::Query);
                    }
                    Action::WaitUntil(t) => prop_assert!(t > now),
                    Action::AwaitPaymentCode { until } => prop_assert!(until > now),
                    Action::Done => prop_assert!(order.is_final()),
                },
                Input::Act => {}
                Input::SendEnds(result) => {
                    if in_flight == Some(InFlight::Send) {
                        let outcome = order.send_finished(result.clone(), now, &policy, random);
                        prop_assert!(outcome.is_ok(), "{:?}", outcome);
                        in_flight = None;
                        let may_have_charged = match &result {
                            SendResult::NotSent => false,
                            SendResult::Unknown { .. } => true,
                            SendResult::Answered { .. } => true,
                        };
                        reached |= !matches!(result, SendResult::NotSent);
                        if may_have_charged && !order.is_final() {
                            unresolved = true;
                        }
                    } else if !matches!(order.state(), State::Sending { .. }) {
                        // A result with no attempt out is refused. (An order still `Sending` after
                        // a restart gets no result: the attempt's process is gone.)
                        let outcome = order.send_finished(result, now, &policy, random);
                        prop_assert!(outcome.is_err());
                    }
                }
                Input::QueryEnds(result) => {
                    // A query's answer is a fact about the gateway, whichever call asked, so a
                    // reconciling order takes it; any other order refuses it.
                    let reconciling = order.state() == &State::Reconciling;
                    let outcome = order.query_finished(result.clone(), now, &policy, random);
                    if reconciling {
                        prop_assert!(outcome.is_ok(), "{:?}", outcome);
                        if in_flight == Some(InFlight::Query) {
                            in_flight = None;
                        }
                        if result == QueryResult::NotFound
                            && matches!(order.state(), State::WaitingToSend { .. })
                        {
                            unresolved = false;
                        }
                    } else {
                        prop_assert!(outcome.is_err());
                    }
                }
            }

            if let Some(final_state) = &first_final {
                prop_assert_eq!(order.state(), final_state, "a final order changed state");
            } else if order.is_final() {
                first_final = Some(order.state().clone());
            }
            if order.is_final() {
                prop_assert!(order.payment_code().is_none(), "a final order kept its payment code");
                unresolved = false;
            }
            let history = order.history();
            for pair in history.windows(2) {
                prop_assert_eq!(pair[1].from.as_ref(), Some(&pair[0].to));
                prop_assert!(!pair[0].to.is_final());
            }
            let shown = format!("{order:?}");
            prop_assert!(!shown.contains(CODE), "the payment code shows in Debug");
        }
    }
}
