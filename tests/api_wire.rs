//! The wire types against the provider's own examples and the gateway's loose habits.

use posd::api::values::*;
use posd::api::{
    self, Code, Command, MemberStatusResponse, TransactionRequest, TransactionResponse, Twd,
};
use serde_json::json;

#[test]
fn the_documents_sample_answer_parses() {
    let text = include_str!("fixtures/api/transaction-answer-document-sample.json");
    let answer: TransactionResponse = serde_json::from_str(text).unwrap();
    assert_eq!(answer.code, Code::Paid);
    assert_eq!(answer.uid.as_deref(), Some("96389"), "uid sent as a number");
    assert_eq!(answer.cost, Some(Twd(10)), "cost sent as a number");
    assert_eq!(
        answer.card_type,
        Some(CardType::Visa),
        "card_type sent as \"1\""
    );
    assert_eq!(
        answer.transaction_mode,
        Some(TransactionMode::CollectionAgent)
    );
    assert_eq!(answer.pfn, Some(PaymentName::CreditCard));
    assert_eq!(
        answer.requested_invoice.invoice_input_type, None,
        "empty string is absent"
    );
    assert_eq!(
        answer.invoice.invoice_state,
        Some(InvoiceState::NotProcessed)
    );
    assert_eq!(
        answer.invoice.invoice_print_type,
        Some(InvoicePrintType::Nothing)
    );
    assert_eq!(answer.invoice.invoice_order_detail, None);
    assert!(
        answer.extra.is_empty(),
        "every field is known: {:?}",
        answer.extra
    );
}

#[test]
fn unknown_fields_and_values_are_kept() {
    let answer: TransactionResponse = serde_json::from_value(json!({
        "code": "Z123", "msg": "new", "invoice_print_type": 7, "pfn": "NEWWALLET", "brand_new": {"a": 1}
    }))
    .unwrap();
    assert_eq!(answer.code, Code::Other("Z123".into()));
    assert_eq!(
        answer.invoice.invoice_print_type,
        Some(InvoicePrintType::Other(7))
    );
    assert_eq!(answer.pfn, Some(PaymentName::Other("NEWWALLET".into())));
    assert_eq!(answer.extra["brand_new"], json!({"a": 1}));
    let back = serde_json::to_value(&answer).unwrap();
    assert_eq!(
        back["brand_new"],
        json!({"a": 1}),
        "kept on the way out too"
    );
    assert_eq!(back["invoice_print_type"], 7);
}

#[test]
fn money_is_strict() {
    for bad in [json!("10.5"), json!(-3), json!("ten"), json!(true)] {
        let e = serde_json::from_value::<TransactionResponse>(json!({"code": "250", "cost": bad}))
            .unwrap_err();
        assert!(e.to_string().contains("TWD"), "{e}");
    }
    let member: MemberStatusResponse =
        serde_json::from_value(json!({"code": "B200", "status": "true"})).unwrap();
    assert_eq!(member.status, Some(true));
}

#[test]
fn an_offline_request_has_the_documented_shape() {
    let request: TransactionRequest = serde_json::from_value(json!({
        "store_uid": "289151880002",
        "items": [{"id": "1", "name": "商品名稱", "cost": "10", "amount": "1", "total": "10"}],
        "cost": "10", "user_id": "phper", "order_id": "1234567890", "ip": "127.0.0.1",
        "pfn": "OFFLINE", "data_json": "{\"qrCode\":\"MY13697573pbmQsYhY\"}"
    }))
    .unwrap();
    request.validate().unwrap();
    assert_eq!(
        request.data_json.as_ref().unwrap().qr_code.expose(),
        "MY13697573pbmQsYhY"
    );
    assert!(
        !format!("{request:?}").contains("MY13697573pbmQsYhY"),
        "a payment code never shows in Debug output"
    );
    let wire = serde_json::to_value(&request).unwrap();
    assert_eq!(wire["cost"], "10", "amounts go out as text");
    assert_eq!(wire["data_json"], "{\"qrCode\":\"MY13697573pbmQsYhY\"}");
    assert_eq!(wire["items"][0]["amount"], "1");
}

#[test]
fn invoice_fields_only_in_documented_combinations() {
    let base = json!({
        "store_uid": "1", "cost": "10", "order_id": "A1", "user_id": "u", "pfn": "OFFLINE",
        "data_json": "{\"qrCode\":\"X\"}"
    });
    let with = |extra: serde_json::Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        api::check_body(Command::Transaction, &v)
    };
    assert_eq!(
        with(json!({"invoice_input_type": 2, "invoice_mobile_code": "/ABC1234"}))
            .unwrap_err()
            .field,
        "invoice_mobile_code"
    );
    assert_eq!(
        with(json!({"invoice_input_type": 2, "invoice_love_code": "12"}))
            .unwrap_err()
            .field,
        "invoice_love_code"
    );
    with(json!({"invoice_input_type": 2, "invoice_love_code": "8585"})).unwrap();
    with(json!({"invoice_input_type": 1, "invoice_cloud_type": 2, "invoice_mobile_code": "/ABC1234"}))
        .unwrap();
    assert_eq!(
        with(json!({"invoice_input_type": 1, "invoice_cloud_type": 2, "invoice_mobile_code": "ABC1234"}))
            .unwrap_err()
            .field,
        "invoice_mobile_code"
    );
    assert_eq!(
        with(json!({"invoice_input_type": 1, "invoice_cloud_type": 4}))
            .unwrap_err()
            .field,
        "user_email"
    );
    assert_eq!(with(json!({"pfn": "CREDITCARD"})).unwrap_err().field, "pfn");
    assert_eq!(
        with(json!({
            "discount": "5",
            "items": [{"id": "1", "name": "n", "cost": "10", "amount": "1", "total": "10"}]
        }))
        .unwrap_err()
        .field,
        "cost"
    );
    assert_eq!(
        with(json!({"currency": "USD"})).unwrap_err().field,
        "currency"
    );
}

#[test]
fn commands_know_their_service() {
    for command in Command::ALL {
        let service = command.service();
        assert_eq!(service.command(), Some(command));
        assert_eq!(Command::parse(command.cmd()), Some(command));
    }
    assert_eq!(Command::Transaction.service_name(), "api");
    assert_eq!(Command::EWallet.service_name(), "ocpap");
    assert_eq!(Command::parse("memberstatus"), Some(Command::MemberStatus));
    let wrong = api::Service {
        service_name: "api".into(),
        cmd: "api/ewallet".into(),
    };
    assert_eq!(wrong.command(), None, "service_name must match the command");
}
