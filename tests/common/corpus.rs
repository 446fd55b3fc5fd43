//! A seeded generator of camera frames showing a payment QR code on a phone screen.
//!
//! Each frame is 640×480 grey: a textured counter, a phone (dark bezel, screen) held at some
//! angle, and on the screen a QR code of one of the real wallets' code shapes. A [`Condition`]
//! adds one kind of trouble the cashier's camera meets in the field. The same `(condition,
//! seed)` always gives the same frame, so tests can assert decode rates and the bench can
//! compare decoders on identical input.

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::{DynamicImage, GrayImage, ImageDecoder, Luma};
use imageproc::geometric_transformations::Projection;
use qrcode::{Color, EcLevel, QrCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const FRAME_WIDTH: u32 = 640;
pub const FRAME_HEIGHT: u32 = 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Held straight, sharp, well lit.
    Clean,
    /// Any rotation in the image plane.
    Rotated,
    /// Phone tilted: strong perspective.
    Perspective,
    /// Held far away: 2-3 pixels per module.
    SmallModules,
    /// Out of focus or moving.
    Blur,
    /// Dim light: strong sensor noise.
    Noise,
    /// Screen brightness turned down, grey on grey.
    LowContrast,
    /// A reflection of the shop's lights over part of the code.
    Glare,
    /// Heavy JPEG compression (frames pushed by the POS app).
    Jpeg,
    /// Light modules on a dark screen.
    DarkMode,
    /// Seen through a mirror or a front camera.
    Mirrored,
}

impl Condition {
    pub const ALL: [Condition; 11] = [
        Condition::Clean,
        Condition::Rotated,
        Condition::Perspective,
        Condition::SmallModules,
        Condition::Blur,
        Condition::Noise,
        Condition::LowContrast,
        Condition::Glare,
        Condition::Jpeg,
        Condition::DarkMode,
        Condition::Mirrored,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::Clean => "clean",
            Condition::Rotated => "rotated",
            Condition::Perspective => "perspective",
            Condition::SmallModules => "small modules",
            Condition::Blur => "blur",
            Condition::Noise => "noise",
            Condition::LowContrast => "low contrast",
            Condition::Glare => "glare",
            Condition::Jpeg => "jpeg",
            Condition::DarkMode => "dark mode",
            Condition::Mirrored => "mirrored",
        }
    }
}

/// One generated frame and the payment code it shows.
pub struct Sample {
    pub condition: Condition,
    pub code: String,
    pub frame: GrayImage,
}

/// `per_condition` frames of every condition, all derived from `seed`.
pub fn corpus(per_condition: usize, seed: u64) -> Vec<Sample> {
    Condition::ALL
        .iter()
        .flat_map(|&condition| {
            (0..per_condition as u64)
                .map(move |i| sample(condition, seed.wrapping_mul(1_000_003).wrapping_add(i)))
        })
        .collect()
}

/// A payment code of a real wallet's shape: WeChat Pay, Alipay, LINE Pay, JKOPay or MyPay.
pub fn payment_code(rng: &mut StdRng) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let digits = |rng: &mut StdRng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.random_range(0..10)))
            .collect()
    };
    match rng.random_range(0..5) {
        0 => format!("1{}{}", rng.random_range(0..6), digits(rng, 16)),
        1 => {
            let length = rng.random_range(16..=24);
            format!("{}{}", rng.random_range(25..=30), digits(rng, length - 2))
        }
        2 => format!("9{}", digits(rng, 17)),
        3 => {
            let tail: String = (0..16)
                .map(|_| char::from(ALNUM[rng.random_range(0..36)]))
                .collect();
            format!("22{tail}")
        }
        _ => {
            let tail: String = (0..8)
                .map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())]))
                .collect();
            format!("MY{}{tail}", digits(rng, 8))
        }
    }
}

/// `text` as a black-on-white QR code with a 4-module quiet zone, `module_px` pixels a module,
/// nothing else in the picture.
pub fn render_plain(text: &str, module_px: u32) -> GrayImage {
    let qr = QrCode::new(text).expect("text fits a QR code");
    let modules = qr.width() as u32;
    let colors = qr.to_colors();
    let side = (modules + 8) * module_px;
    GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / module_px, y / module_px);
        let inside = (4..modules + 4).contains(&mx) && (4..modules + 4).contains(&my);
        let dark = inside && colors[((my - 4) * modules + mx - 4) as usize] == Color::Dark;
        Luma([if dark { 0 } else { 255 }])
    })
}

/// The codes of `texts` rendered as [`render_plain`] does, side by side on one white 640×480
/// frame: two customers' screens in view at once.
pub fn side_by_side(texts: &[&str], module_px: u32) -> GrayImage {
    let mut frame = GrayImage::from_pixel(640, 480, Luma([255]));
    let mut x = 0;
    for text in texts {
        let code = render_plain(text, module_px);
        image::imageops::replace(&mut frame, &code, x, 40);
        x += i64::from(code.width()) + 40;
    }
    frame
}

/// Grey levels of the scene's parts.
struct Palette {
    dark_module: f32,
    light_module: f32,
    bezel: f32,
}

/// One frame of `condition`, fully determined by `seed`.
pub fn sample(condition: Condition, seed: u64) -> Sample {
    let mut rng = StdRng::seed_from_u64(seed ^ (condition as u64) << 56);
    let code = payment_code(&mut rng);
    let qr = QrCode::with_error_correction_level(&code, EcLevel::M).expect("code fits a QR code");
    let modules = qr.width();
    let mut dark: Vec<bool> = qr
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    if condition == Condition::Mirrored {
        mirror_rows(&mut dark, modules);
    }

    let module_px = match condition {
        Condition::SmallModules => rng.random_range(2.0..3.0),
        _ => rng.random_range(3.5..6.0),
    };
    let angle_deg: f32 = match condition {
        Condition::Rotated => rng.random_range(0.0..360.0),
        Condition::Perspective => rng.random_range(-20.0..20.0),
        _ => rng.random_range(-8.0..8.0),
    };
    let corner_jitter = match condition {
        Condition::Perspective => rng.random_range(0.12..0.22),
        _ => rng.random_range(0.0..0.04),
    };
    let palette = match condition {
        Condition::DarkMode => Palette {
            dark_module: rng.random_range(15.0..40.0),
            light_module: rng.random_range(190.0..235.0),
            bezel: rng.random_range(5.0..20.0),
        },
        Condition::LowContrast => {
            let dark_module = rng.random_range(105.0..125.0);
            Palette {
                dark_module,
                light_module: dark_module + rng.random_range(30.0..45.0),
                bezel: rng.random_range(30.0..60.0),
            }
        }
        _ => Palette {
            dark_module: rng.random_range(10.0..50.0),
            light_module: rng.random_range(200.0..250.0),
            bezel: rng.random_range(15.0..45.0),
        },
    };
    let dark_mode = condition == Condition::DarkMode;

    let projection = place_code(&mut rng, modules, module_px, angle_deg, corner_jitter);
    let to_plane = projection.invert();
    let background = Background::new(&mut rng);
    let n = modules as f32;
    // Quiet zone of 4 modules, then the rest of the screen, then the bezel, in module units.
    let screen = (-6.0, n + 6.0, -14.0, n + 8.0);
    let phone = (-8.0, n + 8.0, -18.0, n + 14.0);

    let shade = |x: f32, y: f32| -> f32 {
        let (u, v) = to_plane * (x, y);
        if u >= 0.0 && v >= 0.0 && u < n && v < n {
            let is_dark = dark[v as usize * modules + u as usize];
            return if is_dark != dark_mode {
                palette.dark_module
            } else {
                palette.light_module
            };
        }
        let inside = |(left, right, top, bottom): (f32, f32, f32, f32)| {
            u >= left && u < right && v >= top && v < bottom
        };
        if inside(screen) {
            // Text line of the wallet app above the code.
            let in_title = (-11.0..-9.0).contains(&v) && u > 2.0 && u < n - 2.0;
            let screen_level = if dark_mode {
                palette.dark_module
            } else {
                palette.light_module
            };
            if in_title {
                (palette.dark_module + palette.light_module) / 2.0
            } else {
                screen_level
            }
        } else if inside(phone) {
            palette.bezel
        } else {
            background.level(x, y)
        }
    };

    // 2×2 supersampling stands in for the lens's anti-aliasing.
    let mut frame = GrayImage::from_fn(FRAME_WIDTH, FRAME_HEIGHT, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let sum: f32 = [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)]
            .iter()
            .map(|(dx, dy)| shade(x + dx, y + dy))
            .sum();
        Luma([(sum / 4.0).clamp(0.0, 255.0) as u8])
    });

    let noise_seed = rng.random::<u64>();
    frame = match condition {
        Condition::Blur => imageproc::filter::gaussian_blur_f32(&frame, rng.random_range(1.3..2.0)),
        Condition::Noise => imageproc::noise::gaussian_noise(
            &imageproc::filter::gaussian_blur_f32(&frame, 0.6),
            0.0,
            rng.random_range(14.0..22.0),
            noise_seed,
        ),
        Condition::Glare => {
            let centre = projection
                * (
                    rng.random_range(0.2..0.8) * n,
                    rng.random_range(0.2..0.8) * n,
                );
            let radius = module_px * n * rng.random_range(0.18..0.28);
            add_glare(&mut frame, centre, radius, rng.random_range(120.0..190.0));
            camera(&frame, noise_seed)
        }
        Condition::Jpeg => jpeg_round_trip(&camera(&frame, noise_seed), rng.random_range(12..25)),
        _ => camera(&frame, noise_seed),
    };
    Sample {
        condition,
        code,
        frame,
    }
}

/// The slight softness and noise of every real frame.
fn camera(frame: &GrayImage, seed: u64) -> GrayImage {
    imageproc::noise::gaussian_noise(
        &imageproc::filter::gaussian_blur_f32(frame, 0.6),
        0.0,
        3.0,
        seed,
    )
}

fn mirror_rows(dark: &mut [bool], modules: usize) {
    for row in dark.chunks_mut(modules) {
        row.reverse();
    }
}

/// Maps the code's module grid onto the frame: scaled, rotated about its centre, placed near
/// the middle of the frame, each corner jittered by up to `jitter` of the code's size.
fn place_code(
    rng: &mut StdRng,
    modules: usize,
    module_px: f32,
    angle_deg: f32,
    jitter: f32,
) -> Projection {
    let n = modules as f32;
    let side = n * module_px;
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    let centre = (
        FRAME_WIDTH as f32 / 2.0 + rng.random_range(-60.0..60.0),
        FRAME_HEIGHT as f32 / 2.0 + rng.random_range(-30.0..30.0),
    );
    let mut corner = |u: f32, v: f32| {
        let (dx, dy) = ((u - 0.5) * side, (v - 0.5) * side);
        (
            centre.0 + dx * cos - dy * sin + rng.random_range(-1.0..=1.0) * jitter * side,
            centre.1 + dx * sin + dy * cos + rng.random_range(-1.0..=1.0) * jitter * side,
        )
    };
    let to = [
        corner(0.0, 0.0),
        corner(1.0, 0.0),
        corner(1.0, 1.0),
        corner(0.0, 1.0),
    ];
    Projection::from_control_points([(0.0, 0.0), (n, 0.0), (n, n), (0.0, n)], to)
        .expect("the corners form a convex quadrilateral")
}

/// A counter top: a gradient with a few darker and lighter patches.
struct Background {
    base: f32,
    slope: (f32, f32),
    patches: Vec<(f32, f32, f32, f32, f32)>,
}

impl Background {
    fn new(rng: &mut StdRng) -> Self {
        let patches = (0..6)
            .map(|_| {
                let x = rng.random_range(0.0..FRAME_WIDTH as f32);
                let y = rng.random_range(0.0..FRAME_HEIGHT as f32);
                (
                    x,
                    y,
                    x + rng.random_range(30.0..200.0),
                    y + rng.random_range(30.0..150.0),
                    rng.random_range(-50.0..50.0),
                )
            })
            .collect();
        Self {
            base: rng.random_range(70.0..170.0),
            slope: (rng.random_range(-0.1..0.1), rng.random_range(-0.1..0.1)),
            patches,
        }
    }

    fn level(&self, x: f32, y: f32) -> f32 {
        let patch: f32 = self
            .patches
            .iter()
            .filter(|(l, t, r, b, _)| x >= *l && x < *r && y >= *t && y < *b)
            .map(|p| p.4)
            .sum();
        self.base + self.slope.0 * x + self.slope.1 * y + patch
    }
}

/// Adds a soft bright spot, saturating at white, like a ceiling light reflected in the screen.
fn add_glare(frame: &mut GrayImage, centre: (f32, f32), radius: f32, strength: f32) {
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
