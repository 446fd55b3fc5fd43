//! `posd print-test`: a test page (width ruler, encoding check, a sample e-invoice and item
//! detail) for the profile's printer, or a given gateway answer; the exact bytes and a preview
//! drawn from them can be written to files.

use super::Exit;
use crate::escpos::{self, EncodeOptions};
use crate::printer::{self, Delivery, Spooler};
use crate::profile::{Profile, Transport};
use crate::receipt::{self, Bitmap, InvoiceAnswer, LayoutSettings, ReceiptInput};
use std::path::{Path, PathBuf};

/// The answer printed when no `--response` is given: an issued B2C invoice with its detail.
const SAMPLE_ANSWER: &str = include_str!("../../receipts/samples/b2c-issued-proof-and-detail.json");

#[derive(clap::Args)]
pub struct Args {
    /// Device profile (TOML).
    #[arg(
        long,
        env = "POSD_PROFILE",
        value_name = "FILE",
        default_value = "hardware/sunmi-v2-pro.toml"
    )]
    profile: PathBuf,
    /// Print this gateway answer (JSON) instead of the test page.
    #[arg(long, value_name = "FILE.json")]
    response: Option<PathBuf>,
    /// Merchant layout settings (TOML); default receipts/layout.toml when it exists.
    #[arg(long, value_name = "FILE")]
    layout: Option<PathBuf>,
    /// Mark the printout as a reprint (補印).
    #[arg(long)]
    reprint: bool,
    /// Write the exact printer bytes to this file.
    #[arg(long, value_name = "FILE.bin")]
    out: Option<PathBuf>,
    /// Draw the paper from the bytes into this PNG.
    #[arg(long, value_name = "FILE.png")]
    preview: Option<PathBuf>,
    /// Printer device or address, instead of the profile's (a serial device, a file, or
    /// host:port for a TCP profile). With --out or --preview, nothing is printed unless this
    /// is given.
    #[arg(long, value_name = "PATH")]
    device: Option<String>,
}

pub fn run(args: Args) -> Exit {
    match print_test(&args) {
        Ok(exit) => exit,
        Err(Failure::Usage(message)) => {
            eprintln!("posd: print-test: {message}");
            Exit::Usage
        }
        Err(Failure::Failed(message)) => {
            eprintln!("posd: print-test: {message}");
            Exit::Failed
        }
    }
}

enum Failure {
    Usage(String),
    Failed(String),
}

fn usage(err: impl std::fmt::Display) -> Failure {
    Failure::Usage(err.to_string())
}

fn failed(err: impl std::fmt::Display) -> Failure {
    Failure::Failed(err.to_string())
}

fn print_test(args: &Args) -> Result<Exit, Failure> {
    let mut profile = Profile::load(&args.profile).map_err(usage)?;
    let settings = load_settings(args.layout.as_deref())?;
    let logo = match &settings.logo {
        Some(path) => Some(load_logo(path)?),
        None => None,
    };
    let width = profile.printer.width_dots;

    let (answer_text, test_page) = match &args.response {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|err| usage(format!("cannot read {}: {err}", path.display())))?,
            false,
        ),
        None => (SAMPLE_ANSWER.to_owned(), true),
    };
    let answer = InvoiceAnswer::from_json(&answer_text).map_err(usage)?;
    let built = receipt::build(&ReceiptInput {
        answer: &answer,
        order_items: &[],
        reprint: args.reprint,
        settings: &settings,
        logo: logo.as_ref(),
        width_dots: width,
    })
    .map_err(usage)?;
    if let Some(notice) = &built.notice {
        eprintln!(
            "posd: print-test: the invoice is not issued (invoice_state {}{}); printing the detail with a note",
            notice.state,
            notice
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
    }
    let mut blocks = Vec::new();
    if test_page {
        blocks.extend(receipt::test_page::header(&profile));
    }
    blocks.extend(built.blocks);

    let options = EncodeOptions::for_printer(&profile.printer, settings.cut);
    let encoded = escpos::encode(&blocks, &options).map_err(failed)?;
    if !encoded.replaced.is_empty() {
        eprintln!(
            "posd: print-test: {} character(s) printed as '?': {:?}",
            encoded.replaced.len(),
            encoded.replaced
        );
    }
    if let Some(path) = &args.out {
        std::fs::write(path, &encoded.bytes)
            .map_err(|err| failed(format!("cannot write {}: {err}", path.display())))?;
        outln!("wrote {} bytes to {}", encoded.bytes.len(), path.display());
    }
    if let Some(path) = &args.preview {
        let preview = escpos::interpret(
            &encoded.bytes,
            width,
            escpos::native_encoding(options.encoding),
        )
        .map_err(failed)?;
        preview
            .bitmap
            .to_gray_image()
            .save(path)
            .map_err(|err| failed(format!("cannot write {}: {err}", path.display())))?;
        outln!(
            "preview {}x{} dots in {}",
            preview.bitmap.width(),
            preview.bitmap.height(),
            path.display()
        );
    }

    let wants_printer = args.device.is_some() || (args.out.is_none() && args.preview.is_none());
    if !wants_printer {
        return Ok(Exit::Ok);
    }
    match &args.device {
        Some(device) => profile.printer.point_at(device),
        None if profile.printer.transport == (Transport::App {}) => {
            return Err(usage(
                "this profile's printer is reached through the POS app (printer.transport.app); \
                 ask the running daemon for a test page (POST /v1/print-test), or give --device or --out",
            ));
        }
        None => {}
    }
    let link = printer::open(&profile.printer).map_err(failed)?;
    let mut spooler = Spooler::new(link, profile.printer.two_way);
    match spooler.submit(encoded.bytes).map_err(failed)? {
        Delivery::Printed => {
            outln!("printed on {}", spooler.link().describe());
            Ok(Exit::Ok)
        }
        Delivery::Held(status) => Err(failed(format!(
            "printer on {} is not ready (paper out: {}, cover open: {}); nothing printed",
            spooler.link().describe(),
            status.paper_out,
            status.cover_open
        ))),
    }
}

fn load_settings(path: Option<&Path>) -> Result<LayoutSettings, Failure> {
    let default = Path::new("receipts/layout.toml");
    match path {
        Some(path) => LayoutSettings::load(path).map_err(usage),
        None if default.exists() => LayoutSettings::load(default).map_err(usage),
        None => Ok(LayoutSettings::default()),
    }
}

fn load_logo(path: &Path) -> Result<Bitmap, Failure> {
    let image =
        image::open(path).map_err(|err| usage(format!("logo {}: {err}", path.display())))?;
    Ok(receipt::dither(&image, receipt::PROOF_WIDTH_DOTS))
}
