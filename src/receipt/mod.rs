//! The printout of a payment: the e-invoice proof (電子發票證明聯) and the item detail (商品明細).
//!
//! [`build`] turns the gateway's answer into a [`Receipt`]: a list of printer-independent
//! blocks (styled text lines, already wrapped to the paper; 1-bit images for the title logo, the
//! Code 39 barcode and the pair of QR codes). Nothing here does I/O: the caller reads the answer,
//! the settings and the logo, and `crate::escpos` turns the blocks into printer bytes.
//!
//! What is printed follows `invoice_print_type` (0 nothing, 1 proof and detail, 2 proof only,
//! 3 detail only). The proof is printed only for an issued invoice (`invoice_state` 2); for any
//! other state the detail is printed instead, with a note saying the invoice is pending or
//! failed, and [`Receipt::notice`] tells the caller so it can raise an event.
//!
//! Layout invariants: every text line fits the paper's columns (CJK counted double), every
//! image fits its width, the barcode and QR codes carry the gateway's strings unchanged.
//!
//! [`build`]: crate::receipt::build
//! [`Receipt`]: crate::receipt::Receipt
//! [`Receipt::notice`]: crate::receipt::Receipt::notice

mod answer;
pub mod code39;
pub mod link;
mod logo;
pub mod qr;
mod settings;
pub mod test_page;

pub use crate::document::{Align, Bitmap, Block, Style, text};
pub use answer::{AnswerError, DetailLine, InvoiceAnswer};
pub use logo::dither;
pub use settings::{LayoutSettings, SettingsError};

use crate::api::values::{InvoicePrintType, InvoiceState, InvoiceTitleType};
use crate::einvoice::{InvoiceNumber, IssueTime};
use text::{COLUMN_DOTS, columns, spread, wrap};

/// The right QR text when the gateway sends none: its `**` mark with no items after it.
const EMPTY_RIGHT_QR: &str = "**";

/// Width of the e-invoice proof in dots: the MoF proof is 5.7 cm paper whatever the printer, so
/// on 80 mm paper it is printed at 58 mm size, centred.
pub const PROOF_WIDTH_DOTS: u32 = 384;
/// Printed first on every printout made from orders charged against the gateway simulator.
pub const SIMULATED_NOTICE: &str = "模擬交易 — 非真實付款";

/// Height of the Code 39 bars (6 mm).
const BARCODE_HEIGHT_DOTS: u32 = 48;

/// Which parts a receipt holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parts {
    pub proof: bool,
    pub detail: bool,
}

/// The invoice was expected on paper but is not issued; the caller turns this into an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceNotice {
    /// The gateway's `invoice_state` (absent counts as 0).
    pub state: u64,
    pub pending: bool,
    pub message: Option<String>,
}

/// A receipt ready to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub blocks: Vec<Block>,
    pub parts: Parts,
    pub notice: Option<InvoiceNotice>,
    /// Why the answer's `invoice_order_detail` could not be read, when the detail was printed
    /// from the order's own items instead (and says so on paper).
    pub detail_unread: Option<String>,
}

/// What a receipt is built from.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptInput<'a> {
    pub answer: &'a InvoiceAnswer,
    /// The order's own items, printed when the answer carries no `invoice_order_detail`.
    pub order_items: &'a [DetailLine],
    /// A second print of the same receipt, marked `補印`.
    pub reprint: bool,
    pub settings: &'a LayoutSettings,
    /// The cached title image, dithered, used when `invoice_title_type` is 2.
    pub logo: Option<&'a Bitmap>,
    pub width_dots: u32,
}

impl<'a> ReceiptInput<'a> {
    /// A first print of `answer` without order items or logo.
    pub fn new(answer: &'a InvoiceAnswer, settings: &'a LayoutSettings, width_dots: u32) -> Self {
        ReceiptInput {
            answer,
            order_items: &[],
            reprint: false,
            settings,
            logo: None,
            width_dots,
        }
    }
}

/// Why a receipt could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("gateway answer: {0} is missing; the e-invoice proof needs it")]
    Missing(&'static str),
    #[error("gateway answer: {field} {detail}")]
    Invalid { field: &'static str, detail: String },
    #[error("gateway answer: invoice_middle_barcode: {0}")]
    Barcode(#[from] code39::Code39Error),
    #[error("gateway answer: invoice_left_qrcode/invoice_right_qrcode: {0}")]
    Qr(#[from] qr::QrError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("paper of {0} dots is narrower than the {PROOF_WIDTH_DOTS}-dot e-invoice proof")]
    TooNarrow(u32),
}

/// Builds the receipt for a gateway answer.
pub fn build(input: &ReceiptInput<'_>) -> Result<Receipt, ReceiptError> {
    if input.width_dots < PROOF_WIDTH_DOTS {
        return Err(ReceiptError::TooNarrow(input.width_dots));
    }
    let answer = input.answer;
    let print_type = answer
        .invoice
        .invoice_print_type
        .unwrap_or(InvoicePrintType::InvoiceAndDetail);
    let (want_proof, want_detail) = match print_type {
        InvoicePrintType::Nothing => (false, false),
        InvoicePrintType::InvoiceAndDetail => (true, true),
        InvoicePrintType::InvoiceOnly => (true, false),
        InvoicePrintType::DetailOnly => (false, true),
        InvoicePrintType::Other(other) => {
            return Err(ReceiptError::Invalid {
                field: "invoice_print_type",
                detail: format!("is {other}; expected 0 to 3"),
            });
        }
    };
    let state = answer
        .invoice
        .invoice_state
        .unwrap_or(InvoiceState::NotProcessed);
    let state_value = u64::try_from(state.value()).map_err(|_| ReceiptError::Invalid {
        field: "invoice_state",
        detail: format!("is {}; expected a state of 0 or more", state.value()),
    })?;
    let issued = state == InvoiceState::Issued;
    let notice = (want_proof && !issued).then(|| InvoiceNotice {
        state: state_value,
        pending: state == InvoiceState::Waiting,
        message: answer.invoice.invoice_state_msg.clone(),
    });
    let parts = Parts {
        proof: want_proof && issued,
        detail: want_detail || notice.is_some(),
    };

    let mut page = Page::new(input.width_dots);
    if parts.proof {
        proof(&mut page, input)?;
        page.blocks.push(Block::Cut);
    }
    let mut detail_unread = None;
    if parts.detail {
        detail_unread = detail(&mut page, input, notice.as_ref())?;
        page.blocks.push(Block::Cut);
    }
    Ok(Receipt {
        blocks: page.blocks,
        parts,
        notice,
        detail_unread,
    })
}

/// Blocks being laid out for a paper width.
struct Page {
    columns: usize,
    blocks: Vec<Block>,
}

impl Page {
    fn new(width_dots: u32) -> Self {
        Page {
            columns: (width_dots / COLUMN_DOTS) as usize,
            blocks: Vec::new(),
        }
    }

    /// Adds `text`, wrapped to the columns its style allows.
    fn text(&mut self, text: &str, style: Style) {
        for line in wrap(text, self.columns / style.scale()) {
            self.blocks.push(Block::Text { text: line, style });
        }
    }

    /// Adds `left` and `right` on one line, or on two when they do not fit together.
    fn spread(&mut self, left: &str, right: &str) {
        match spread(left, right, self.columns) {
            Some(line) => self.text(&line, Style::PLAIN),
            None => {
                self.text(left, Style::PLAIN);
                self.text(
                    right,
                    Style {
                        align: Align::Right,
                        ..Style::PLAIN
                    },
                );
            }
        }
    }

    fn rule(&mut self) {
        self.text(&"-".repeat(self.columns), Style::PLAIN);
    }
}

/// What the detail says in place of a proof not issued, by `invoice_state`: short enough for one
/// line in large type on 58 mm paper (16 columns).
fn not_issued_headline(state: InvoiceState) -> &'static str {
    match state {
        InvoiceState::Waiting => "發票開立中",
        InvoiceState::FailedSettings | InvoiceState::FailedSystem => "發票開立失敗",
        InvoiceState::Voided => "發票已作廢",
        InvoiceState::Allowance => "發票已折讓",
        // 0, "not processed or no longer valid", and any state the table does not name.
        _ => "未開立發票",
    }
}

fn required<'a>(value: &'a Option<String>, field: &'static str) -> Result<&'a str, ReceiptError> {
    value.as_deref().ok_or(ReceiptError::Missing(field))
}

fn proof(page: &mut Page, input: &ReceiptInput<'_>) -> Result<(), ReceiptError> {
    let answer = input.answer;
    let invalid = |field| {
        move |err: crate::einvoice::InvoiceError| ReceiptError::Invalid {
            field,
            detail: err.to_string(),
        }
    };
    let date = IssueTime::parse(required(&answer.invoice.invoice_date, "invoice_date")?)
        .map_err(invalid("invoice_date"))?;
    let word_track = required(&answer.invoice.invoice_wordtrack, "invoice_wordtrack")?;
    let digits = answer
        .invoice
        .invoice_digits()
        .ok_or(ReceiptError::Missing("invoice_number"))?;
    let number =
        InvoiceNumber::from_parts(word_track, &digits).map_err(invalid("invoice_number"))?;
    let random_code = answer
        .invoice
        .random_code()
        .ok_or(ReceiptError::Missing("invoice_rand_code"))?;
    let seller = answer
        .invoice
        .seller_ban()
        .ok_or(ReceiptError::Missing("invoice_seller_ban"))?;
    let total = answer
        .invoice
        .invoice_amount
        .ok_or(ReceiptError::Missing("invoice_amount"))?;
    let barcode_text = required(
        &answer.invoice.invoice_middle_barcode,
        "invoice_middle_barcode",
    )?;
    let left_qr = required(&answer.invoice.invoice_left_qrcode, "invoice_left_qrcode")?;
    // The right text is `**` and the items the left one had no room for: with none left, some
    // gateways send it empty. The proof still needs its second code, which then carries the mark
    // alone.
    let right_qr = answer
        .invoice
        .invoice_right_qrcode
        .as_deref()
        .unwrap_or(EMPTY_RIGHT_QR);

    // The proof keeps its 5.7 cm layout on wider paper, centred.
    let mut proof_page = Page::new(PROOF_WIDTH_DOTS);
    // An image title (type 2) sends the image's address as `invoice_title`: it is printed from
    // the cached logo, or else replaced by the merchant's first header line, never as text.
    let text_title = match (answer.invoice.invoice_title_type, input.logo) {
        (Some(InvoiceTitleType::Image), Some(logo)) => {
            proof_page
                .blocks
                .push(Block::Image(fit_image(logo, PROOF_WIDTH_DOTS)));
            None
        }
        (Some(InvoiceTitleType::Image), None) => input.settings.header.first(),
        _ => answer.invoice.invoice_title.as_ref(),
    };
    if let Some(title) = text_title {
        let style = if columns(title) * 2 <= proof_page.columns {
            Style::TITLE
        } else {
            Style {
                bold: true,
                ..Style::CENTRED
            }
        };
        proof_page.text(title, style);
    }
    proof_page.text("電子發票證明聯", Style::TITLE);
    if input.reprint {
        proof_page.text("補印", Style::HEADLINE);
    }
    proof_page.text(&crate::einvoice::period_label(&date), Style::HEADLINE);
    proof_page.text(&number.to_string(), Style::HEADLINE);
    let buyer = answer.invoice.buyer_ban();
    let date_line = match buyer {
        Some(_) => format!("{}  格式 25", date.printed()),
        None => date.printed(),
    };
    proof_page.text(&date_line, Style::PLAIN);
    proof_page.spread(&format!("隨機碼 {random_code}"), &format!("總計 {total}"));
    match buyer {
        Some(buyer) => proof_page.spread(&format!("賣方 {seller}"), &format!("買方 {buyer}")),
        None => proof_page.text(&format!("賣方 {seller}"), Style::PLAIN),
    }
    let barcode = code39::draw(barcode_text, PROOF_WIDTH_DOTS, BARCODE_HEIGHT_DOTS)?;
    proof_page.blocks.push(Block::Feed(1));
    proof_page.blocks.push(Block::Image(barcode));
    let [left_bytes, right_bytes] = crate::einvoice::qr_bytes(left_qr, right_qr);
    let (codes, _) = qr::draw_pair(&left_bytes, &right_bytes, PROOF_WIDTH_DOTS)?;
    proof_page.blocks.push(Block::Image(codes));

    // Left-aligned lines are padded to the proof's width and centred, so that on wider paper
    // they stay in the 5.7 cm column with the codes instead of hugging the paper's edge.
    let proof_columns = proof_page.columns;
    page.blocks
        .extend(proof_page.blocks.into_iter().map(|block| match block {
            Block::Text { text, style } if style.align == Align::Left => Block::Text {
                text: format!(
                    "{text:<width$}",
                    width = text.chars().count() + proof_columns - columns(&text)
                ),
                style: Style {
                    align: Align::Centre,
                    ..style
                },
            },
            other => other,
        }));
    Ok(())
}

/// The logo, cut to the width if it is wider (a merchant's file may be any size).
fn fit_image(image: &Bitmap, width: u32) -> Bitmap {
    if image.width() <= width {
        return image.clone();
    }
    let mut fitted = Bitmap::new(width, image.height());
    for y in 0..image.height() {
        for x in 0..width {
            if image.get(x + (image.width() - width) / 2, y) {
                fitted.set(x, y);
            }
        }
    }
    fitted
}

/// Lays the item detail out; returns why the answer's detail could not be read, when the order's
/// own items stood in for it.
fn detail(
    page: &mut Page,
    input: &ReceiptInput<'_>,
    notice: Option<&InvoiceNotice>,
) -> Result<Option<String>, ReceiptError> {
    let answer = input.answer;
    for line in &input.settings.header {
        page.text(line, Style::CENTRED);
    }
    let heading = if input.reprint {
        "商品明細 補印"
    } else {
        "商品明細"
    };
    page.text(heading, Style::HEADLINE);
    if let Some(notice) = notice {
        let state = answer
            .invoice
            .invoice_state
            .unwrap_or(InvoiceState::NotProcessed);
        page.text(not_issued_headline(state), Style::HEADLINE);
        page.text("本聯不是電子發票證明聯", Style::CENTRED);
        if let Some(message) = &notice.message {
            page.text(message, Style::CENTRED);
        }
    }
    if let Some(order_id) = &answer.order_id {
        page.text(&format!("訂單 {order_id}"), Style::PLAIN);
    }
    if answer.invoice.invoice_state == Some(InvoiceState::Issued)
        && let (Some(track), Some(digits)) = (
            &answer.invoice.invoice_wordtrack,
            answer.invoice.invoice_digits(),
        )
    {
        page.text(&format!("發票 {track}-{digits}"), Style::PLAIN);
    }
    page.rule();

    // A detail the answer garbles costs the gateway's wording of the items, not the receipt: the
    // proof beside it is the customer's invoice, and the order's own items say what was bought.
    let (lines, unread) = match answer.detail_lines() {
        Ok(Some(lines)) => (lines, None),
        Ok(None) => (input.order_items.to_vec(), None),
        Err(e) => (input.order_items.to_vec(), Some(e.to_string())),
    };
    if unread.is_some() {
        page.text("（明細依本機訂單列印）", Style::CENTRED);
    }
    for line in &lines {
        page.text(&line.description, Style::PLAIN);
        page.spread(
            &format!("  {} x {}", line.quantity, line.unit_price),
            &line.amount,
        );
    }
    page.rule();
    let total = answer
        .invoice
        .invoice_amount
        .or(answer.cost)
        .map(|twd| twd.0)
        .or_else(|| {
            lines
                .iter()
                .map(|line| line.amount.parse::<u64>().ok())
                .sum::<Option<u64>>()
        });
    let count = format!("共 {} 項", lines.len());
    match total {
        Some(total) => page.spread(&count, &format!("合計 {total}")),
        None => page.text(&count, Style::PLAIN),
    }
    if let (Some(sales), Some(tax)) = (
        answer.invoice.invoice_sales_amount,
        answer.invoice.invoice_tax_amount,
    ) {
        page.spread("銷售額", &sales.to_string());
        page.spread("稅額", &tax.to_string());
    }
    for line in &input.settings.footer {
        page.text(line, Style::CENTRED);
    }
    Ok(unread)
}
