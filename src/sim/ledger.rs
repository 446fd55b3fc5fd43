//! The simulated gateway's books: every committed transaction, answered idempotently by order id.

use super::script::{Script, script_for};
use crate::api::values::{
    InvoiceInputType, InvoicePrintDevice, InvoicePrintType, InvoiceRateType, InvoiceState,
    InvoiceTitleType, IssueInvoiceState, PaymentName, ResultType, TransType, TransactionMode,
};
use crate::api::{
    Code, InvoiceDetailLine, InvoiceRequest, QueryDirectRequest, QueryDirectResponse,
    TransactionRequest, TransactionResponse, Twd,
};
use crate::einvoice::{
    self, Amounts, Ban, CheckKey, Invoice, InvoiceNumber, IssueTime, RandomCode,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The simulated store: who it is and how its invoices are set up at the gateway.
#[derive(Debug, Clone)]
pub struct SimStore {
    pub store_uid: String,
    pub seller_ban: String,
    pub title: String,
    /// The two letters of the invoice numbers (字軌).
    pub word_track: String,
    pub first_invoice_number: u32,
    /// The key of the QR check value.
    pub check_key: CheckKey,
    /// Whether an invoice is issued when the request leaves it to the store's settings.
    pub issue_by_default: bool,
    pub print_type: InvoicePrintType,
    pub print_device: InvoicePrintDevice,
}

impl SimStore {
    pub fn new(store_uid: &str) -> SimStore {
        SimStore {
            store_uid: store_uid.to_owned(),
            seller_ban: "12345675".to_owned(),
            title: "posd 模擬商店".to_owned(),
            word_track: "AB".to_owned(),
            first_invoice_number: 12_345_678,
            check_key: CheckKey::from_hex("a1b2c3d4e5f60718293a4b5c6d7e8f90")
                .expect("a valid fixed key"),
            issue_by_default: true,
            print_type: InvoicePrintType::InvoiceAndDetail,
            print_device: InvoicePrintDevice::SunmiV2Pro,
        }
    }
}

/// One committed transaction as `GET /_sim/ledger` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerEntry {
    pub order_id: String,
    pub payment_code: String,
    pub cost: u64,
    /// The transaction's current code (a pending one turns final when it is queried).
    pub code: Code,
    /// How many times `api/transaction` was received for this order.
    pub requests: u32,
    /// How many times the order was looked up with `api/querydirect`.
    pub queries: u32,
    pub uid: String,
}

struct Transaction {
    entry: LedgerEntry,
    fingerprint: String,
    answer: TransactionResponse,
}

/// What [`Ledger::charge`] did.
pub struct ChargeResult {
    pub answer: TransactionResponse,
    /// Whether the books changed (a new transaction, or a repeat counted).
    pub committed: bool,
}

pub struct Ledger {
    store: SimStore,
    transactions: BTreeMap<String, Transaction>,
    /// Which order a payment code was spent on: a code pays once.
    spent_codes: HashMap<String, String>,
    /// Requests answered 400 without committing, by order id.
    failed_attempts: HashMap<String, u32>,
    next_uid: u64,
    next_invoice_number: u32,
    rng: StdRng,
}

impl Ledger {
    pub fn new(store: SimStore, seed: u64) -> Ledger {
        Ledger {
            next_invoice_number: store.first_invoice_number,
            store,
            transactions: BTreeMap::new(),
            spent_codes: HashMap::new(),
            failed_attempts: HashMap::new(),
            next_uid: 96_389,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn store(&self) -> &SimStore {
        &self.store
    }

    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.transactions
            .values()
            .map(|t| t.entry.clone())
            .collect()
    }

    /// Charges an OFFLINE transaction. `fingerprint` identifies the request's content: the same
    /// order id with the same content gets the same answer again; with other content, code 100.
    pub fn charge(
        &mut self,
        request: &TransactionRequest,
        fingerprint: &str,
        now: IssueTime,
    ) -> ChargeResult {
        let order_id = request.order.order_id.clone();
        if let Some(existing) = self.transactions.get_mut(&order_id) {
            if existing.fingerprint != fingerprint {
                return ChargeResult {
                    answer: TransactionResponse::bare(
                        Code::DataIncorrect,
                        format!("order_id {order_id} was already used for a different order"),
                    ),
                    committed: false,
                };
            }
            existing.entry.requests += 1;
            return ChargeResult {
                answer: existing.answer.clone(),
                committed: true,
            };
        }

        let code = request
            .data_json
            .as_ref()
            .map(|d| d.qr_code.expose().to_owned())
            .unwrap_or_default();
        if let Some(owner) = self.spent_codes.get(&code) {
            let msg = format!("the payment code was already used for order {owner}");
            return ChargeResult {
                answer: TransactionResponse::bare(Code::Failed, msg),
                committed: false,
            };
        }
        let script = script_for(&code);
        if script == Script::SystemErrorOnce {
            let attempts = self.failed_attempts.entry(order_id.clone()).or_default();
            *attempts += 1;
            if *attempts == 1 {
                return ChargeResult {
                    answer: TransactionResponse::bare(Code::SystemError, "系統錯誤,請稍後再試"),
                    committed: false,
                };
            }
        }

        let uid = self.next_uid.to_string();
        self.next_uid += 1;
        let first = script.first_code();
        let mut answer = self.answer(request, &uid, first.clone(), now);
        if script.pays() {
            self.issue_invoice(&mut answer, request, script, now);
        }
        self.spent_codes.insert(code.clone(), order_id.clone());
        self.transactions.insert(
            order_id.clone(),
            Transaction {
                entry: LedgerEntry {
                    order_id,
                    payment_code: code,
                    cost: request.order.cost.0,
                    code: first,
                    requests: 1,
                    queries: 0,
                    uid,
                },
                fingerprint: fingerprint.to_owned(),
                answer: answer.clone(),
            },
        );
        ChargeResult {
            answer,
            committed: true,
        }
    }

    /// The script the order's payment code chose, for an order the ledger holds.
    pub fn script_of(&self, order_id: &str) -> Option<Script> {
        self.transactions
            .get(order_id)
            .map(|t| script_for(&t.entry.payment_code))
    }

    /// Looks an order up. `B200` with the matching rows, none when the gateway has no such order.
    /// A pending transaction is resolved (paid) by the lookup, as the provider's re-send would.
    pub fn query(&mut self, request: &QueryDirectRequest, now: IssueTime) -> QueryDirectResponse {
        let mut rows = Vec::new();
        if request.store_uid == self.store.store_uid {
            let pending = self
                .transactions
                .get(&request.order_id)
                .is_some_and(|t| matches!(t.entry.code, Code::Pending | Code::Accepted));
            if pending {
                let (order_request, uid) = {
                    let t = &self.transactions[&request.order_id];
                    (t.answer.clone(), t.entry.uid.clone())
                };
                let mut paid = order_request;
                paid.code = Code::Paid;
                paid.msg = Some("執行成功。".to_owned());
                paid.finishtime = Some(now.compact());
                paid.uid = Some(uid);
                self.issue_invoice_from_answer(&mut paid, now);
                let t = self
                    .transactions
                    .get_mut(&request.order_id)
                    .expect("checked above");
                t.entry.code = Code::Paid;
                t.answer = paid;
            }
            if let Some(t) = self.transactions.get_mut(&request.order_id) {
                t.entry.queries += 1;
                rows.push(t.answer.clone());
            }
        }
        QueryDirectResponse {
            code: Code::Done,
            msg: Some(if rows.is_empty() {
                "查無交易".to_owned()
            } else {
                "執行成功。".to_owned()
            }),
            rows,
            extra: Default::default(),
        }
    }

    fn answer(
        &mut self,
        request: &TransactionRequest,
        uid: &str,
        code: Code,
        now: IssueTime,
    ) -> TransactionResponse {
        let msg = match code {
            Code::Paid => "執行成功。",
            Code::Failed => "交易失敗",
            Code::Expired => "付款碼已過期",
            Code::Pending => "交易處理中,結果稍後通知",
            Code::Accepted => "交易已受理",
            Code::PaidWithMismatch => "交易成功,但部分資訊不符",
            Code::Abandoned => "交易已放棄",
            _ => "",
        };
        let order = &request.order;
        let mut answer = TransactionResponse::bare(code, msg);
        answer.uid = Some(uid.to_owned());
        answer.key = Some(format!("{:032x}", self.rng.random::<u128>()));
        answer.finishtime = Some(now.compact());
        answer.acode = Some(format!("{:06}", self.rng.random_range(0..1_000_000)));
        answer.transaction_mode = Some(TransactionMode::CollectionAgent);
        answer.supplier_name = Some("posd 模擬錢包".to_owned());
        answer.supplier_code = Some("SIM".to_owned());
        answer.order_id = Some(order.order_id.clone());
        answer.user_id = Some(request.consumer.user_id.clone());
        answer.cost = Some(order.cost);
        answer.currency = Some("TWD".to_owned());
        answer.actual_cost = Some(order.cost);
        answer.actual_currency = Some("TWD".to_owned());
        let wallet = wallet_of(
            request
                .data_json
                .as_ref()
                .map_or("", |d| d.qr_code.expose()),
        );
        answer.pfn = Some(wallet.clone());
        answer.trans_type = Some(TransType::Normal);
        answer.result_type = Some(ResultType::Json);
        answer.result_content_type = Some(wallet);
        answer.result_content = Some(
            serde_json::json!({"TradeNo": uid, "OrderTotalCost": order.cost.to_string()})
                .to_string(),
        );
        answer.echo_0 = order.echo_0.clone();
        answer.echo_1 = order.echo_1.clone();
        answer.echo_2 = order.echo_2.clone();
        answer.echo_3 = order.echo_3.clone();
        answer.echo_4 = order.echo_4.clone();
        answer.invoice.invoice_state = Some(InvoiceState::NotProcessed);
        answer.invoice.invoice_title_type = Some(InvoiceTitleType::Text);
        answer.invoice.invoice_print_type = Some(InvoicePrintType::Nothing);
        answer.invoice.invoice_print_device = Some(self.store.print_device);
        // The answer echoes the buyer's choice, not whether to issue.
        answer.requested_invoice = InvoiceRequest {
            issue_invoice_state: None,
            ..request.invoice.clone()
        };
        let detail: Vec<InvoiceDetailLine> = if order.items.is_empty() {
            vec![InvoiceDetailLine {
                description: "商品".to_owned(),
                quantity: 1,
                unit_price: order.cost,
                amount: order.cost,
            }]
        } else {
            order
                .items
                .iter()
                .map(|i| InvoiceDetailLine {
                    description: i.name.clone(),
                    quantity: i.amount,
                    unit_price: i.cost,
                    amount: i.total,
                })
                .collect()
        };
        answer.invoice.invoice_order_detail =
            Some(serde_json::to_string(&detail).expect("detail lines serialise"));
        answer
    }

    fn issue_invoice(
        &mut self,
        answer: &mut TransactionResponse,
        request: &TransactionRequest,
        script: Script,
        now: IssueTime,
    ) {
        let wanted = match request.invoice.issue_invoice_state {
            Some(IssueInvoiceState::DoNotIssue) => false,
            Some(IssueInvoiceState::Issue) => true,
            _ => self.store.issue_by_default,
        };
        if !wanted {
            return;
        }
        answer.invoice.invoice_print_type = Some(self.store.print_type);
        answer.invoice.invoice_title = Some(self.store.title.clone());
        answer.invoice.invoice_seller_ban = Some(self.store.seller_ban.clone());
        answer.requested_invoice.invoice_ratetype = answer
            .requested_invoice
            .invoice_ratetype
            .or(Some(InvoiceRateType::Taxable));
        match script {
            Script::PaidInvoicePending | Script::PendingThenPaid | Script::AcceptedThenPaid => {
                answer.invoice.invoice_state = Some(InvoiceState::Waiting);
                answer.invoice.invoice_state_msg = Some("發票等候開立中".to_owned());
            }
            Script::PaidInvoiceFailed => {
                answer.invoice.invoice_state = Some(InvoiceState::FailedSettings);
                answer.invoice.invoice_state_msg =
                    Some("發票開立失敗:特約商店發票設定不正確".to_owned());
            }
            _ => self.issue_invoice_from_answer(answer, now),
        }
    }

    /// Fills the invoice fields of a paid answer: number, random code, amounts, the QR and Code 39
    /// texts, all made with [`crate::einvoice`] so they follow the Ministry of Finance format.
    fn issue_invoice_from_answer(&mut self, answer: &mut TransactionResponse, now: IssueTime) {
        if answer.invoice.invoice_title.is_none() {
            return;
        }
        let total = answer.cost.unwrap_or_default().0;
        let buyer = answer
            .requested_invoice
            .invoice_b2b_id
            .clone()
            .or_else(|| answer.requested_invoice.invoice_tax_id.clone());
        let items = answer
            .invoice
            .invoice_detail()
            .unwrap_or_default()
            .into_iter()
            .map(|l| {
                einvoice::Item::new(
                    l.description,
                    u32::try_from(l.quantity).unwrap_or(u32::MAX),
                    l.unit_price.0,
                )
            })
            .collect();
        let digits = format!("{:08}", self.next_invoice_number);
        self.next_invoice_number += 1;
        let random = format!("{:04}", self.rng.random_range(0..10_000));
        let invoice = Invoice {
            number: InvoiceNumber::from_parts(&self.store.word_track, &digits)
                .expect("the simulator's word track and number are valid"),
            issued_at: now,
            random_code: RandomCode::parse(&random).expect("four digits"),
            amounts: Amounts::tax_included(total),
            seller_ban: Ban::parse(&self.store.seller_ban).expect("a valid seller BAN"),
            buyer_ban: buyer.as_deref().and_then(|b| Ban::parse(b).ok()),
            items,
        };
        let qr = invoice.qr_texts(&self.store.check_key, &Default::default());
        answer.invoice.invoice_state = Some(InvoiceState::Issued);
        answer.invoice.invoice_state_msg = Some("發票開立成功".to_owned());
        answer.invoice.invoice_date = Some(now.compact());
        answer.invoice.invoice_wordtrack = Some(self.store.word_track.clone());
        answer.invoice.invoice_number = Some(digits);
        answer.invoice.invoice_rand_code = Some(random);
        answer.invoice.invoice_buyer_ban = buyer;
        answer.invoice.invoice_left_qrcode = Some(qr.left);
        answer.invoice.invoice_middle_barcode = Some(invoice.barcode_text());
        answer.invoice.invoice_right_qrcode = Some(qr.right);
        answer.invoice.invoice_amount = Some(Twd(invoice.amounts.total()));
        answer.invoice.invoice_sales_amount = Some(Twd(invoice.amounts.sales()));
        answer.invoice.invoice_tax_amount = Some(Twd(invoice.amounts.tax()));
        if answer.requested_invoice.invoice_input_type.is_none() {
            answer.requested_invoice.invoice_input_type = Some(InvoiceInputType::Cloud);
        }
    }
}

/// The wallet a payment code belongs to, by the shapes the wallets publish.
fn wallet_of(code: &str) -> PaymentName {
    let digits = code.bytes().all(|b| b.is_ascii_digit());
    let prefix: u32 = code.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    match code.len() {
        18 if digits && (10..=15).contains(&prefix) => PaymentName::WeChatOffline,
        16..=24 if digits && (25..=30).contains(&prefix) => PaymentName::AlipayOffline,
        _ if code.starts_with("JKO") => PaymentName::JkoOffline,
        _ if code.starts_with("LP") => PaymentName::LinePayOffline,
        _ => PaymentName::Offline,
    }
}
