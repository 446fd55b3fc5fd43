//! The device profile: what the terminal's hardware is and how to reach it.
//!
//! One TOML file per device kind (`hardware/*.toml`) describes the thermal printer (paper width
//! in dots, how bytes reach it, which text encoding it takes, what it can do), and optionally
//! the camera and the scan key. Unknown keys are refused so that a typo does not silently fall
//! back to a default; every error names the file and the key.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A whole device profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// A name for logs and the test page, e.g. `SUNMI V2 PRO`.
    pub name: String,
    pub printer: PrinterProfile,
    pub camera: Option<CameraProfile>,
    pub scan_key: Option<ScanKeyProfile>,
}

/// The thermal printer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    /// Printable width in dots: 384 for 58 mm paper, 576 for 80 mm.
    pub width_dots: u32,
    /// Print resolution; 8 dots/mm (203 dpi) on nearly every receipt printer.
    pub dots_per_mm: u32,
    pub transport: Transport,
    pub encoding: TextEncoding,
    /// Module (narrow bar) widths in dots the printer accepts for a native Code 39 (`GS w`).
    pub code39_module_widths: Vec<u32>,
    /// Whether the link carries answers back, so `DLE EOT` status can be read.
    pub two_way: bool,
    /// Whether the printer has a cutter.
    pub cut: bool,
}

/// How bytes reach the printer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Transport {
    /// A serial device: a UART, or the RFCOMM link of a Bluetooth SPP printer (`/dev/rfcomm0`).
    Serial { path: PathBuf, baud: u32 },
    /// Raw TCP, `host:9100`.
    Tcp { address: String },
    /// A device node or plain file the bytes are written to (`/dev/usb/lp0`).
    File { path: PathBuf },
}

/// How the printer takes text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// GB18030, the SUNMI printer's default.
    Gb18030,
    /// UTF-8, switched on with SUNMI's `1C 26 1C 43 FF`.
    Utf8,
    /// Big5, for printers set up for Traditional Chinese.
    Big5,
    /// No printer font: text is drawn here and sent as a raster image.
    Raster,
}

/// The camera the payment codes are read with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraProfile {
    pub device: PathBuf,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// The physical key that starts a scan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanKeyProfile {
    /// The input device the key events come from (`/dev/input/event2`).
    pub input_device: PathBuf,
    /// The Linux key code of the scan key.
    pub key_code: u16,
}

/// Why a profile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("profile {origin}: {detail}")]
    Parse { origin: String, detail: String },
    #[error("profile {origin}: {key} {problem}")]
    Invalid {
        origin: String,
        key: &'static str,
        problem: String,
    },
}

impl Profile {
    /// Reads and checks a profile file.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a profile; `origin` names it in errors (usually the file path).
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text).map_err(|err| ProfileError::Parse {
            origin: origin.to_owned(),
            detail: err.to_string().trim_end().to_owned(),
        })?;
        profile.check(origin)?;
        Ok(profile)
    }

    fn check(&self, origin: &str) -> Result<(), ProfileError> {
        let invalid = |key, problem: String| ProfileError::Invalid {
            origin: origin.to_owned(),
            key,
            problem,
        };
        let printer = &self.printer;
        // Rasters are sent in whole bytes per row, so the width must be a multiple of 8; the
        // e-invoice proof needs at least the 58 mm printable width.
        if printer.width_dots < 384 || !printer.width_dots.is_multiple_of(8) {
            return Err(invalid(
                "printer.width_dots",
                format!(
                    "is {}; expected a multiple of 8, at least 384",
                    printer.width_dots
                ),
            ));
        }
        if !(1..=24).contains(&printer.dots_per_mm) {
            return Err(invalid(
                "printer.dots_per_mm",
                format!("is {}; expected 1 to 24", printer.dots_per_mm),
            ));
        }
        if printer.code39_module_widths.is_empty()
            || printer
                .code39_module_widths
                .iter()
                .any(|w| !(1..=6).contains(w))
        {
            return Err(invalid(
                "printer.code39_module_widths",
                format!(
                    "is {:?}; expected a non-empty list of widths from 1 to 6 dots",
                    printer.code39_module_widths
                ),
            ));
        }
        if let Transport::Serial { baud: 0, .. } = printer.transport {
            return Err(invalid(
                "printer.transport.serial.baud",
                "is 0; expected a baud rate such as 115200".to_owned(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "test"
[printer]
width_dots = 384
dots_per_mm = 8
encoding = "gb18030"
code39_module_widths = [1, 2]
two_way = true
cut = false
[printer.transport.tcp]
address = "127.0.0.1:9100"
"#;

    #[test]
    fn shipped_profiles_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("hardware");
        for (file, width) in [
            ("sunmi-v2-pro.toml", 384),
            ("generic-58mm.toml", 384),
            ("generic-80mm.toml", 576),
        ] {
            let profile = Profile::load(&dir.join(file)).unwrap();
            assert_eq!(profile.printer.width_dots, width, "{file}");
        }
        let sunmi = Profile::load(&dir.join("sunmi-v2-pro.toml")).unwrap();
        assert_eq!(
            sunmi.printer.transport,
            Transport::Serial {
                path: "/dev/rfcomm0".into(),
                baud: 115200
            }
        );
        assert_eq!(sunmi.printer.encoding, TextEncoding::Gb18030);
        assert!(sunmi.camera.is_some() && sunmi.scan_key.is_some());
    }

    #[test]
    fn minimal_profile_has_no_camera_or_scan_key() {
        let profile = Profile::parse(MINIMAL, "minimal").unwrap();
        assert_eq!(
            profile.printer.transport,
            Transport::Tcp {
                address: "127.0.0.1:9100".into()
            }
        );
        assert!(profile.camera.is_none() && profile.scan_key.is_none());
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = MINIMAL.replace("cut = false", "cut = false\ncolour = true");
        let err = Profile::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(err.contains("p.toml") && err.contains("colour"), "{err}");
    }

    #[test]
    fn unknown_encoding_is_named() {
        let text = MINIMAL.replace("\"gb18030\"", "\"shift_jis\"");
        let err = Profile::parse(&text, "p.toml").unwrap_err().to_string();
        assert!(
            err.contains("shift_jis") && err.contains("encoding"),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("width_dots = 384", "width_dots = 380", "printer.width_dots"),
            ("dots_per_mm = 8", "dots_per_mm = 0", "printer.dots_per_mm"),
            ("[1, 2]", "[]", "printer.code39_module_widths"),
        ];
        for (from, to, key) in cases {
            let text = MINIMAL.replace(from, to);
            let err = Profile::parse(&text, "p.toml").unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
        let missing = MINIMAL.replace("two_way = true\n", "");
        let err = Profile::parse(&missing, "p.toml").unwrap_err().to_string();
        assert!(err.contains("two_way"), "{err}");
    }
}
