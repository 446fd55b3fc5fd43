//! Whole scans over real sources: code found, refused texts, duplicates, timeout and cancel.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::corpus::{self, Condition};
use image::{GrayImage, ImageFormat};
use posd::scan::session::{Scanner, cancel_pair};
use posd::scan::source::{
    FailedScanRecorder, ImageFiles, PushedFrame, PushedFrames, RawFormat, RawFrame, RawLayout,
};
use posd::scan::{
    CodeRules, Decoder, DecoderConfig, Deduper, MaskedCode, ScanEvent, ScanOutcome, SessionConfig,
};
use tokio::sync::mpsc;

/// A grey frame as the POS app pushes it, packed rows.
fn grey(frame: &GrayImage) -> PushedFrame {
    let layout = RawLayout {
        format: RawFormat::Grey,
        width: frame.width(),
        height: frame.height(),
        stride: frame.width(),
    };
    PushedFrame::Raw(RawFrame::new(layout, frame.as_raw().clone()).unwrap())
}

fn scanner(timeout: Duration) -> (Scanner, mpsc::UnboundedReceiver<ScanEvent>) {
    let (events, received) = mpsc::unbounded_channel();
    let scanner = Scanner::new(
        Arc::new(Decoder::new(
            CodeRules::default(),
            DecoderConfig {
                frame_budget: Duration::from_secs(60),
                ..DecoderConfig::default()
            },
        )),
        Deduper::new(Duration::from_secs(3)),
        SessionConfig { timeout },
        events,
    );
    (scanner, received)
}

fn drain(events: &mut mpsc::UnboundedReceiver<ScanEvent>) -> Vec<ScanEvent> {
    let mut all = Vec::new();
    while let Ok(event) = events.try_recv() {
        all.push(event);
    }
    all
}

fn save_png(dir: &std::path::Path, name: &str, frame: &GrayImage) -> PathBuf {
    let path = dir.join(name);
    frame.save_with_format(&path, ImageFormat::Png).unwrap();
    path
}

#[tokio::test]
async fn a_code_is_found_reported_masked_and_not_submitted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let sample = corpus::sample(Condition::Clean, 11);
    let blank = GrayImage::from_pixel(640, 480, image::Luma([200]));
    let paths = vec![
        save_png(dir.path(), "0.png", &blank),
        save_png(dir.path(), "1.png", &sample.frame),
    ];
    let (mut scanner, mut events) = scanner(Duration::from_secs(10));

    let (_cancel, signal) = cancel_pair();
    let outcome = scanner
        .scan(&mut ImageFiles::new(paths.clone()), signal)
        .await;
    let ScanOutcome::Code(code) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(code.expose(), sample.code);
    let reported = drain(&mut events);
    assert_eq!(reported[0], ScanEvent::Scanning);
    let ScanEvent::CodeFound { code: masked, .. } = &reported[1] else {
        panic!("{reported:?}");
    };
    assert_eq!(masked, &MaskedCode::of(&sample.code));
    let shown = serde_json::to_string(&reported).unwrap();
    assert!(!shown.contains(&sample.code), "{shown}");

    // The same phone still in front of the camera on the next scan.
    let (_cancel, signal) = cancel_pair();
    let outcome = scanner
        .scan(
            &mut ImageFiles::new(vec![paths[1].clone(), paths[1].clone()]),
            signal,
        )
        .await;
    assert!(matches!(outcome, ScanOutcome::SourceEnded), "{outcome:?}");
    assert_eq!(
        drain(&mut events),
        [
            ScanEvent::Scanning,
            ScanEvent::Duplicate {
                code: MaskedCode::of(&sample.code)
            },
            ScanEvent::SourceEnded
        ],
        "duplicate reported once"
    );
}

/// The last customer's code, still on their screen, was given to an order that may have charged
/// it: the scan skips it (reported once) and goes on to the next customer's code.
#[tokio::test]
async fn a_code_given_to_another_order_is_skipped_and_the_scan_goes_on() {
    let last = corpus::sample(Condition::Clean, 21);
    let next = corpus::sample(Condition::Clean, 22);
    let (sender, mut source) = PushedFrames::channel(8);
    for _ in 0..3 {
        sender.send(grey(&last.frame)).await.unwrap();
    }
    sender.send(grey(&next.frame)).await.unwrap();

    let (scanner, mut events) = scanner(Duration::from_secs(10));
    let last_code = last.code.clone();
    let mut scanner = scanner.skipping_taken(Arc::new(move |code: &str| {
        (code == last_code).then(|| "LAST-1".to_owned())
    }));
    let (_cancel, signal) = cancel_pair();
    let outcome = scanner.scan(&mut source, signal).await;
    assert!(
        matches!(&outcome, ScanOutcome::Code(c) if c.expose() == next.code),
        "{outcome:?}"
    );
    let events = drain(&mut events);
    let taken: Vec<&ScanEvent> = events
        .iter()
        .filter(|e| matches!(e, ScanEvent::Taken { .. }))
        .collect();
    assert_eq!(
        taken,
        [&ScanEvent::Taken {
            code: MaskedCode::of(&last.code),
            order: "LAST-1".into()
        }],
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ScanEvent::Duplicate { .. })),
        "{events:?}"
    );
}

/// The last customer still holds up a screen whose code was given to an order, beside the next
/// customer's: the next code is read from the same frames, without waiting for the first to go.
#[tokio::test]
async fn a_code_given_to_another_order_does_not_hide_the_next_one_in_the_same_frame() {
    let last = corpus::sample(Condition::Clean, 31).code;
    let next = corpus::sample(Condition::Clean, 32).code;
    let both = corpus::side_by_side(&[&last, &next], 4);
    let (sender, mut source) = PushedFrames::channel(8);
    for _ in 0..3 {
        sender.send(grey(&both)).await.unwrap();
    }
    drop(sender);

    let (scanner, mut events) = scanner(Duration::from_secs(10));
    let taken_code = last.clone();
    let mut scanner = scanner.skipping_taken(Arc::new(move |code: &str| {
        (code == taken_code).then(|| "LAST-1".to_owned())
    }));
    let (_cancel, signal) = cancel_pair();
    let outcome = scanner.scan(&mut source, signal).await;
    assert!(
        matches!(&outcome, ScanOutcome::Code(c) if c.expose() == next),
        "{outcome:?}: {:?}",
        drain(&mut events)
    );
}

#[tokio::test]
async fn refused_texts_and_bad_frames_do_not_end_the_scan() {
    let url_frame = corpus::render_plain("https://example.com/menu", 6);
    let sample = corpus::sample(Condition::Clean, 12);
    let (sender, mut source) = PushedFrames::channel(8);
    sender.send(grey(&url_frame)).await.unwrap();
    sender.send(grey(&url_frame)).await.unwrap();
    sender
        .send(PushedFrame::Jpeg(b"not a jpeg".to_vec()))
        .await
        .unwrap();
    sender.send(grey(&sample.frame)).await.unwrap();

    let (mut scanner, mut events) = scanner(Duration::from_secs(10));
    let (_cancel, signal) = cancel_pair();
    let outcome = scanner.scan(&mut source, signal).await;
    assert!(
        matches!(&outcome, ScanOutcome::Code(c) if c.expose() == sample.code),
        "{outcome:?}"
    );
    let events = drain(&mut events);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            ScanEvent::Scanning => "scanning",
            ScanEvent::Refused { .. } => "refused",
            ScanEvent::FrameSkipped { .. } => "skipped",
            ScanEvent::CodeFound { .. } => "found",
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        ["scanning", "refused", "skipped", "found"],
        "refusal reported once"
    );
    assert_eq!(
        events[1],
        ScanEvent::Refused {
            reason: "not a payment code: 24 characters that match no wallet's pattern".into()
        }
    );
}

#[tokio::test]
async fn a_scan_without_frames_times_out_and_saves_what_it_saw() {
    let dir = tempfile::tempdir().unwrap();
    let (scanner, mut events) = scanner(Duration::from_millis(300));
    let mut scanner = scanner.with_recorder(FailedScanRecorder::new(dir.path().into(), 4, 10));
    let (sender, mut source) = PushedFrames::channel(2);
    let blank = GrayImage::from_pixel(64, 48, image::Luma([90]));
    sender.send(grey(&blank)).await.unwrap();

    let (_cancel, signal) = cancel_pair();
    let outcome = scanner.scan(&mut source, signal).await;
    assert!(matches!(outcome, ScanOutcome::TimedOut), "{outcome:?}");
    assert_eq!(drain(&mut events).last(), Some(&ScanEvent::TimedOut));
    let mut saved = ImageFiles::from_folder(dir.path()).unwrap();
    assert_eq!(saved.len(), 1);
    use posd::scan::FrameSource;
    let frame = saved.next_frame().await.unwrap().unwrap();
    assert_eq!(frame.image.to_luma8(), blank);
    drop(sender);
}

#[tokio::test]
async fn a_scan_can_be_cancelled() {
    let (mut scanner, mut events) = scanner(Duration::from_secs(60));
    let (_sender, mut source) = PushedFrames::channel(2);
    let (cancel, signal) = cancel_pair();
    let cancelling = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        cancel.cancel();
        cancel
    });
    let outcome = tokio::time::timeout(Duration::from_secs(5), scanner.scan(&mut source, signal))
        .await
        .expect("cancel ends the scan at once");
    assert!(matches!(outcome, ScanOutcome::Cancelled), "{outcome:?}");
    assert_eq!(
        drain(&mut events),
        [ScanEvent::Scanning, ScanEvent::Cancelled]
    );
    cancelling.await.unwrap();
}
