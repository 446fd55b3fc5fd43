//! A second, independent generator of camera frames, modelled on how customers really show a
//! payment code rather than on what the scanner expects.
//!
//! A customer holds a phone (dark bezel, bright screen, the wallet app's header, often a 1-D
//! barcode above the QR code) anywhere in front of the camera: off-centre, partly out of the
//! picture (the code itself against the frame's edge in one condition), turned up to ±45°,
//! tilted away (keystone up to ~20 %), near or far (2 to 8 pixels a module). The camera adds
//! its own softness, noise and vignetting, and every frame goes through JPEG as the POS app
//! pushes it. A [`FieldCondition`] then adds one kind of trouble. Codes come from every wallet
//! shape the validator knows, at every error-correction level.
//!
//! Nothing here is shared with `corpus.rs`: a different scene, placement, lens and palette, so
//! a pipeline tuned to one corpus is checked on the other. The same `(condition, seed)` always
//! gives the same frame.

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::{DynamicImage, GrayImage, ImageDecoder, Luma};
use imageproc::geometric_transformations::Projection;
use posd::scan::source::{RawFrame, RawLayout};
use qrcode::{Color, EcLevel, QrCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldCondition {
    /// Upright or nearly, sharp, well lit; anywhere in the frame.
    Clean,
    /// Held far away: 2-3 pixels a module.
    Small,
    /// Turned in the image plane by up to ±45°.
    Rotated,
    /// Tilted away from the camera: one side up to ~20 % shorter than the other.
    Keystone,
    /// Out of focus (Gaussian) or moving (motion blur along any direction).
    Blur,
    /// Dim shop: strong sensor noise.
    Noise,
    /// Screen brightness turned down in a bright shop.
    LowContrast,
    /// One or two reflections of the shop's lights on the screen.
    Glare,
    /// The wallet app in dark mode: light modules on a dark screen.
    DarkMode,
    /// The camera sees the screen's pixel grid (moiré) and the app compresses hard.
    MoireJpeg,
    /// A 1280×720 camera preview.
    Hd,
    /// The camera's NV21 buffer with padded rows, as an Android app pushes it.
    Nv21,
    /// Held at the edge of the picture: the phone's body runs out of the frame and the code
    /// sits a module or less from one edge (or a corner), its quiet zone cut.
    Edge,
}

impl FieldCondition {
    pub const ALL: [FieldCondition; 13] = [
        FieldCondition::Clean,
        FieldCondition::Small,
        FieldCondition::Rotated,
        FieldCondition::Keystone,
        FieldCondition::Blur,
        FieldCondition::Noise,
        FieldCondition::LowContrast,
        FieldCondition::Glare,
        FieldCondition::DarkMode,
        FieldCondition::MoireJpeg,
        FieldCondition::Hd,
        FieldCondition::Nv21,
        FieldCondition::Edge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldCondition::Clean => "clean",
            FieldCondition::Small => "small (2-3 px)",
            FieldCondition::Rotated => "rotated ±45°",
            FieldCondition::Keystone => "keystone",
            FieldCondition::Blur => "blur",
            FieldCondition::Noise => "noise",
            FieldCondition::LowContrast => "low contrast",
            FieldCondition::Glare => "glare",
            FieldCondition::DarkMode => "dark mode",
            FieldCondition::MoireJpeg => "moiré + jpeg",
            FieldCondition::Hd => "1280x720",
            FieldCondition::Nv21 => "nv21 padded",
            FieldCondition::Edge => "at the edge",
        }
    }
}

/// One generated frame and the payment code it shows.
pub struct FieldSample {
    pub condition: FieldCondition,
    pub code: String,
    pub frame: GrayImage,
}

/// `per_condition` frames of every condition, all derived from `seed`.
pub fn field_corpus(per_condition: usize, seed: u64) -> Vec<FieldSample> {
    FieldCondition::ALL
        .iter()
        .flat_map(|&condition| {
            (0..per_condition as u64).map(move |i| field_sample(condition, seed, i))
        })
        .collect()
}

/// Frame `index` of `condition` in the corpus of `seed`.
pub fn field_sample(condition: FieldCondition, seed: u64, index: u64) -> FieldSample {
    let mixed = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(index.wrapping_mul(0xbf58_476d_1ce4_e5b9))
        .wrapping_add(condition as u64 + 1);
    let mut rng = StdRng::seed_from_u64(mixed);
    let code = wallet_code(&mut rng);
    let frame = render(condition, &code, &mut rng);
    FieldSample {
        condition,
        code,
        frame,
    }
}

/// A code of one of the shapes `CodeRules::default` accepts, each wallet equally likely.
fn wallet_code(rng: &mut StdRng) -> String {
    const UPPER_ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let pick = |rng: &mut StdRng, alphabet: &[u8], n: usize| -> String {
        (0..n)
            .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
            .collect()
    };
    match rng.random_range(0..5) {
        0 => format!("MY{}{}", pick(rng, b"0123456789", 8), pick(rng, ALNUM, 8)),
        1 => format!("22{}", pick(rng, UPPER_ALNUM, 16)),
        2 => format!(
            "1{}{}",
            rng.random_range(0..=5),
            pick(rng, b"0123456789", 16)
        ),
        3 => {
            let prefix = rng.random_range(25..=30);
            let length = rng.random_range(16..=24);
            format!("{prefix}{}", pick(rng, b"0123456789", length - 2))
        }
        // LINE Pay's 18 digits, starting where no other wallet claims them.
        _ => format!(
            "{}{}",
            rng.random_range(6..=9),
            pick(rng, b"0123456789", 17)
        ),
    }
}

/// The QR code's modules, row by row, true for dark; and its side in modules.
fn modules_of(code: &str, rng: &mut StdRng) -> (Vec<bool>, usize) {
    let level = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H][rng.random_range(0..4)];
    let qr = QrCode::with_error_correction_level(code, level).expect("a wallet code fits");
    let side = qr.width();
    let dark = qr
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    (dark, side)
}

/// Grey levels of the screen and bezel, before lighting.
struct Look {
    ink: f32,
    paper: f32,
    bezel: f32,
    header: f32,
}

/// The phone's layout in its own plane, in modules, with the code's top-left at (0, 0).
struct Phone {
    modules: usize,
    dark: Vec<bool>,
    look: Look,
    dark_mode: bool,
    /// Screen rectangle (left, top, right, bottom).
    screen: (f32, f32, f32, f32),
    /// Outer edge of the bezel, rounded by `corner`.
    body: (f32, f32, f32, f32),
    corner: f32,
    header_bottom: f32,
    /// Bars of a 1-D barcode above the code: (left, right) in modules, and its rows.
    bars: Vec<(f32, f32)>,
    bars_rows: (f32, f32),
    /// Text lines below the code: (left, right, top, bottom).
    text: Vec<(f32, f32, f32, f32)>,
}

impl Phone {
    fn new(rng: &mut StdRng, code: &str, condition: FieldCondition) -> Self {
        let (dark, modules) = modules_of(code, rng);
        let n = modules as f32;
        let dark_mode = condition == FieldCondition::DarkMode;
        let look = match condition {
            FieldCondition::DarkMode => Look {
                ink: rng.random_range(0.0..25.0),
                paper: rng.random_range(170.0..240.0),
                bezel: rng.random_range(0.0..20.0),
                header: rng.random_range(40.0..90.0),
            },
            FieldCondition::LowContrast => {
                let ink = rng.random_range(90.0..140.0);
                Look {
                    ink,
                    paper: ink + rng.random_range(28.0..50.0),
                    bezel: rng.random_range(20.0..70.0),
                    header: ink + rng.random_range(10.0..25.0),
                }
            }
            _ => Look {
                ink: rng.random_range(0.0..60.0),
                paper: rng.random_range(190.0..255.0),
                bezel: rng.random_range(5.0..50.0),
                header: rng.random_range(60.0..160.0),
            },
        };
        // The screen is about 2.2 codes tall and 1.2 codes wide, the code a little above its
        // middle; quiet zones of 2 to 6 modules (apps differ).
        let quiet = rng.random_range(2.0..6.0);
        let screen_width = n + 2.0 * quiet + rng.random_range(0.0..0.6) * n;
        let left = -quiet - rng.random_range(0.0..1.0) * (screen_width - n - 2.0 * quiet);
        let top = -rng.random_range(0.6..1.0) * n;
        let screen = (
            left,
            top,
            left + screen_width,
            top + rng.random_range(2.0..2.4) * n,
        );
        let rim = rng.random_range(0.08..0.16) * n;
        let body = (
            screen.0 - rim,
            screen.1 - 2.0 * rim,
            screen.2 + rim,
            screen.3 + 2.0 * rim,
        );
        let header_bottom = screen.1 + rng.random_range(0.15..0.3) * n;
        let mut bars = Vec::new();
        let bars_rows = (
            header_bottom + 0.1 * n,
            header_bottom + rng.random_range(0.25..0.35) * n,
        );
        if rng.random_bool(0.5) && bars_rows.1 < -quiet {
            let mut x = 0.0;
            while x < n {
                let width = rng.random_range(1..=4) as f32 * 0.35;
                if rng.random_bool(0.5) {
                    bars.push((x, (x + width).min(n)));
                }
                x += width;
            }
        }
        let text = (0..rng.random_range(1..4))
            .map(|line| {
                let top = n + quiet + 1.0 + line as f32 * 3.0;
                (
                    rng.random_range(0.0..0.3) * n,
                    rng.random_range(0.6..1.0) * n,
                    top,
                    top + 1.6,
                )
            })
            .filter(|(_, _, _, bottom)| *bottom < screen.3)
            .collect();
        Self {
            modules,
            dark,
            look,
            dark_mode,
            screen,
            body,
            corner: rim * 2.0,
            header_bottom,
            bars,
            bars_rows,
            text,
        }
    }

    /// Grey level at plane point `(u, v)`, or `None` outside the phone.
    fn level(&self, u: f32, v: f32) -> Option<f32> {
        let n = self.modules as f32;
        let (ink, paper) = if self.dark_mode {
            (self.look.paper, self.look.ink)
        } else {
            (self.look.ink, self.look.paper)
        };
        if u >= 0.0 && v >= 0.0 && u < n && v < n {
            let dark = self.dark[v as usize * self.modules + u as usize];
            return Some(if dark { ink } else { paper });
        }
        let inside = |(l, t, r, b): (f32, f32, f32, f32)| u >= l && u < r && v >= t && v < b;
        if inside(self.screen) {
            if v < self.header_bottom {
                return Some(self.look.header);
            }
            let in_bars = v >= self.bars_rows.0
                && v < self.bars_rows.1
                && self.bars.iter().any(|&(l, r)| u >= l && u < r);
            let in_text = self.text.iter().any(|&(l, r, t, b)| {
                u >= l && u < r && v >= t && v < b && (u * 1.7) as i32 % 3 != 0
            });
            return Some(if in_bars || in_text { ink } else { paper });
        }
        let (l, t, r, b) = self.body;
        if !(u >= l && u < r && v >= t && v < b) {
            return None;
        }
        // Rounded corners of the body.
        let cx = u.clamp(l + self.corner, r - self.corner);
        let cy = v.clamp(t + self.corner, b - self.corner);
        ((u - cx).powi(2) + (v - cy).powi(2) <= self.corner.powi(2)).then_some(self.look.bezel)
    }
}

/// A counter, a hand, shop clutter: smooth shading with wood grain and a few hard shapes.
struct Scene {
    base: f32,
    grain: (f32, f32, f32),
    shapes: Vec<(f32, f32, f32, f32, f32)>,
}

impl Scene {
    fn new(rng: &mut StdRng, width: f32, height: f32) -> Self {
        let shapes = (0..rng.random_range(2..7))
            .map(|_| {
                let (x, y) = (rng.random_range(0.0..width), rng.random_range(0.0..height));
                (
                    x,
                    y,
                    rng.random_range(0.05..0.3) * width,
                    rng.random_range(0.05..0.3) * height,
                    rng.random_range(-70.0..70.0),
                )
            })
            .collect();
        Self {
            base: rng.random_range(60.0..190.0),
            grain: (
                rng.random_range(0.0..std::f32::consts::PI),
                rng.random_range(0.02..0.12),
                rng.random_range(3.0..14.0),
            ),
            shapes,
        }
    }

    fn level(&self, x: f32, y: f32) -> f32 {
        let (angle, frequency, amplitude) = self.grain;
        let along = x * angle.cos() + y * angle.sin();
        let across = -x * angle.sin() + y * angle.cos();
        let grain = amplitude * (across * frequency + (along * 0.01).sin() * 2.0).sin();
        let shapes: f32 = self
            .shapes
            .iter()
            .filter(|(sx, sy, rx, ry, _)| ((x - sx) / rx).powi(2) + ((y - sy) / ry).powi(2) < 1.0)
            .map(|s| s.4)
            .sum();
        self.base + grain + shapes
    }
}

/// Where the code's corners land in the frame: turned by `angle`, one pair of opposite sides
/// shortened by `keystone`, the whole code (plus a module) inside the frame but anywhere in it;
/// `at_edge` pushes it against one edge of the frame, or two (a corner), with a fraction of a
/// module to a module of quiet zone left on that side.
fn placement(
    rng: &mut StdRng,
    modules: usize,
    module_px: f32,
    angle_deg: f32,
    keystone: f32,
    at_edge: bool,
    (width, height): (f32, f32),
) -> Projection {
    let n = modules as f32;
    let side = n * module_px;
    // Keystone: the far edge (top, bottom, left or right, at random) is shorter.
    let near = 0.5 + keystone / 4.0;
    let far = 0.5 - keystone / 4.0;
    let tilted: Vec<(f32, f32)> = match rng.random_range(0..4) {
        0 => vec![(-far, -0.5), (far, -0.5), (near, 0.5), (-near, 0.5)],
        1 => vec![(-near, -0.5), (near, -0.5), (far, 0.5), (-far, 0.5)],
        2 => vec![(-0.5, -far), (0.5, -near), (0.5, near), (-0.5, far)],
        _ => vec![(-0.5, -near), (0.5, -far), (0.5, far), (-0.5, near)],
    };
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    let shape: Vec<(f32, f32)> = tilted
        .iter()
        .map(|&(x, y)| (side * (x * cos - y * sin), side * (x * sin + y * cos)))
        .collect();
    let margin = module_px * 1.5;
    let (min_x, max_x) = bounds(shape.iter().map(|p| p.0));
    let (min_y, max_y) = bounds(shape.iter().map(|p| p.1));
    let mut centre_x =
        rng.random_range(margin - min_x..(width - margin - max_x).max(margin - min_x + 1.0));
    let mut centre_y =
        rng.random_range(margin - min_y..(height - margin - max_y).max(margin - min_y + 1.0));
    if at_edge {
        let gap = module_px * rng.random_range(0.3..1.0);
        let corner = rng.random_bool(0.3);
        let side = rng.random_range(0..4);
        if side < 2 || corner {
            centre_x = if side % 2 == 0 {
                gap - min_x
            } else {
                width - gap - max_x
            };
        }
        if side >= 2 || corner {
            centre_y = if side % 2 == 0 {
                gap - min_y
            } else {
                height - gap - max_y
            };
        }
    }
    let to: Vec<(f32, f32)> = shape
        .iter()
        .map(|&(x, y)| (x + centre_x, y + centre_y))
        .collect();
    Projection::from_control_points(
        [(0.0, 0.0), (n, 0.0), (n, n), (0.0, n)],
        [to[0], to[1], to[2], to[3]],
    )
    .expect("a convex quadrilateral")
}

fn bounds(values: impl Iterator<Item = f32>) -> (f32, f32) {
    values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

fn render(condition: FieldCondition, code: &str, rng: &mut StdRng) -> GrayImage {
    let (width, height) = if condition == FieldCondition::Hd {
        (1280, 720)
    } else {
        (640, 480)
    };
    let phone = Phone::new(rng, code, condition);
    let module_px: f32 = match condition {
        FieldCondition::Small => rng.random_range(2.0..3.0),
        FieldCondition::Hd => rng.random_range(3.0..8.0),
        _ => rng.random_range(2.8..8.0),
    };
    let angle: f32 = match condition {
        FieldCondition::Rotated => rng.random_range(-45.0..45.0),
        _ => rng.random_range(-6.0..6.0),
    };
    let keystone: f32 = match condition {
        FieldCondition::Keystone => rng.random_range(0.1..0.2),
        _ => rng.random_range(0.0..0.05),
    };
    let to_frame = placement(
        rng,
        phone.modules,
        module_px,
        angle,
        keystone,
        condition == FieldCondition::Edge,
        (width as f32, height as f32),
    );
    let to_plane = to_frame.invert();
    let scene = Scene::new(rng, width as f32, height as f32);
    // Light falls off towards the corners, and the shop may be dim.
    let exposure = match condition {
        FieldCondition::Noise => rng.random_range(0.35..0.6),
        _ => rng.random_range(0.8..1.05),
    };
    let vignette = rng.random_range(0.1..0.35);
    let (half_w, half_h) = (width as f32 / 2.0, height as f32 / 2.0);
    let moire = (condition == FieldCondition::MoireJpeg).then(|| {
        (
            rng.random_range(0.0..std::f32::consts::TAU),
            rng.random_range(2.2..5.0),
            rng.random_range(0.08..0.2),
        )
    });

    let shade = |x: f32, y: f32| -> f32 {
        let (u, v) = to_plane * (x, y);
        let mut level = match phone.level(u, v) {
            Some(level) => {
                let mut level = level;
                if let Some((angle, period, depth)) = moire {
                    let t = x * angle.cos() + y * angle.sin();
                    level *= 1.0 - depth * (0.5 + 0.5 * (t * std::f32::consts::TAU / period).sin());
                }
                level
            }
            None => scene.level(x, y),
        };
        let r2 = ((x - half_w) / half_w).powi(2) + ((y - half_h) / half_h).powi(2);
        level *= exposure * (1.0 - vignette * r2 / 2.0);
        level
    };

    // 3×3 supersampling: the lens integrates over each pixel.
    const TAPS: [f32; 3] = [1.0 / 6.0, 0.5, 5.0 / 6.0];
    let mut frame = GrayImage::from_fn(width, height, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let mut sum = 0.0;
        for dy in TAPS {
            for dx in TAPS {
                sum += shade(x + dx, y + dy);
            }
        }
        Luma([(sum / 9.0).clamp(0.0, 255.0) as u8])
    });

    let lens_sigma = rng.random_range(0.45..0.8);
    frame = imageproc::filter::gaussian_blur_f32(&frame, lens_sigma);
    match condition {
        FieldCondition::Blur => {
            frame = if rng.random_bool(0.5) {
                imageproc::filter::gaussian_blur_f32(&frame, rng.random_range(0.9..1.8))
            } else {
                motion_blur(
                    &frame,
                    rng.random_range(0.0..std::f32::consts::PI),
                    rng.random_range(3.0..6.5),
                )
            };
        }
        FieldCondition::Glare => {
            let n = phone.modules as f32;
            for _ in 0..rng.random_range(1..=2) {
                let centre = to_frame
                    * (
                        rng.random_range(0.1..0.9) * n,
                        rng.random_range(0.1..0.9) * n,
                    );
                let radius = module_px * n * rng.random_range(0.12..0.3);
                glare(&mut frame, centre, radius, rng.random_range(90.0..200.0));
            }
        }
        _ => {}
    }
    let noise_sigma = match condition {
        FieldCondition::Noise => rng.random_range(12.0..22.0),
        _ => rng.random_range(1.5..4.0),
    };
    frame = imageproc::noise::gaussian_noise(&frame, 0.0, noise_sigma, rng.random());
    let quality = match condition {
        FieldCondition::MoireJpeg => rng.random_range(12..30),
        _ => rng.random_range(60..92),
    };
    frame = jpeg_round_trip(&frame, quality);
    if condition == FieldCondition::Nv21 {
        frame = through_nv21(&frame, rng);
    }
    frame
}

/// Averages along a line of `length` pixels at `angle`: the phone moved while the shutter was
/// open.
fn motion_blur(frame: &GrayImage, angle: f32, length: f32) -> GrayImage {
    let taps = length.ceil() as i32 * 2 + 1;
    let (dx, dy) = (angle.cos(), angle.sin());
    let (width, height) = (frame.width() as i32, frame.height() as i32);
    GrayImage::from_fn(frame.width(), frame.height(), |x, y| {
        let mut sum = 0.0;
        for i in 0..taps {
            let t = (i as f32 / (taps - 1) as f32 - 0.5) * length;
            let sx = (x as f32 + t * dx).round() as i32;
            let sy = (y as f32 + t * dy).round() as i32;
            sum += f32::from(
                frame.get_pixel(
                    sx.clamp(0, width - 1) as u32,
                    sy.clamp(0, height - 1) as u32,
                )[0],
            );
        }
        Luma([(sum / taps as f32) as u8])
    })
}

/// A soft reflection, saturating at white.
fn glare(frame: &mut GrayImage, centre: (f32, f32), radius: f32, strength: f32) {
    for (x, y, pixel) in frame.enumerate_pixels_mut() {
        let d2 = (x as f32 - centre.0).powi(2) + (y as f32 - centre.1).powi(2);
        let boost = strength * (-d2 / (2.0 * radius * radius)).exp();
        pixel[0] = (f32::from(pixel[0]) + boost).min(255.0) as u8;
    }
}

fn jpeg_round_trip(frame: &GrayImage, quality: u8) -> GrayImage {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(frame)
        .expect("JPEG encoding to memory");
    let decoder = JpegDecoder::new(std::io::Cursor::new(bytes)).expect("our own JPEG");
    assert_eq!(decoder.color_type(), image::ColorType::L8);
    DynamicImage::from_decoder(decoder)
        .expect("our own JPEG decodes")
        .into_luma8()
}

/// The frame as an NV21 buffer with rows padded to a 64-byte stride (the padding and the VU
/// plane full of unrelated bytes), read back the way `POST /v1/frames` reads it.
fn through_nv21(frame: &GrayImage, rng: &mut StdRng) -> GrayImage {
    let (width, height) = frame.dimensions();
    let stride = width.next_multiple_of(64) + 64 * rng.random_range(0..2);
    let mut bytes = Vec::with_capacity((stride * height * 3 / 2) as usize);
    for row in frame.rows() {
        bytes.extend(row.map(|p| p[0]));
        bytes.extend((width..stride).map(|_| rng.random::<u8>()));
    }
    bytes.extend((0..stride * height / 2).map(|_| rng.random_range(100..156u8)));
    let layout = RawLayout::from_params(
        Some("nv21"),
        Some(&width.to_string()),
        Some(&height.to_string()),
        Some(&stride.to_string()),
    )
    .expect("a valid NV21 layout");
    RawFrame::new(layout, bytes)
        .expect("the body fits the layout")
        .into_grey()
}
