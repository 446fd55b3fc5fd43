//! `posd print-test` end to end: the binary, real files, the bytes read back.

use posd::escpos::{interpret, native_encoding};
use posd::profile::TextEncoding;
use std::process::Command;

fn posd() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_posd"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

#[test]
fn writes_the_bytes_and_a_preview_drawn_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let (out, preview) = (dir.path().join("page.bin"), dir.path().join("page.png"));
    let status = posd()
        .args(["print-test", "--out"])
        .arg(&out)
        .arg("--preview")
        .arg(&preview)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let paper = interpret(&bytes, 384, native_encoding(TextEncoding::Gb18030)).unwrap();
    assert!(paper.text_lines.iter().any(|line| line == "電子發票證明聯"));
    assert!(
        paper
            .text_lines
            .iter()
            .any(|line| line.contains("SUNMI V2 PRO"))
    );
    let png = image::open(&preview).unwrap().to_luma8();
    assert_eq!(png, paper.bitmap.to_gray_image());
}

#[test]
fn prints_a_response_to_a_device_file_exactly_as_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let (out, device) = (dir.path().join("job.bin"), dir.path().join("lp0"));
    let status = posd()
        .args([
            "print-test",
            "--profile",
            "hardware/generic-58mm.toml",
            "--response",
            "receipts/samples/b2b-issued-proof-only.json",
            "--reprint",
            "--out",
        ])
        .arg(&out)
        .arg("--device")
        .arg(&device)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read(&device).unwrap(),
        std::fs::read(&out).unwrap()
    );
}

#[test]
fn a_bad_profile_is_a_usage_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hardware/generic-58mm.toml"),
    )
    .unwrap()
    .replace("width_dots = 384", "width_dot = 384");
    std::fs::write(&profile, text).unwrap();
    let output = posd()
        .args(["print-test", "--profile"])
        .arg(&profile)
        .args(["--out", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("width_dot") && stderr.contains("bad.toml"),
        "{stderr}"
    );
}
