use super::*;
use crate::api::Code;
use crate::charge::Charge;
use crate::order::{Action, PaymentCode, Policy, SendResult};
use serde_json::{Value, json};

const T0: u64 = 1_764_000_000_000;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_millis(T0 + secs * 1000)
}

fn scanned(id: &str, amount: u64, wallet: Option<&str>, now: u64) -> Order {
    let charge: Charge = serde_json::from_value(json!({ "amount": amount })).unwrap();
    let mut order = Order::new(OrderId::parse(id).unwrap(), charge, at(now)).unwrap();
    order
        .payment_code_scanned(PaymentCode::new("281234567890123456").unwrap(), at(now))
        .unwrap();
    order.note_wallet(wallet.map(str::to_owned));
    order
}

/// An order answered `answer` at `now` seconds.
fn answered(id: &str, amount: u64, wallet: Option<&str>, answer: Value, now: u64) -> Order {
    let mut order = scanned(id, amount, wallet, now);
    assert_eq!(
        order.next_action(at(now), &Policy::default()),
        Action::Send { attempt: 1 }
    );
    let code = Code::parse(answer["code"].as_str().unwrap());
    order
        .send_finished(
            SendResult::Answered { code, answer },
            at(now),
            &Policy::default(),
            0,
        )
        .unwrap();
    order
}

fn paid_with_invoice(id: &str, amount: u64, track: &str, number: &str, now: u64) -> Order {
    let sales = amount * 100 / 105;
    let answer = json!({
        "code": "250", "invoice_state": 2, "invoice_wordtrack": track, "invoice_number": number,
        "invoice_amount": amount, "invoice_sales_amount": sales, "invoice_tax_amount": amount - sales,
    });
    answered(id, amount, Some("MyPay"), answer, now)
}

fn needs_attention(id: &str, amount: u64, now: u64) -> Order {
    let mut order = scanned(id, amount, None, now);
    let policy = Policy {
        max_attempts: 1,
        ..Policy::default()
    };
    assert_eq!(
        order.next_action(at(now), &policy),
        Action::Send { attempt: 1 }
    );
    order
        .send_finished(SendResult::NotSent, at(now), &policy, 0)
        .unwrap();
    assert_eq!(order.state().kind(), StateKind::NeedsAttention);
    order
}

fn report(orders: &[Order], previous: Option<&ShiftReport>, closed_at: u64) -> ShiftReport {
    let mut builder = ReportBuilder::new(previous, at(closed_at), false);
    for order in orders {
        builder.add(order);
    }
    builder.finish()
}

#[test]
fn the_report_counts_states_wallets_invoices_and_lists_what_needs_a_person() {
    let orders = [
        paid_with_invoice("A-1", 150, "AB", "12345679", 10),
        paid_with_invoice("A-2", 210, "AB", "12345678", 11),
        paid_with_invoice("A-3", 105, "CD", "00000001", 12),
        answered("A-4", 60, Some("JKOPay"), json!({"code": "250"}), 13),
        answered("A-5", 80, Some("MyPay"), json!({"code": "300"}), 14),
        needs_attention("A-6", 90, 15),
        scanned("A-7", 70, Some("MyPay"), 16),
    ];
    let report = report(&orders, None, 100);
    assert_eq!(report.shift_id, ShiftId::FIRST);
    assert_eq!(report.opened_at, None);
    assert_eq!(
        report.orders,
        Tally {
            count: 6,
            amount: 695
        }
    );
    assert_eq!(
        report.taken,
        Tally {
            count: 4,
            amount: 525
        }
    );
    let states: Vec<_> = report
        .by_state
        .iter()
        .map(|s| (s.state, s.tally.count, s.tally.amount))
        .collect();
    assert_eq!(
        states,
        [
            (StateKind::Paid, 4, 525),
            (StateKind::Declined, 1, 80),
            (StateKind::NeedsAttention, 1, 90)
        ]
    );
    let wallets: Vec<_> = report
        .by_wallet
        .iter()
        .map(|w| (w.wallet.as_str(), w.tally.count, w.tally.amount))
        .collect();
    assert_eq!(wallets, [("JKOPay", 1, 60), ("MyPay", 3, 465)]);
    let invoices = &report.invoices;
    assert_eq!(invoices.count, 3);
    assert_eq!(invoices.total_amount, 465);
    assert_eq!(invoices.sales_amount + invoices.tax_amount, 465);
    assert_eq!(
        invoices.tracks,
        [
            TrackRange {
                word_track: "AB".into(),
                count: 2,
                first: "AB-12345678".into(),
                last: "AB-12345679".into()
            },
            TrackRange {
                word_track: "CD".into(),
                count: 1,
                first: "CD-00000001".into(),
                last: "CD-00000001".into()
            }
        ]
    );
    // Nothing printed yet: every paid receipt is still owed.
    assert_eq!(report.unprinted.len(), 4);
    assert_eq!(report.unfinished.len(), 1);
    assert_eq!(report.unfinished[0].order_id.as_str(), "A-7");
    assert_eq!(report.unfinished[0].state, StateKind::WaitingToSend);
    assert_eq!(report.needs_attention.len(), 1);
    assert!(
        report.needs_attention[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("no attempt went through"),
        "{:?}",
        report.needs_attention
    );
}

#[test]
fn printed_receipts_and_reprints_are_told_apart() {
    let mut printed = answered("B-1", 100, None, json!({"code": "250"}), 1);
    printed.receipt_printed(at(2)).unwrap();
    printed.reprint_requested(at(3)).unwrap();
    printed.receipt_printed(at(4)).unwrap();
    let owed = answered("B-2", 100, None, json!({"code": "250"}), 1);
    let report = report(&[printed, owed], None, 10);
    assert_eq!(report.reprints, 1);
    assert_eq!(report.unprinted, [OrderId::parse("B-2").unwrap()]);
    assert_eq!(report.by_wallet[0].wallet, UNKNOWN_WALLET);
}

#[test]
fn an_order_unfinished_at_a_close_is_counted_in_the_shift_it_becomes_final_in() {
    let open = scanned("C-1", 50, None, 5);
    let before = answered("C-0", 40, None, json!({"code": "250"}), 4);
    let first = report(&[before.clone(), open], None, 10);
    assert_eq!(first.orders.count, 1);
    assert_eq!(first.unfinished.len(), 1);

    // It became final at 8 s, before the first close, but was still open when that close read it.
    let late = answered("C-1", 50, None, json!({"code": "250"}), 8);
    let after = answered("C-2", 30, None, json!({"code": "300"}), 20);
    let second = report(&[before, late, after], Some(&first), 30);
    assert_eq!(second.shift_id.get(), 2);
    assert_eq!(second.opened_at, Some(at(10)));
    let counted: Vec<_> = second
        .by_state
        .iter()
        .map(|s| (s.state, s.tally.count))
        .collect();
    assert_eq!(
        counted,
        [(StateKind::Paid, 1), (StateKind::Declined, 1)],
        "{second:?}"
    );
    assert_eq!(second.orders.amount, 80);
    assert!(second.unfinished.is_empty());
}

#[test]
fn an_order_final_after_the_close_waits_for_the_next_shift() {
    let order = answered("D-1", 50, None, json!({"code": "250"}), 20);
    assert_eq!(membership(&order, None, at(10)), Membership::Elsewhere);
    assert_eq!(membership(&order, None, at(20)), Membership::Counted);
}

#[test]
fn the_scan_filter_passes_every_order_the_report_could_name() {
    let first = report(&[scanned("E-1", 10, None, 1)], None, 10);
    let id = |s: &str| OrderId::parse(s).unwrap();
    assert!(may_concern(false, at(1), &id("E-9"), Some(&first)));
    assert!(may_concern(true, at(1), &id("E-1"), Some(&first)));
    assert!(may_concern(true, at(11), &id("E-2"), Some(&first)));
    assert!(!may_concern(true, at(9), &id("E-2"), Some(&first)));
    assert!(may_concern(true, at(9), &id("E-2"), None));
}

#[test]
fn an_order_handed_over_twice_counts_once() {
    let order = answered("F-1", 50, None, json!({"code": "250"}), 1);
    let report = report(&[order.clone(), order], None, 10);
    assert_eq!(report.orders.count, 1);
}

#[test]
fn shift_ids_are_whole_numbers_from_one() {
    assert_eq!("7".parse::<ShiftId>().unwrap().get(), 7);
    for bad in ["0", "", "-1", "+3", "x", "1.5", "99999999999999999999"] {
        let err = bad.parse::<ShiftId>().unwrap_err();
        assert!(err.contains("not a shift id"), "{bad}: {err}");
    }
}

#[test]
fn a_report_reads_back_as_stored() {
    let report = report(&[needs_attention("G-1", 10, 1)], None, 10);
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(serde_json::from_str::<ShiftReport>(&json).unwrap(), report);
    assert!(json.contains("\"state\":\"needs_attention\""), "{json}");
}

/// An odd value outside the invoice's fields (a converted `actual_cost` with a fraction, a card
/// type the table does not list) leaves the order paid, and its invoice counted.
#[test]
fn an_odd_field_outside_the_invoice_keeps_the_invoice_counted() {
    let answer = json!({
        "code": "250", "cost": "150", "actual_cost": "150.5", "card_type": "VISA",
        "invoice_state": "2", "invoice_wordtrack": "AB", "invoice_number": "12345678",
        "invoice_amount": "150", "invoice_sales_amount": "143", "invoice_tax_amount": "7",
    });
    let odd = answered("ODD-1", 150, Some("MyPay"), answer, 10);
    let shift = report(&[odd], None, 20);
    assert_eq!(shift.invoices.count, 1, "{:?}", shift.invoices);
    assert_eq!(shift.invoices.total_amount, 150);
    assert_eq!(shift.invoices.tax_amount, 7);
}

/// A number sent whole beside its track counts in its track's range as the digits alone.
#[test]
fn a_whole_invoice_number_counts_by_its_digits() {
    let whole = paid_with_invoice("WHOLE-1", 105, "AB", "AB00000007", 10);
    let digits = paid_with_invoice("DIGITS-1", 105, "AB", "00000009", 11);
    let shift = report(&[whole, digits], None, 20);
    assert_eq!(shift.invoices.count, 2);
    let track = &shift.invoices.tracks[0];
    assert_eq!(
        (track.first.as_str(), track.last.as_str()),
        ("AB-00000007", "AB-00000009"),
        "{track:?}"
    );
}
