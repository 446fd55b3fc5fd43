//! What each print type and invoice state puts on paper, read back from the printed stream.

use posd::api::values::InvoicePrintType;
use posd::escpos::{EncodeOptions, Preview, encode, interpret, native_encoding};
use posd::profile::TextEncoding;
use posd::receipt::{
    self, Bitmap, DetailLine, InvoiceAnswer, LayoutSettings, Parts, Receipt, ReceiptError,
    ReceiptInput,
};
use std::sync::LazyLock;

fn sample(name: &str) -> InvoiceAnswer {
    InvoiceAnswer::from_json(&sample_json(name).to_string()).unwrap()
}

/// A sample answer as the gateway sent it, to change before it is read.
fn sample_json(name: &str) -> serde_json::Value {
    let path = format!("{}/receipts/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Printed {
    receipt: Receipt,
    preview: Preview,
}

impl Printed {
    fn has_line(&self, needle: &str) -> bool {
        self.preview
            .text_lines
            .iter()
            .any(|line| line.contains(needle))
    }

    fn has_proof_title(&self) -> bool {
        self.preview
            .text_lines
            .iter()
            .any(|line| line == "電子發票證明聯")
    }
}

static SETTINGS: LazyLock<LayoutSettings> = LazyLock::new(|| LayoutSettings {
    header: vec!["posd 咖啡館".to_owned()],
    footer: vec!["謝謝光臨".to_owned()],
    logo: None,
    cut: true,
});

fn print_with<'a>(answer: &'a InvoiceAnswer, input: impl FnOnce(&mut ReceiptInput<'a>)) -> Printed {
    let mut receipt_input = ReceiptInput::new(answer, &SETTINGS, 384);
    input(&mut receipt_input);
    let receipt = receipt::build(&receipt_input).unwrap();
    let options = EncodeOptions {
        width_dots: receipt_input.width_dots,
        encoding: TextEncoding::Gb18030,
        cut: true,
    };
    let encoded = encode(&receipt.blocks, &options).unwrap();
    let preview = interpret(
        &encoded.bytes,
        options.width_dots,
        native_encoding(options.encoding),
    )
    .unwrap();
    assert!(preview.overflows.is_empty(), "{:?}", preview.overflows);
    Printed { receipt, preview }
}

fn print(answer: &InvoiceAnswer) -> Printed {
    print_with(answer, |_| {})
}

#[test]
fn type_0_prints_nothing() {
    let printed = print(&sample("b2c-no-print.json"));
    assert_eq!(printed.receipt.parts, Parts::default());
    assert!(printed.receipt.blocks.is_empty());
    assert!(printed.preview.text_lines.is_empty());
    assert!(printed.preview.images.is_empty());
    assert_eq!(printed.receipt.notice, None);
}

#[test]
fn type_1_prints_proof_then_detail() {
    let answer = sample("b2c-issued-proof-and-detail.json");
    let printed = print(&answer);
    assert_eq!(
        printed.receipt.parts,
        Parts {
            proof: true,
            detail: true
        }
    );
    let lines = &printed.preview.text_lines;
    let position = |needle: &str| lines.iter().position(|line| line.contains(needle));
    let proof = position("電子發票證明聯").unwrap();
    let detail = position("商品明細").unwrap();
    assert!(proof < detail);
    assert_eq!(position("113年11-12月"), Some(proof + 1));
    assert_eq!(position("AB-12345678"), Some(proof + 2));
    assert!(printed.has_line("2024-11-15 13:45:10"));
    assert!(printed.has_line("隨機碼 8372"));
    assert!(printed.has_line("總計 260"));
    assert!(printed.has_line("賣方 53212539"));
    assert!(!printed.has_line("買方"));
    assert!(!printed.has_line("格式"));
    assert!(printed.has_line("美式咖啡 (大)"));
    assert!(printed.has_line("合計 260"));
    assert!(!printed.has_line("補印"));
    assert_eq!(printed.preview.images.len(), 2, "barcode and QR pair");
    assert_eq!(
        printed.preview.cuts.len(),
        2,
        "after the proof and after the detail"
    );
}

#[test]
fn type_2_prints_the_proof_only_with_buyer_for_b2b() {
    let printed = print(&sample("b2b-issued-proof-only.json"));
    assert_eq!(
        printed.receipt.parts,
        Parts {
            proof: true,
            detail: false
        }
    );
    assert!(printed.has_proof_title());
    assert!(printed.has_line("113年01-02月"));
    assert!(printed.has_line("買方 24536806"));
    assert!(printed.has_line("格式 25"));
    assert!(!printed.has_line("商品明細"));
    assert_eq!(printed.preview.images.len(), 2);
}

#[test]
fn type_3_prints_the_detail_only() {
    let printed = print(&sample("b2c-issued-detail-only.json"));
    assert_eq!(
        printed.receipt.parts,
        Parts {
            proof: false,
            detail: true
        }
    );
    assert!(!printed.has_proof_title());
    assert!(printed.has_line("商品明細"));
    assert!(printed.has_line("發票 QK-55667788"));
    assert!(printed.preview.images.is_empty());
}

#[test]
fn pending_invoice_prints_the_detail_with_a_note_and_a_notice() {
    let printed = print(&sample("b2c-pending.json"));
    assert!(!printed.has_proof_title());
    assert!(printed.has_line("發票開立中"));
    assert!(printed.has_line("本聯不是電子發票證明聯"));
    let notice = printed.receipt.notice.unwrap();
    assert!(notice.pending);
    assert_eq!(notice.state, 1);
    assert!(printed.preview.images.is_empty());
}

#[test]
fn failed_invoice_prints_the_detail_with_the_reason() {
    let printed = print(&sample("b2c-failed.json"));
    assert_eq!(
        printed.receipt.parts,
        Parts {
            proof: false,
            detail: true
        }
    );
    assert!(printed.has_line("發票開立失敗"));
    assert!(printed.has_line("發票開立失敗：特約商店"));
    let notice = printed.receipt.notice.unwrap();
    assert!(!notice.pending);
    assert_eq!(notice.state, 3);
}

/// The line in place of the proof names what the invoice's state is, on one line of 58 mm paper.
#[test]
fn each_state_but_issued_is_named_on_one_line() {
    for (state, headline) in [
        (0, "未開立發票"),
        (1, "發票開立中"),
        (3, "發票開立失敗"),
        (4, "發票已作廢"),
        (5, "發票開立失敗"),
        (6, "發票已折讓"),
        (9, "未開立發票"),
    ] {
        let mut sent = sample_json("b2c-failed.json");
        sent["invoice_state"] = state.into();
        let answer = InvoiceAnswer::from_json(&sent.to_string()).unwrap();
        let printed = print(&answer);
        assert!(!printed.has_proof_title(), "state {state}");
        assert!(
            printed
                .preview
                .text_lines
                .iter()
                .any(|line| line.trim() == headline),
            "state {state}: {:?}",
            printed.preview.text_lines
        );
        assert_eq!(
            printed.receipt.notice.unwrap().state,
            state,
            "state {state}"
        );
    }
}

#[test]
fn reprints_are_marked() {
    let printed = print_with(&sample("b2c-issued-proof-and-detail.json"), |input| {
        input.reprint = true;
    });
    let lines = &printed.preview.text_lines;
    let proof = lines
        .iter()
        .position(|line| line == "電子發票證明聯")
        .unwrap();
    assert_eq!(lines[proof + 1], "補印");
    assert!(printed.has_line("商品明細 補印"));
}

#[test]
fn an_image_title_prints_the_logo_instead_of_the_url() {
    let mut logo = Bitmap::new(200, 64);
    logo.fill(0, 0, 200, 64);
    let printed = print_with(&sample("b2b-issued-proof-only.json"), |input| {
        input.logo = Some(&logo);
    });
    assert!(!printed.has_line("https://"));
    assert_eq!(printed.preview.images.len(), 3);
    assert_eq!(printed.preview.images[0].height, 64);
    assert_eq!(printed.preview.images[0].y, 0, "the logo comes first");
}

#[test]
fn an_image_title_without_a_cached_logo_prints_the_merchant_name() {
    let printed = print(&sample("b2b-issued-proof-only.json"));
    assert!(!printed.has_line("https://"));
    let lines = &printed.preview.text_lines;
    assert_eq!(lines[0], "posd 咖啡館");
    assert_eq!(lines[1], "電子發票證明聯");
}

#[test]
fn long_names_wrap_and_80mm_paper_centres_the_proof() {
    let answer = sample("b2c-issued-long-items.json");
    let narrow = print(&answer);
    assert!(narrow.has_line("有機鮮奶茶 Organic Milk Tea"));
    assert!(narrow.has_line("大杯少冰半糖"));
    let wide = print_with(&answer, |input| input.width_dots = 576);
    assert!(wide.has_line("有機鮮奶茶 Organic Milk Tea 大杯少冰半糖"));
    // The whole 384-dot proof, text and codes, sits in the middle of the 576-dot paper: the
    // outer 96 dots on each side stay white down to the cut after the proof.
    let bitmap = &wide.preview.bitmap;
    let proof_end = wide.preview.cuts[0];
    for y in 0..proof_end {
        assert!(!(0..96).any(|x| bitmap.get(x, y)), "row {y}");
        assert!(!(480..576).any(|x| bitmap.get(x, y)), "row {y}");
    }
    assert!((0..96).any(|x| (proof_end..bitmap.height()).any(|y| bitmap.get(x, y))));
}

/// No detail, or an empty list of it (as sent or as JSON text), prints the order's own items.
#[test]
fn the_order_items_are_printed_when_the_answer_has_no_detail() {
    let items = [DetailLine::from_item(&posd::einvoice::Item::new(
        "店內自備杯折扣",
        1,
        0,
    ))];
    for detail in [None, Some("[]")] {
        let mut answer = sample("b2c-issued-detail-only.json");
        answer.invoice.invoice_order_detail = detail.map(str::to_owned);
        let printed = print_with(&answer, |input| input.order_items = &items);
        assert!(printed.has_line("店內自備杯折扣"), "detail {detail:?}");
        assert!(printed.has_line("共 1 項"), "detail {detail:?}");
    }
    let mut sent = sample_json("b2c-issued-detail-only.json");
    sent["invoice_order_detail"] = serde_json::json!([]);
    let answer = InvoiceAnswer::from_json(&sent.to_string()).unwrap();
    let printed = print_with(&answer, |input| input.order_items = &items);
    assert!(printed.has_line("店內自備杯折扣"));
}

/// `00000000`, the QR header's "no buyer", and `0000000000`, the e-invoice data's consumer, are
/// a consumer's invoice: no buyer line, no 格式 25.
#[test]
fn a_buyer_ban_of_zeros_is_no_buyer() {
    for zeros in ["00000000", "0000000000"] {
        let mut answer = sample("b2c-issued-proof-and-detail.json");
        answer.invoice.invoice_buyer_ban = Some(zeros.to_owned());
        let printed = print(&answer);
        assert!(printed.has_proof_title());
        assert!(!printed.has_line("買方"), "{zeros}");
        assert!(!printed.has_line("格式 25"), "{zeros}");
    }
}

/// A number sent whole beside its track, and a random code sent as a number (its leading zero
/// lost), print as the invoice has them.
#[test]
fn a_whole_number_and_a_random_code_sent_as_a_number_print_as_issued() {
    let mut answer = sample("b2c-issued-proof-and-detail.json");
    let track = answer.invoice.invoice_wordtrack.clone().unwrap();
    let digits = answer.invoice.invoice_number.clone().unwrap();
    answer.invoice.invoice_number = Some(format!("{track}{digits}"));
    answer.invoice.invoice_rand_code = Some("416".to_owned());
    let printed = print(&answer);
    assert!(printed.has_line(&format!("{track}-{digits}")));
    assert!(printed.has_line("隨機碼 0416"));
    // The detail names the same number as the proof, its track once.
    assert!(printed.has_line(&format!("發票 {track}-{digits}")));
    assert!(!printed.has_line(&format!("{track}-{track}")));
}

/// Fields of digits that arrive as JSON numbers have lost their leading zeros on the way: the
/// invoice number and the seller's BAN print as their eight digits, and a buyer BAN of `0` is no
/// buyer.
#[test]
fn digit_fields_sent_as_json_numbers_print_with_their_zeros() {
    let mut sent = sample_json("b2c-issued-proof-and-detail.json");
    sent["invoice_number"] = 12001.into();
    sent["invoice_seller_ban"] = 3795904.into();
    sent["invoice_buyer_ban"] = 0.into();
    let answer = InvoiceAnswer::from_json(&sent.to_string()).unwrap();
    let track = answer.invoice.invoice_wordtrack.clone().unwrap();
    let printed = print(&answer);
    let number = format!("{track}-00012001");
    assert!(
        printed
            .preview
            .text_lines
            .iter()
            .any(|line| line.trim() == number),
        "{:?}",
        printed.preview.text_lines
    );
    assert!(printed.has_line(&format!("發票 {number}")));
    assert!(printed.has_line("賣方 03795904"));
    assert!(!printed.has_line("買方"));
    assert!(!printed.has_line("格式 25"));
}

#[test]
fn bad_answers_name_the_field() {
    let settings = LayoutSettings::default();
    let build = |answer: &InvoiceAnswer| receipt::build(&ReceiptInput::new(answer, &settings, 384));
    let mut answer = sample("b2c-issued-proof-and-detail.json");
    answer.invoice.invoice_left_qrcode = None;
    assert_eq!(
        build(&answer).unwrap_err(),
        ReceiptError::Missing("invoice_left_qrcode")
    );

    let mut answer = sample("b2c-issued-proof-and-detail.json");
    answer.invoice.invoice_print_type = Some(InvoicePrintType::Other(7));
    let err = build(&answer).unwrap_err().to_string();
    assert!(
        err.contains("invoice_print_type") && err.contains('7'),
        "{err}"
    );

    let mut answer = sample("b2c-issued-proof-and-detail.json");
    answer.invoice.invoice_date = Some("20241131120000".to_owned());
    let err = build(&answer).unwrap_err().to_string();
    assert!(
        err.contains("invoice_date") && err.contains("20241131120000"),
        "{err}"
    );

    let mut answer = sample("b2c-issued-proof-and-detail.json");
    answer.invoice.invoice_middle_barcode = Some("11312ab".to_owned());
    let err = build(&answer).unwrap_err().to_string();
    assert!(
        err.contains("invoice_middle_barcode") && err.contains("'a'"),
        "{err}"
    );
}

/// The item detail the answer garbles (not JSON, or not a list) costs its wording, not the
/// receipt: the proof prints, and the detail lists the order's own items and says so. A line
/// that leaves a field out prints it blank.
#[test]
fn an_unreadable_detail_prints_the_proof_and_the_orders_items() {
    let items = [DetailLine::from_item(&posd::einvoice::Item::new(
        "本機拿鐵",
        2,
        75,
    ))];
    for garbled in ["not json", r#"{"Description": "拿鐵"}"#] {
        let mut answer = sample("b2c-issued-proof-and-detail.json");
        answer.invoice.invoice_order_detail = Some(garbled.to_owned());
        let printed = print_with(&answer, |input| input.order_items = &items);
        assert!(printed.has_proof_title(), "{garbled}");
        assert!(printed.has_line("本機拿鐵"), "{garbled}");
        assert!(printed.has_line("明細依本機訂單列印"), "{garbled}");
        let unread = printed.receipt.detail_unread.as_deref().unwrap_or_default();
        assert!(unread.contains("invoice_order_detail"), "{unread}");
    }

    let mut answer = sample("b2c-issued-proof-and-detail.json");
    answer.invoice.invoice_order_detail =
        Some(r#"[{"Description": "美式咖啡", "Quantity": "1", "UnitPrice": "65"}]"#.to_owned());
    let printed = print(&answer);
    assert!(printed.has_line("美式咖啡"));
    assert!(printed.has_line("1 x 65"));
    assert!(printed.receipt.detail_unread.is_none());
}
