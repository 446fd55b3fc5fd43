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

/// The resolution receipts are laid out at, and so the only one a profile may name.
pub const RECEIPT_DOTS_PER_MM: u32 = 8;

/// The thermal printer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    /// Printable width in dots: 384 for 58 mm paper, 576 for 80 mm.
    pub width_dots: u32,
    /// Print resolution: [`RECEIPT_DOTS_PER_MM`] (203 dpi), as on nearly every receipt printer.
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

impl PrinterProfile {
    /// Points the transport at `device`: a serial link keeps its speed, a TCP link takes an
    /// address, anything else (a device file, or the app link in a test) is written as a device
    /// node or file.
    pub fn point_at(&mut self, device: &str) {
        self.transport = match &self.transport {
            Transport::Serial { baud, .. } => Transport::Serial {
                path: device.into(),
                baud: *baud,
            },
            Transport::Tcp { .. } => Transport::Tcp {
                address: device.to_owned(),
            },
            Transport::File { .. } | Transport::App {} => Transport::File {
                path: device.into(),
            },
        };
    }
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
    /// The POS app: it leases each job over the local API and prints it through a printer only an
    /// app can reach (SUNMI's printer service), then reports the result and the printer's state.
    App {},
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
#[serde(try_from = "CameraTable")]
pub enum CameraProfile {
    /// The POS app owns the camera and pushes its frames to `POST /v1/frames` (Android, where
    /// an app's processes cannot open `/dev/video*`). `[camera] source = "pushed"`.
    Pushed,
    /// A V4L2 camera the daemon opens while a scan runs. `[camera] source = "v4l2"` with
    /// `device`, `width`, `height` and `fps`.
    V4l2 {
        device: PathBuf,
        width: u32,
        height: u32,
        fps: u32,
    },
}

/// `[camera]` as written. A `device` without a `source` is a V4L2 camera, as profiles written
/// before there were sources say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CameraTable {
    source: Option<CameraSource>,
    device: Option<PathBuf>,
    width: Option<u32>,
    height: Option<u32>,
    fps: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum CameraSource {
    Pushed,
    V4l2,
}

impl TryFrom<CameraTable> for CameraProfile {
    type Error = String;

    fn try_from(table: CameraTable) -> Result<Self, String> {
        let source = match table.source {
            Some(source) => source,
            None if table.device.is_some() => CameraSource::V4l2,
            None => {
                return Err(r#"camera.source is missing: "pushed" (frames from the POS app) or "v4l2" (with device, width, height and fps)"#.to_owned());
            }
        };
        match source {
            CameraSource::Pushed => {
                let v4l2_only = [
                    ("device", table.device.is_some()),
                    ("width", table.width.is_some()),
                    ("height", table.height.is_some()),
                    ("fps", table.fps.is_some()),
                ];
                match v4l2_only.iter().find(|(_, given)| *given) {
                    Some((key, _)) => Err(format!(
                        r#"camera.{key} is only for source = "v4l2"; pushed frames come from the POS app with their own size"#
                    )),
                    None => Ok(CameraProfile::Pushed),
                }
            }
            CameraSource::V4l2 => {
                let positive = |key, value: Option<u32>| match value {
                    Some(n) if n > 0 => Ok(n),
                    Some(_) => Err(format!("camera.{key} is 0")),
                    None => Err(format!(
                        r#"camera.{key} is missing; source = "v4l2" needs it"#
                    )),
                };
                Ok(CameraProfile::V4l2 {
                    device: table.device.ok_or(
                        r#"camera.device is missing; source = "v4l2" needs the device node (/dev/video0)"#,
                    )?,
                    width: positive("width", table.width)?,
                    height: positive("height", table.height)?,
                    fps: positive("fps", table.fps)?,
                })
            }
        }
    }
}

/// The key that starts a scan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ScanKeyTable")]
pub enum ScanKeyProfile {
    /// The POS app receives the key as an Android `KeyEvent` and forwards a press as
    /// `POST /v1/scan`; an app's processes cannot read `/dev/input`. `[scan_key] source = "app"`.
    App,
    /// Linux input events. `[scan_key] source = "evdev"` with `input_device` and `key_code`.
    Evdev {
        /// The input device the key events come from (`/dev/input/event2`).
        input_device: PathBuf,
        /// The Linux key code of the scan key.
        key_code: u16,
    },
}

/// `[scan_key]` as written. An `input_device` without a `source` is an evdev key, as profiles
/// written before there were sources say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanKeyTable {
    source: Option<ScanKeySource>,
    input_device: Option<PathBuf>,
    key_code: Option<u16>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScanKeySource {
    App,
    Evdev,
}

impl TryFrom<ScanKeyTable> for ScanKeyProfile {
    type Error = String;

    fn try_from(table: ScanKeyTable) -> Result<Self, String> {
        let source = match table.source {
            Some(source) => source,
            None if table.input_device.is_some() => ScanKeySource::Evdev,
            None => {
                return Err(r#"scan_key.source is missing: "app" (the POS app forwards the key as POST /v1/scan) or "evdev" (with input_device and key_code)"#.to_owned());
            }
        };
        match source {
            ScanKeySource::App => {
                let evdev_only = [
                    ("input_device", table.input_device.is_some()),
                    ("key_code", table.key_code.is_some()),
                ];
                match evdev_only.iter().find(|(_, given)| *given) {
                    Some((key, _)) => Err(format!(
                        r#"scan_key.{key} is only for source = "evdev"; the POS app decides which key it forwards"#
                    )),
                    None => Ok(ScanKeyProfile::App),
                }
            }
            ScanKeySource::Evdev => Ok(ScanKeyProfile::Evdev {
                input_device: table.input_device.ok_or(
                    r#"scan_key.input_device is missing; source = "evdev" needs the device node (/dev/input/event2)"#,
                )?,
                key_code: table.key_code.ok_or(
                    r#"scan_key.key_code is missing; source = "evdev" needs the key's Linux key code"#,
                )?,
            }),
        }
    }
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
        // The receipt is laid out in dots of 1/8 mm: at another resolution its QR codes would
        // print smaller or larger than the 1.5 cm the e-invoice proof requires.
        if printer.dots_per_mm != RECEIPT_DOTS_PER_MM {
            return Err(invalid(
                "printer.dots_per_mm",
                format!(
                    "is {}; receipts are laid out at {RECEIPT_DOTS_PER_MM} dots per mm (203 dpi, \
                     the SUNMI V2 PRO's and most 58 and 80 mm printers'), and another resolution \
                     would print the e-invoice's QR codes at the wrong size",
                    printer.dots_per_mm
                ),
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
        assert_eq!(sunmi.printer.transport, Transport::App {});
        assert!(!sunmi.printer.two_way);
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
            ("dots_per_mm = 8", "dots_per_mm = 12", "printer.dots_per_mm"),
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

    #[test]
    fn cameras_and_scan_keys_say_where_they_come_from() {
        let sunmi = Profile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("hardware/sunmi-v2-pro.toml"),
        )
        .unwrap();
        assert_eq!(sunmi.camera, Some(CameraProfile::Pushed));
        assert_eq!(sunmi.scan_key, Some(ScanKeyProfile::App));

        let with = |tables: &str| Profile::parse(&format!("{MINIMAL}{tables}"), "p.toml");
        let devices = "device = \"/dev/video0\"\nwidth = 640\nheight = 480\nfps = 15\n\
                       [scan_key]\ninput_device = \"/dev/input/event2\"\nkey_code = 88\n";
        let till = with(
            &format!("[camera]\nsource = \"v4l2\"\n{devices}")
                .replace("[scan_key]\n", "[scan_key]\nsource = \"evdev\"\n"),
        )
        .unwrap();
        assert_eq!(
            till.camera,
            Some(CameraProfile::V4l2 {
                device: "/dev/video0".into(),
                width: 640,
                height: 480,
                fps: 15
            })
        );
        assert_eq!(
            till.scan_key,
            Some(ScanKeyProfile::Evdev {
                input_device: "/dev/input/event2".into(),
                key_code: 88
            })
        );
        let written_before_sources = with(&format!("[camera]\n{devices}")).unwrap();
        assert_eq!(written_before_sources, till);

        for (tables, named) in [
            (
                "[camera]\nsource = \"pushed\"\ndevice = \"/dev/video0\"\n",
                "camera.device",
            ),
            (
                "[camera]\nsource = \"v4l2\"\nwidth = 640\nheight = 480\nfps = 15\n",
                "camera.device",
            ),
            (
                "[camera]\nsource = \"v4l2\"\ndevice = \"/dev/video0\"\nheight = 480\nfps = 15\n",
                "camera.width",
            ),
            (
                "[camera]\nsource = \"v4l2\"\ndevice = \"/dev/video0\"\nwidth = 640\nheight = 480\nfps = 0\n",
                "camera.fps",
            ),
            ("[camera]\nsource = \"usb\"\n", "source = \"usb\""),
            ("[camera]\nfps = 15\n", "camera.source"),
            ("[camera]\nsource = \"pushed\"\nzoom = 2\n", "zoom"),
            (
                "[scan_key]\nsource = \"app\"\nkey_code = 88\n",
                "scan_key.key_code",
            ),
            (
                "[scan_key]\nsource = \"evdev\"\nkey_code = 88\n",
                "scan_key.input_device",
            ),
            (
                "[scan_key]\nsource = \"evdev\"\ninput_device = \"/dev/input/event2\"\n",
                "scan_key.key_code",
            ),
            ("[scan_key]\nkey_code = 88\n", "scan_key.source"),
        ] {
            let err = with(tables).unwrap_err().to_string();
            assert!(
                err.contains("p.toml") && err.contains(named),
                "{tables}: {err}"
            );
        }
    }
}
