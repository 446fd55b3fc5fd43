//! `posd scan`: read payment codes from image files, or live from the camera.
//!
//! With `--image`, each file is decoded by the same pipeline the daemon uses and one line is
//! printed per image: the code found (masked unless `--reveal`) and the decode time. `--json`
//! prints one JSON object per line instead: `{"image": PATH, "codes": [..], "ms": N}`.
//! With `--camera` (cargo feature `camera`), the camera is scanned until a code or the timeout.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Exit;
use crate::scan::source::load_image;
use crate::scan::{CodeRules, DecodeOutcome, Decoder, DecoderConfig, PaymentCode};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Image files (PNG or JPEG) to decode.
    #[arg(long = "image", value_name = "PATH", num_args = 1.., required_unless_present = "camera")]
    images: Vec<PathBuf>,
    /// Scan live from the camera until a code is read or the timeout passes.
    #[arg(long, conflicts_with = "images")]
    camera: bool,
    /// Camera device number (`/dev/videoN`).
    #[arg(long, default_value_t = 0)]
    device: u32,
    /// Camera resolution, WIDTHxHEIGHT.
    #[arg(long, default_value = "640x480", value_parser = parse_resolution)]
    resolution: (u32, u32),
    /// Camera frame rate.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Seconds a camera scan may take.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// No new decoding attempt starts on a frame after this many milliseconds [default: 2000
    /// for image files, the daemon's live budget for the camera].
    #[arg(long)]
    budget_ms: Option<u64>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// Print codes in full instead of masked.
    #[arg(long)]
    reveal: bool,
}

fn parse_resolution(text: &str) -> Result<(u32, u32), String> {
    let invalid = || format!("resolution {text:?} is not WIDTHxHEIGHT, e.g. 640x480");
    let (width, height) = text.split_once('x').ok_or_else(invalid)?;
    let width = width.parse().map_err(|_| invalid())?;
    let height = height.parse().map_err(|_| invalid())?;
    Ok((width, height))
}

#[derive(Serialize)]
struct ImageReport<'a> {
    image: &'a str,
    codes: Vec<String>,
    ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
}

pub async fn run(args: Args) -> Exit {
    if args.camera {
        scan_camera(&args).await
    } else {
        scan_images(&args).await
    }
}

fn shown(code: &PaymentCode, reveal: bool) -> String {
    if reveal {
        code.expose().to_owned()
    } else {
        code.masked().to_string()
    }
}

/// Image files are not a live feed: by default they get time for every attempt.
const IMAGE_FILE_BUDGET: Duration = Duration::from_secs(2);

fn decoder(args: &Args, default_budget: Duration) -> Decoder {
    let frame_budget = args.budget_ms.map_or(default_budget, Duration::from_millis);
    Decoder::new(
        CodeRules::default(),
        DecoderConfig {
            frame_budget,
            ..DecoderConfig::default()
        },
    )
}

async fn scan_images(args: &Args) -> Exit {
    let decoder = decoder(args, IMAGE_FILE_BUDGET);
    let mut status = Exit::Ok;
    for path in &args.images {
        let image = match load_image(path).await {
            Ok(image) => image,
            Err(e) => {
                eprintln!("posd scan: {e}");
                status = Exit::Failed;
                continue;
            }
        };
        let started = Instant::now();
        let outcome = decoder.decode(&image);
        let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let shown_path = path.display().to_string();
        let (codes, refused) = match &outcome {
            DecodeOutcome::Found { code, .. } => (vec![shown(code, args.reveal)], None),
            DecodeOutcome::Refused(refusal) => (Vec::new(), Some(refusal.to_string())),
            DecodeOutcome::NothingRead => (Vec::new(), None),
        };
        if args.json {
            let report = ImageReport {
                image: &shown_path,
                codes,
                ms,
                refused,
            };
            outln!(
                "{}",
                serde_json::to_string(&report).expect("a report serialises")
            );
        } else {
            let found = match (&outcome, refused) {
                (DecodeOutcome::Found { code, .. }, _) => {
                    format!("{} ({})", shown(code, args.reveal), code.wallet())
                }
                (_, Some(reason)) => format!("no payment code ({reason})"),
                _ => "no code read".to_owned(),
            };
            outln!("{shown_path}: {found} in {ms} ms");
        }
    }
    status
}

#[cfg(not(feature = "camera"))]
async fn scan_camera(_args: &Args) -> Exit {
    eprintln!("posd scan: --camera needs posd built with the `camera` feature");
    Exit::Failed
}

#[cfg(feature = "camera")]
async fn scan_camera(args: &Args) -> Exit {
    use std::sync::Arc;

    use crate::scan::session::{Scanner, cancel_pair};
    use crate::scan::source::{Camera, CameraSettings};
    use crate::scan::{Deduper, ScanOutcome, SessionConfig};

    let (events, mut progress) = tokio::sync::mpsc::unbounded_channel();
    let mut scanner = Scanner::new(
        Arc::new(decoder(args, DecoderConfig::default().frame_budget)),
        Deduper::new(Duration::ZERO),
        SessionConfig {
            timeout: Duration::from_secs(args.timeout),
        },
        events,
    );
    let json = args.json;
    let printer = tokio::spawn(async move {
        while let Some(event) = progress.recv().await {
            if json {
                outln!(
                    "{}",
                    serde_json::to_string(&event).expect("events serialise")
                );
            } else {
                eprintln!("{event:?}");
            }
        }
    });
    let (cancel, signal) = cancel_pair();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    let mut camera = Camera::open(CameraSettings {
        device: args.device,
        width: args.resolution.0,
        height: args.resolution.1,
        frames_per_second: args.fps,
    });
    let started = Instant::now();
    let outcome = scanner.scan(&mut camera, signal).await;
    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    drop(camera);
    drop(scanner);
    let _ = printer.await;
    let ScanOutcome::Code(code) = outcome else {
        return Exit::Failed;
    };
    if json {
        let report = ImageReport {
            image: "camera",
            codes: vec![shown(&code, args.reveal)],
            ms,
            refused: None,
        };
        outln!(
            "{}",
            serde_json::to_string(&report).expect("a report serialises")
        );
    } else {
        outln!(
            "{} ({}) in {ms} ms",
            shown(&code, args.reveal),
            code.wallet()
        );
    }
    Exit::Ok
}
