//! A second look at grids `rqrr` found but could not decode.
//!
//! For a version-1 code (no alignment pattern) `rqrr` guesses the fourth corner from the
//! edges of two finder patterns; under perspective or slight blur that guess is often off by
//! a module, and every module read near that corner is wrong. The other three corners come
//! from finder patterns and are reliable. So: keep them, move the fourth corner around its
//! guess in half-module steps, read the modules again and let the error correction say which
//! placement is right.

use rqrr::BitGrid;

/// Module grid read from an image through a perspective mapping.
struct SampledGrid {
    size: usize,
    dark: Vec<bool>,
}

impl BitGrid for SampledGrid {
    fn size(&self) -> usize {
        self.size
    }

    fn bit(&self, y: usize, x: usize) -> bool {
        self.dark[y * self.size + x]
    }
}

/// Maps grid coordinates to image coordinates: the projective transform taking the unit
/// square's corners to four points (the quirc formulation `rqrr` uses too).
struct Perspective([f64; 8]);

impl Perspective {
    /// `None` when the corners do not form a usable quadrilateral.
    fn new(corners: [(f64, f64); 4], width: f64, height: f64) -> Option<Self> {
        let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = corners;
        let wden = width * (x2 * y3 - x3 * y2 + (x3 - x2) * y1 + x1 * (y2 - y3));
        let hden = height * (x2 * y3 + x1 * (y2 - y3) - x3 * y2 + (x3 - x2) * y1);
        if wden < f64::EPSILON || hden < f64::EPSILON {
            return None;
        }
        Some(Self([
            (x1 * (x2 * y3 - x3 * y2)
                + x0 * (-x2 * y3 + x3 * y2 + (x2 - x3) * y1)
                + x1 * (x3 - x2) * y0)
                / wden,
            -(x0 * (x2 * y3 + x1 * (y2 - y3) - x2 * y1) - x1 * x3 * y2
                + x2 * x3 * y1
                + (x1 * x3 - x2 * x3) * y0)
                / hden,
            x0,
            (y0 * (x1 * (y3 - y2) - x2 * y3 + x3 * y2) + y1 * (x2 * y3 - x3 * y2)
                - x0 * y1 * (y3 - y2))
                / wden,
            (x0 * (y1 * y3 - y2 * y3) + x1 * y2 * y3 - x2 * y1 * y3
                + y0 * (x3 * y2 - x1 * y2 + (x2 - x3) * y1))
                / hden,
            y0,
            (x1 * (y3 - y2) + x0 * (y2 - y3) + (x2 - x3) * y1 + (x3 - x2) * y0) / wden,
            (-x2 * y3 + x1 * y3 + x3 * y2 + x0 * (y1 - y2) - x3 * y1 + (x2 - x1) * y0) / hden,
        ]))
    }

    fn map(&self, u: f64, v: f64) -> (f64, f64) {
        let c = &self.0;
        let den = c[6] * u + c[7] * v + 1.0;
        (
            (c[0] * u + c[1] * v + c[2]) / den,
            (c[3] * u + c[4] * v + c[5]) / den,
        )
    }
}

/// Half-module steps tried around the fourth corner, in each direction.
const STEPS: i32 = 3;

/// Tries placements of the bottom-right corner of a grid of `size` modules whose
/// `bounds` (top-left, top-right, bottom-right, bottom-left, as `rqrr` reports them for
/// the square of `size + 1` modules) were found; returns the first decoded payload.
pub fn decode_with_corner_search(
    bounds: [rqrr::Point; 4],
    size: usize,
    is_dark: impl Fn(i32, i32) -> bool,
) -> Option<Vec<u8>> {
    let corner = |p: rqrr::Point| (f64::from(p.x), f64::from(p.y));
    let span = size as f64 + 1.0;
    let fixed = [corner(bounds[0]), corner(bounds[1]), corner(bounds[3])];
    let guess = corner(bounds[2]);
    let module = {
        let (dx, dy) = (fixed[1].0 - fixed[0].0, fixed[1].1 - fixed[0].1);
        (dx.hypot(dy) / span).max(1.0)
    };
    let mut offsets: Vec<(i32, i32)> = (-STEPS..=STEPS)
        .flat_map(|dy| (-STEPS..=STEPS).map(move |dx| (dx, dy)))
        .collect();
    offsets.sort_by_key(|(dx, dy)| dx * dx + dy * dy);
    for (dx, dy) in offsets {
        let moved = (
            guess.0 + f64::from(dx) * module / 2.0,
            guess.1 + f64::from(dy) * module / 2.0,
        );
        let Some(perspective) = Perspective::new([fixed[0], fixed[1], moved, fixed[2]], span, span)
        else {
            continue;
        };
        let dark = (0..size * size)
            .map(|i| {
                let (u, v) = ((i % size) as f64 + 0.5, (i / size) as f64 + 0.5);
                let (x, y) = perspective.map(u, v);
                is_dark(x.round() as i32, y.round() as i32)
            })
            .collect();
        let mut payload = Vec::new();
        if rqrr::Grid::new(SampledGrid { size, dark })
            .decode_to(&mut payload)
            .is_ok()
        {
            return Some(payload);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perspective_maps_corners() {
        let corners = [(10.0, 20.0), (110.0, 25.0), (120.0, 130.0), (5.0, 118.0)];
        let p = Perspective::new(corners, 22.0, 22.0).unwrap();
        for ((u, v), expected) in [(0.0, 0.0), (22.0, 0.0), (22.0, 22.0), (0.0, 22.0)]
            .into_iter()
            .zip(corners)
        {
            let (x, y) = p.map(u, v);
            assert!((x - expected.0).abs() < 1e-6 && (y - expected.1).abs() < 1e-6);
        }
    }

    #[test]
    fn finds_the_corner_when_the_guess_is_a_module_off() {
        let qr =
            qrcode::QrCode::with_error_correction_level("134567890123456789", qrcode::EcLevel::M)
                .unwrap();
        let size = qr.width();
        let colors = qr.to_colors();
        let module_px = 5;
        let is_dark = |x: i32, y: i32| {
            let (mx, my) = (x / module_px, y / module_px);
            x >= 0
                && y >= 0
                && (mx as usize) < size
                && (my as usize) < size
                && colors[my as usize * size + mx as usize] == qrcode::Color::Dark
        };
        let span = (size as i32 + 1) * module_px;
        let point = |x, y| rqrr::Point { x, y };
        // The bottom-right corner guessed 1.5 modules too far out.
        let wrong = [
            point(0, 0),
            point(span, 0),
            point(span + 7, span + 8),
            point(0, span),
        ];
        let payload = decode_with_corner_search(wrong, size, is_dark).unwrap();
        assert_eq!(payload, b"134567890123456789");
    }
}
