//! The shift report on paper (交班報表): receipt blocks for the printer path, fitted to the paper's
//! columns (32 on 58 mm paper, 48 on 80 mm).

use super::{OrderLine, ResolvedLine, ShiftReport, Tally};
use crate::order::{StateKind, Timestamp};
use crate::receipt::text::{COLUMN_DOTS, wrap};
use crate::receipt::{Align, Block, SIMULATED_NOTICE, Style};

/// Taiwan's time, which the shop's day is counted in.
const TAIWAN: time::UtcOffset = time::macros::offset!(+8);

/// The report's blocks for paper `width_dots` wide.
pub fn blocks(report: &ShiftReport, width_dots: u32) -> Vec<Block> {
    let width = usize::try_from(width_dots / COLUMN_DOTS).unwrap_or(32);
    let mut paper = Paper {
        blocks: Vec::new(),
        width,
    };
    if report.simulated {
        paper.line(SIMULATED_NOTICE, Style::NOTICE);
    }
    paper.line(
        "交班報表",
        Style {
            large: true,
            bold: true,
            align: Align::Centre,
        },
    );
    paper.line(&format!("班別 {}", report.shift_id), CENTRED);
    match report.opened_at {
        Some(opened) => paper.pair("開班", &shown(opened)),
        None => paper.pair("開班", "首班"),
    }
    paper.pair("交班", &shown(report.closed_at));
    if report.forced {
        paper.line("強制交班:仍有未完成訂單", Style::NOTICE);
    }

    paper.heading("總計");
    paper.tally("訂單", report.orders);
    paper.tally("收款", report.taken);

    paper.heading("各狀態");
    for state in &report.by_state {
        paper.tally(state_name(state.state), state.tally);
    }

    paper.heading("各錢包(已付款)");
    if report.by_wallet.is_empty() {
        paper.line("無", Style::PLAIN);
    }
    for wallet in &report.by_wallet {
        let name = if wallet.wallet == super::UNKNOWN_WALLET {
            "未知"
        } else {
            &wallet.wallet
        };
        paper.tally(name, wallet.tally);
    }

    let invoices = &report.invoices;
    paper.heading("電子發票");
    paper.pair("開立張數", &invoices.count.to_string());
    for track in &invoices.tracks {
        paper.pair(
            &format!("字軌 {}", track.word_track),
            &format!("{} 張", track.count),
        );
        paper.pair(" 起", &track.first);
        paper.pair(" 迄", &track.last);
    }
    paper.pair("銷售額", &invoices.sales_amount.to_string());
    paper.pair("稅額", &invoices.tax_amount.to_string());
    paper.pair("總計", &invoices.total_amount.to_string());

    paper.heading("收據");
    paper.pair("補印", &report.reprints.to_string());
    paper.pair("未列印", &report.unprinted.len().to_string());
    for id in &report.unprinted {
        paper.wrapped(&format!(" {id}"));
    }

    paper.heading("未完成訂單");
    paper.orders(&report.unfinished);
    paper.heading("待處理訂單");
    paper.orders(&report.needs_attention);
    paper.heading("人工處理");
    paper.resolved(&report.resolved);
    paper.blocks.push(Block::Feed(1));
    paper.blocks.push(Block::Cut);
    paper.blocks
}

const CENTRED: Style = Style {
    align: Align::Centre,
    ..Style::PLAIN
};

struct Paper {
    blocks: Vec<Block>,
    width: usize,
}

impl Paper {
    fn line(&mut self, text: &str, style: Style) {
        for line in wrap(text, self.width / style.scale()) {
            self.blocks.push(Block::Text { text: line, style });
        }
    }

    fn wrapped(&mut self, text: &str) {
        self.line(text, Style::PLAIN);
    }

    fn heading(&mut self, title: &str) {
        self.line(&"-".repeat(self.width), Style::PLAIN);
        self.line(
            title,
            Style {
                bold: true,
                ..Style::PLAIN
            },
        );
    }

    /// `left` and `right` on one line, `right` flush right; on two when they do not fit.
    fn pair(&mut self, left: &str, right: &str) {
        match crate::receipt::text::spread(left, right, self.width) {
            Some(line) => self.line(&line, Style::PLAIN),
            None => {
                self.wrapped(left);
                self.line(
                    right,
                    Style {
                        align: Align::Right,
                        ..Style::PLAIN
                    },
                );
            }
        }
    }

    fn tally(&mut self, label: &str, tally: Tally) {
        self.pair(label, &format!("{} 筆  {} 元", tally.count, tally.amount));
    }

    fn resolved(&mut self, resolved: &[ResolvedLine]) {
        if resolved.is_empty() {
            self.line("無", Style::PLAIN);
        }
        for order in resolved {
            self.wrapped(order.order_id.as_str());
            self.pair(
                &format!(" {}", state_name(order.state)),
                &format!("{} 元", order.amount),
            );
            let resolution = &order.resolution;
            let forced = if resolution.forced {
                " (未經閘道確認)"
            } else {
                ""
            };
            self.wrapped(&format!(" 處理人 {}{forced}", resolution.by));
            if let Some(note) = &resolution.note {
                self.wrapped(&format!(" {note}"));
            }
        }
    }

    fn orders(&mut self, orders: &[OrderLine]) {
        if orders.is_empty() {
            self.line("無", Style::PLAIN);
        }
        for order in orders {
            self.wrapped(order.order_id.as_str());
            self.pair(
                &format!(" {}", state_name(order.state)),
                &format!("{} 元", order.amount),
            );
            if let Some(reason) = &order.reason {
                self.wrapped(&format!(" {reason}"));
            }
        }
    }
}

fn state_name(state: StateKind) -> &'static str {
    match state {
        StateKind::AwaitingPaymentCode => "等待付款碼",
        StateKind::WaitingToSend => "等待送出",
        StateKind::Sending => "送出中",
        StateKind::Reconciling => "查詢中",
        StateKind::Paid => "已付款",
        StateKind::PaidWithMismatch => "已付款(資料不符)",
        StateKind::Declined => "拒絕",
        StateKind::Expired => "逾期",
        StateKind::Rejected => "資料錯誤",
        StateKind::Abandoned => "放棄",
        StateKind::Cancelled => "取消",
        StateKind::NeedsAttention => "待處理",
        StateKind::NotPaid => "確認未付款",
    }
}

/// `2026-12-01 18:00:00`, Taiwan time.
fn shown(at: Timestamp) -> String {
    let nanos = i128::from(at.as_millis()) * 1_000_000;
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.to_offset(TAIWAN).format(&format).ok())
        .unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::text::columns;
    use crate::shift::{InvoiceSummary, ShiftId, StateTally, TrackRange, WalletTally};

    fn sample() -> ShiftReport {
        let line = |id: &str, state, reason: Option<&str>| OrderLine {
            order_id: crate::order::OrderId::parse(id).unwrap(),
            state,
            amount: 90,
            created_at: Timestamp::from_millis(0),
            reason: reason.map(str::to_owned),
        };
        ShiftReport {
            shift_id: ShiftId::new(12).unwrap(),
            opened_at: Some(Timestamp::from_millis(1_764_547_200_000)),
            closed_at: Timestamp::from_millis(1_764_579_600_000),
            forced: true,
            simulated: true,
            orders: Tally {
                count: 3,
                amount: 300,
            },
            taken: Tally {
                count: 1,
                amount: 150,
            },
            by_state: vec![StateTally {
                state: StateKind::Paid,
                tally: Tally {
                    count: 1,
                    amount: 150,
                },
            }],
            by_wallet: vec![WalletTally {
                wallet: "MyPay".into(),
                tally: Tally {
                    count: 1,
                    amount: 150,
                },
            }],
            invoices: InvoiceSummary {
                count: 1,
                sales_amount: 143,
                tax_amount: 7,
                total_amount: 150,
                tracks: vec![TrackRange {
                    word_track: "AB".into(),
                    count: 1,
                    first: "AB-12345678".into(),
                    last: "AB-12345678".into(),
                }],
            },
            reprints: 2,
            unprinted: vec![],
            unfinished: vec![line(
                "posd-till-with-long-name-1764579600000-0001",
                StateKind::AwaitingPaymentCode,
                None,
            )],
            needs_attention: vec![line(
                "N-1",
                StateKind::NeedsAttention,
                Some("still unresolved after 1800 s; the gateway may hold a charge for it"),
            )],
            resolved: vec![ResolvedLine {
                order_id: crate::order::OrderId::parse("R-1").unwrap(),
                state: StateKind::Paid,
                amount: 60,
                resolution: crate::order::Resolution {
                    resolved_as: crate::order::Verdict::Paid,
                    by: "店長 王".into(),
                    note: Some("客人手機顯示付款成功".into()),
                    at: Timestamp::from_millis(1_764_570_000_000),
                    gateway: crate::order::GatewayCheck::NotFound,
                    forced: true,
                },
            }],
        }
    }

    fn text(blocks: &[Block]) -> Vec<(String, Style)> {
        blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text { text, style } => Some((text.clone(), *style)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_line_fits_58_and_80_mm_paper() {
        for width in [384, 576] {
            let columns_wide = (width / COLUMN_DOTS) as usize;
            let lines = text(&blocks(&sample(), width));
            for (line, style) in &lines {
                assert!(
                    columns(line) * style.scale() <= columns_wide,
                    "{width} dots: {line:?} is {} columns",
                    columns(line)
                );
            }
            let all: Vec<_> = lines.iter().map(|(l, _)| l.as_str()).collect();
            assert_eq!(all[0], SIMULATED_NOTICE);
            assert_eq!(all[1], "交班報表");
            assert!(all.contains(&"班別 12"), "{all:?}");
            assert!(
                all.iter()
                    .any(|l| l.starts_with("開班") && l.ends_with("2025-12-01 08:00:00")),
                "{all:?}"
            );
            assert!(
                all.iter()
                    .any(|l| l.starts_with(" 迄") && l.ends_with("AB-12345678")),
                "{all:?}"
            );
            assert!(
                all.iter()
                    .any(|l| l.starts_with("補印") && l.ends_with('2'))
            );
            assert!(all.iter().any(|l| l.contains("still unresolved")));
            let resolved = all
                .iter()
                .position(|l| *l == "人工處理")
                .expect("resolutions");
            assert_eq!(all[resolved + 1], "R-1");
            assert!(all[resolved + 2].starts_with(" 已付款"), "{all:?}");
            assert_eq!(all[resolved + 3], " 處理人 店長 王 (未經閘道確認)");
            assert_eq!(all[resolved + 4], " 客人手機顯示付款成功");
        }
    }

    #[test]
    fn the_report_ends_in_a_cut() {
        assert_eq!(blocks(&sample(), 384).last(), Some(&Block::Cut));
    }
}
