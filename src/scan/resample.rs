//! Reading a code's modules ourselves, through a perspective mapping, and handing the grid to
//! `rqrr`'s decoder.
//!
//! Two uses. [`decode_from_finders`] reads a code from the three finder-pattern centres that
//! [`finder`](super::finder) found: the code's size follows from their distance, measured on
//! each side in the modules of the two patterns at its ends; the fourth point of the mapping
//! is the bottom-right alignment pattern, looked for from where the lines of the finders' inner
//! ring edges meet, or that meeting point itself (or the one of their outer edges) when there
//! is none. Only grids whose timing patterns alternate go to the decoder. This needs no
//! connected regions in the bitmap, so it reads blurred and tiny codes whose finder rings have
//! merged with their neighbours, which `rqrr`'s own detector cannot.
//!
//! [`decode_with_corner_search`] is a second look at grids `rqrr` found but could not decode.
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

/// A projective map between two planes, from four matched points.
struct Homography([f64; 8]);

impl Homography {
    /// `None` when three of the points are in line.
    fn from_points(from: [(f64, f64); 4], to: [(f64, f64); 4]) -> Option<Self> {
        let mut system = [[0.0f64; 9]; 8];
        for (i, ((x, y), (u, v))) in from.into_iter().zip(to).enumerate() {
            system[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            system[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        for column in 0..8 {
            let pivot = (column..8)
                .max_by(|&a, &b| system[a][column].abs().total_cmp(&system[b][column].abs()))?;
            if system[pivot][column].abs() < 1e-9 {
                return None;
            }
            system.swap(column, pivot);
            for row in 0..8 {
                if row != column {
                    let pivot_row = system[column];
                    let factor = system[row][column] / pivot_row[column];
                    for (value, pivot_value) in system[row].iter_mut().zip(pivot_row).skip(column) {
                        *value -= factor * pivot_value;
                    }
                }
            }
        }
        let mut h = [0.0; 8];
        for (i, value) in h.iter_mut().enumerate() {
            *value = system[i][8] / system[i][i];
        }
        Some(Self(h))
    }

    fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let h = &self.0;
        let den = h[6] * x + h[7] * y + 1.0;
        (
            (h[0] * x + h[1] * y + h[2]) / den,
            (h[3] * x + h[4] * y + h[5]) / den,
        )
    }
}

/// Reads the `size`×`size` module grid through `mapping` and decodes it. A grid whose timing
/// patterns do not alternate is not handed to the decoder: a wrong size or placement fails
/// there in a microsecond, where the decoder's error correction takes a few hundred.
fn decode_mapped(
    size: usize,
    mapping: &Homography,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<Vec<u8>> {
    let dark: Vec<bool> = (0..size * size)
        .map(|i| {
            let (x, y) = mapping.map((i % size) as f64 + 0.5, (i / size) as f64 + 0.5);
            is_dark(x.floor() as i32, y.floor() as i32)
        })
        .collect();
    if !timing_alternates(&dark, size) {
        return None;
    }
    let mut payload = Vec::new();
    rqrr::Grid::new(SampledGrid { size, dark })
        .decode_to(&mut payload)
        .ok()?;
    Some(payload)
}

/// Share of the timing patterns' modules (row 6 and column 6 between the finders, dark on
/// even places) that must read right before a grid is decoded. Noise and blur leave a right
/// grid well above it; a grid a module off, or of the wrong size, reads about half.
const TIMING_MIN_MATCH: f64 = 0.7;

fn timing_alternates(dark: &[bool], size: usize) -> bool {
    let places = 8..size - 8;
    let count = 2 * places.len();
    let matches = places
        .flat_map(|i| [dark[6 * size + i], dark[i * size + 6]].map(|d| d == (i % 2 == 0)))
        .filter(|&right| right)
        .count();
    matches as f64 >= TIMING_MIN_MATCH * count as f64
}

/// Alignment-pattern matches (of 25 modules) below this are not taken.
const ALIGNMENT_MIN_MATCH: usize = 21;
/// How far from its estimate the alignment pattern is looked for, in modules.
const ALIGNMENT_SEARCH_MODULES: f64 = 4.0;
/// Half-module steps tried around an estimated corner of a code without an alignment pattern,
/// in each direction.
const CORNER_STEPS: i32 = 2;

/// Reads a code whose finder patterns' centres are `finders` (top-left, top-right,
/// bottom-left, or mirrored: the decoder also reads the grid transposed), with modules of
/// about `module` pixels; the payload of the first size and placement that decodes.
///
/// `out_of_time` is asked before each size and placement tried: a frame's budget ends the
/// search inside it, not only between attempts.
pub fn decode_from_finders(
    finders: [(f64, f64); 3],
    module: f64,
    is_dark: impl Fn(i32, i32) -> bool,
    out_of_time: &dyn Fn() -> bool,
) -> Option<Vec<u8>> {
    let [top_left, top_right, bottom_left] = finders;
    let corner = outer_corner(finders, module, &is_dark);
    let inner = inner_corner(finders, module, &is_dark);
    for version in candidate_versions(finders, module, &is_dark) {
        if out_of_time() {
            return None;
        }
        let size = 17 + 4 * version as usize;
        let side = size as f64;
        // Fourth points whose place in the code does not depend on its size: where the lines
        // of the finders' outer rings meet, on the code's side or on the outside.
        let inner_guide = inner.and_then(|inner| {
            Homography::from_points(
                [
                    (3.5, 3.5),
                    (side - 3.5, 3.5),
                    (side - 7.0, side - 7.0),
                    (3.5, side - 3.5),
                ],
                [top_left, top_right, inner, bottom_left],
            )
        });
        let outer_guide = corner.and_then(|corner| {
            Homography::from_points(
                [
                    (3.5, 3.5),
                    (side - 3.5, 3.5),
                    (side, side),
                    (3.5, side - 3.5),
                ],
                [top_left, top_right, corner, bottom_left],
            )
        });
        let found = if version == 1 {
            None
        } else {
            match inner_guide.as_ref().or(outer_guide.as_ref()) {
                Some(guide) => find_alignment(&|u, v| guide.map(u, v), side, &is_dark),
                None => find_alignment(&affine(finders, side), side, &is_dark),
            }
        };
        let payload = match found {
            Some(alignment) => Homography::from_points(
                [
                    (3.5, 3.5),
                    (side - 3.5, 3.5),
                    (side - 6.5, side - 6.5),
                    (3.5, side - 3.5),
                ],
                [top_left, top_right, alignment, bottom_left],
            )
            .and_then(|mapping| decode_mapped(size, &mapping, &is_dark)),
            None if inner_guide.is_some() || outer_guide.is_some() => [inner_guide, outer_guide]
                .into_iter()
                .flatten()
                .find_map(|guide| decode_mapped(size, &guide, &is_dark)),
            None => decode_with_corner_steps(finders, side, &is_dark, out_of_time),
        };
        if payload.is_some() {
            return payload;
        }
    }
    None
}

/// Versions tried, likeliest first, at most this many.
const VERSIONS_TRIED: usize = 4;

/// The code's version as its finder patterns measure it, then its neighbours. Each side (top
/// left to top right, top left to bottom left) is measured in modules of its own: the two
/// patterns at its ends measured along it, so a code tilted away, whose far patterns are
/// smaller, is not taken for a larger one. The side whose measure falls nearer a real size
/// (17 + 4 × version) comes first, then the other, then one version either way of the first.
fn candidate_versions(
    finders: [(f64, f64); 3],
    module: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Vec<i32> {
    let [top_left, top_right, bottom_left] = finders;
    let mut measures: Vec<f64> = [
        side_along(top_left, top_right, module, is_dark),
        side_along(top_left, bottom_left, module, is_dark),
    ]
    .into_iter()
    .flatten()
    .collect();
    if measures.is_empty() {
        let span = (distance(top_left, top_right) + distance(top_left, bottom_left)) / 2.0;
        measures.push(span / module + 7.0);
    }
    let version_of = |side: f64| (side - 17.0) / 4.0;
    measures.sort_by(|a, b| {
        let off = |side: f64| (version_of(side) - version_of(side).round()).abs();
        off(*a).total_cmp(&off(*b))
    });
    let nearest: Vec<i32> = measures
        .iter()
        .map(|&side| version_of(side).round() as i32)
        .collect();
    let first = nearest[0];
    let mut versions = Vec::with_capacity(VERSIONS_TRIED);
    for version in nearest.into_iter().chain([first - 1, first + 1]) {
        if (1..=40).contains(&version)
            && !versions.contains(&version)
            && versions.len() < VERSIONS_TRIED
        {
            versions.push(version);
        }
    }
    versions
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// The code's side in modules along the line from finder centre `a` to finder centre `b`:
/// their distance in the mean of the two patterns' modules measured along that line, plus the
/// 7 modules of the patterns' outer halves.
fn side_along(
    a: (f64, f64),
    b: (f64, f64),
    module: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<f64> {
    let length = distance(a, b);
    if length < f64::EPSILON {
        return None;
    }
    let direction = ((b.0 - a.0) / length, (b.1 - a.1) / length);
    let at_a = module_along(a, direction, module, is_dark)?;
    let at_b = module_along(b, (-direction.0, -direction.1), module, is_dark)?;
    Some(length / ((at_a + at_b) / 2.0) + 7.0)
}

/// The module of the finder pattern centred at `centre`, measured along `direction`: the
/// light ring's outer edges are 5 modules apart, the dark ring's 7; both are read on either
/// side of the centre and averaged. `None` when the rings are not there in proportion.
fn module_along(
    centre: (f64, f64),
    direction: (f64, f64),
    module: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<f64> {
    let step = (module / 4.0).clamp(0.25, 0.5);
    // Outward from the centre: where the light ring ends and where the dark ring ends.
    let ring_edges = |sign: f64| -> Option<(f64, f64)> {
        let mut edges = [0.0; 3];
        let mut found = 0;
        let mut dark = true;
        let mut t = 0.0;
        while t <= 6.0 * module {
            let (x, y) = (
                centre.0 + sign * direction.0 * t,
                centre.1 + sign * direction.1 * t,
            );
            if is_dark(x.floor() as i32, y.floor() as i32) != dark {
                edges[found] = t - step / 2.0;
                found += 1;
                dark = !dark;
                if found == 3 {
                    return Some((edges[1], edges[2]));
                }
            }
            t += step;
        }
        None
    };
    if !is_dark(centre.0.floor() as i32, centre.1.floor() as i32) {
        return None;
    }
    let (light_ahead, dark_ahead) = ring_edges(1.0)?;
    let (light_behind, dark_behind) = ring_edges(-1.0)?;
    let (five, seven) = (light_ahead + light_behind, dark_ahead + dark_behind);
    if !(0.55..=0.9).contains(&(five / seven)) {
        return None;
    }
    Some((five + seven) / 12.0)
}

/// The code's outer bottom-right corner: where the top-right finder's right edge meets the
/// bottom-left finder's bottom edge. Each edge is a line fitted to where seven rows across the
/// pattern leave its dark outer ring. Under perspective this corner is modules away from where
/// the three centres alone put it; the edges tilt with the code and say where.
fn outer_corner(
    finders: [(f64, f64); 3],
    module: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<(f64, f64)> {
    let [top_left, top_right, bottom_left] = finders;
    let unit = |a: (f64, f64), b: (f64, f64)| {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let length = dx.hypot(dy);
        (length > f64::EPSILON).then(|| (dx / length, dy / length))
    };
    let across = unit(top_left, top_right)?;
    let down = unit(top_left, bottom_left)?;
    let right_edge = finder_edge(top_right, across, down, module, is_dark)?;
    let bottom_edge = finder_edge(bottom_left, down, across, module, is_dark)?;
    intersection(right_edge, bottom_edge)
}

/// Module (`side` − 7, `side` − 7) of the code: where the top-right finder's left edge meets
/// the bottom-left finder's top edge, both extended across the code. A perspective map keeps
/// lines straight, so this point holds under any tilt, and it lies next to the bottom-right
/// alignment pattern: the search for that pattern starts from it.
fn inner_corner(
    finders: [(f64, f64); 3],
    module: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<(f64, f64)> {
    let [top_left, top_right, bottom_left] = finders;
    let unit = |a: (f64, f64), b: (f64, f64)| {
        let length = distance(a, b);
        (length > f64::EPSILON).then(|| ((b.0 - a.0) / length, (b.1 - a.1) / length))
    };
    let back = unit(top_right, top_left)?;
    let up = unit(bottom_left, top_left)?;
    let left_edge = finder_edge(top_right, back, up, module, is_dark)?;
    let top_edge = finder_edge(bottom_left, up, back, module, is_dark)?;
    intersection(left_edge, top_edge)
}

/// The outer edge of the finder pattern centred at `centre` on its `outward` side, as a point
/// and a direction: rows one module apart along `along`, each walked outward to the outer
/// ring's outside edge.
fn finder_edge(
    centre: (f64, f64),
    outward: (f64, f64),
    along: (f64, f64),
    module: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<((f64, f64), (f64, f64))> {
    let step = 0.5;
    let mut points = Vec::with_capacity(7);
    for row in -3..=3 {
        let start = (
            centre.0 + along.0 * module * f64::from(row),
            centre.1 + along.1 * module * f64::from(row),
        );
        // The first step from dark to light past 2.5 modules: the outer ring's outside edge
        // (the centre and the light ring end before; perspective makes the pattern's own
        // modules up to a quarter larger or smaller than the code's mean).
        let mut was_dark = false;
        let mut t = 0.0;
        let mut edge = None;
        while t <= 5.5 * module {
            let (x, y) = (start.0 + outward.0 * t, start.1 + outward.1 * t);
            let dark = is_dark(x.floor() as i32, y.floor() as i32);
            if was_dark && !dark && t >= 2.5 * module {
                edge = Some((x, y));
                break;
            }
            was_dark = dark;
            t += step;
        }
        if let Some(point) = edge {
            points.push(point);
        }
    }
    if points.len() < 4 {
        return None;
    }
    let count = points.len() as f64;
    let mean = (
        points.iter().map(|p| p.0).sum::<f64>() / count,
        points.iter().map(|p| p.1).sum::<f64>() / count,
    );
    let (mut xx, mut xy, mut yy) = (0.0, 0.0, 0.0);
    for (x, y) in &points {
        let (dx, dy) = (x - mean.0, y - mean.1);
        xx += dx * dx;
        xy += dx * dy;
        yy += dy * dy;
    }
    // The principal direction of the points.
    let angle = 0.5 * (2.0 * xy).atan2(xx - yy);
    Some((mean, (angle.cos(), angle.sin())))
}

/// Where two lines (a point and a direction each) cross; `None` when nearly parallel.
fn intersection(
    (p, d): ((f64, f64), (f64, f64)),
    (q, e): ((f64, f64), (f64, f64)),
) -> Option<(f64, f64)> {
    let denominator = d.0 * e.1 - d.1 * e.0;
    if denominator.abs() < 0.2 {
        return None;
    }
    let s = ((q.0 - p.0) * e.1 - (q.1 - p.1) * e.0) / denominator;
    Some((p.0 + s * d.0, p.1 + s * d.1))
}

/// The affine map the three finder centres define: module coordinates to image coordinates.
fn affine(finders: [(f64, f64); 3], side: f64) -> impl Fn(f64, f64) -> (f64, f64) {
    let [tl, tr, bl] = finders;
    let span = side - 7.0;
    let across = ((tr.0 - tl.0) / span, (tr.1 - tl.1) / span);
    let down = ((bl.0 - tl.0) / span, (bl.1 - tl.1) / span);
    move |u, v| {
        let (du, dv) = (u - 3.5, v - 3.5);
        (
            tl.0 + du * across.0 + dv * down.0,
            tl.1 + du * across.1 + dv * down.1,
        )
    }
}

/// The bottom-right alignment pattern's centre: the best match of its 5×5 module template
/// (dark ring, light ring, dark centre) around where `to_image` (module space to pixels) puts
/// it, in quarter-module steps.
fn find_alignment(
    to_image: &dyn Fn(f64, f64) -> (f64, f64),
    side: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
) -> Option<(f64, f64)> {
    let centre = side - 6.5;
    let reach = (ALIGNMENT_SEARCH_MODULES * 4.0) as i32;
    let mut best: Option<(usize, f64, (f64, f64))> = None;
    for dv in -reach..=reach {
        for du in -reach..=reach {
            let (u, v) = (centre + f64::from(du) / 4.0, centre + f64::from(dv) / 4.0);
            let matches = (-2..=2i32)
                .flat_map(|j| (-2..=2i32).map(move |i| (i, j)))
                .filter(|&(i, j)| {
                    let ring = i.abs().max(j.abs());
                    let (x, y) = to_image(u + f64::from(i), v + f64::from(j));
                    is_dark(x.floor() as i32, y.floor() as i32) == (ring != 1)
                })
                .count();
            let off = f64::from(du * du + dv * dv);
            let better = match best {
                None => true,
                Some((m, o, _)) => matches > m || (matches == m && off < o),
            };
            if better {
                best = Some((matches, off, to_image(u, v)));
            }
        }
    }
    best.filter(|(matches, _, _)| *matches >= ALIGNMENT_MIN_MATCH)
        .map(|(_, _, at)| at)
}

/// A code without a found alignment pattern: the bottom-right corner where the finders put it,
/// then moved in half-module steps around that (perspective moves it by a module or two).
fn decode_with_corner_steps(
    finders: [(f64, f64); 3],
    side: f64,
    is_dark: &impl Fn(i32, i32) -> bool,
    out_of_time: &dyn Fn() -> bool,
) -> Option<Vec<u8>> {
    let to_image = affine(finders, side);
    let [top_left, top_right, bottom_left] = finders;
    let mut offsets: Vec<(i32, i32)> = (-CORNER_STEPS..=CORNER_STEPS)
        .flat_map(|dy| (-CORNER_STEPS..=CORNER_STEPS).map(move |dx| (dx, dy)))
        .collect();
    offsets.sort_by_key(|(dx, dy)| dx * dx + dy * dy);
    offsets.into_iter().find_map(|(du, dv)| {
        if out_of_time() {
            return None;
        }
        let corner = (side - 3.5, side - 3.5);
        let (du, dv) = (f64::from(du) / 2.0, f64::from(dv) / 2.0);
        let moved = to_image(corner.0 + du, corner.1 + dv);
        let mapping = Homography::from_points(
            [(3.5, 3.5), (side - 3.5, 3.5), corner, (3.5, side - 3.5)],
            [top_left, top_right, moved, bottom_left],
        )?;
        decode_mapped(side as usize, &mapping, is_dark)
    })
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
    out_of_time: &dyn Fn() -> bool,
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
        if out_of_time() {
            return None;
        }
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
    fn homography_maps_its_points() {
        let from = [(3.5, 3.5), (21.5, 3.5), (18.5, 18.5), (3.5, 21.5)];
        let to = [(10.0, 20.0), (110.0, 25.0), (96.0, 110.0), (5.0, 118.0)];
        let h = Homography::from_points(from, to).unwrap();
        for (a, b) in from.into_iter().zip(to) {
            let (x, y) = h.map(a.0, a.1);
            assert!((x - b.0).abs() < 1e-6 && (y - b.1).abs() < 1e-6);
        }
    }

    /// A version-2 code (25 modules, alignment pattern centred on module (18, 18)) drawn
    /// through an exact homography `to_pixels` (module space to pixel space): each pixel is
    /// dark when its centre maps back onto a dark module.
    fn rendered_through(
        to_pixels: &Homography,
        width: u32,
        height: u32,
    ) -> (image::GrayImage, usize) {
        let qr = qrcode::QrCode::with_version(
            "MY12345678abcdEFGH",
            qrcode::Version::Normal(2),
            qrcode::EcLevel::M,
        )
        .unwrap();
        let size = qr.width();
        assert_eq!(size, 25);
        let colors = qr.to_colors();
        let side = size as f64;
        let module_corners = [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)];
        let pixel_corners = module_corners.map(|(u, v)| to_pixels.map(u, v));
        let to_modules = Homography::from_points(pixel_corners, module_corners).unwrap();
        let frame = image::GrayImage::from_fn(width, height, |x, y| {
            let (u, v) = to_modules.map(f64::from(x) + 0.5, f64::from(y) + 0.5);
            let inside = (0.0..side).contains(&u) && (0.0..side).contains(&v);
            let dark = inside && colors[v as usize * size + u as usize] == qrcode::Color::Dark;
            image::Luma([if dark { 20 } else { 235 }])
        });
        (frame, size)
    }

    /// Whether a pixel of `frame` is dark; outside the frame, light.
    fn dark_pixels(frame: &image::GrayImage) -> impl Fn(i32, i32) -> bool + '_ {
        |x, y| {
            x >= 0
                && y >= 0
                && (x as u32) < frame.width()
                && (y as u32) < frame.height()
                && frame.get_pixel(x as u32, y as u32)[0] < 128
        }
    }

    /// The three finder centres of a code `side` modules wide, mapped to pixels.
    fn finder_centres(to_pixels: &Homography, side: f64) -> [(f64, f64); 3] {
        [
            to_pixels.map(3.5, 3.5),
            to_pixels.map(side - 3.5, 3.5),
            to_pixels.map(3.5, side - 3.5),
        ]
    }

    /// The module size the two sides from the top-left finder give, averaged.
    fn mean_module(finders: [(f64, f64); 3], side: f64) -> f64 {
        (distance(finders[0], finders[1]) + distance(finders[0], finders[2])) / 2.0 / (side - 7.0)
    }

    #[test]
    fn reads_a_code_in_perspective_from_its_finders() {
        // Tilted away at the top: the top edge is 20 % shorter than the bottom one, and the
        // code is turned a little. Modules are about 6 pixels.
        let side = 25.0;
        let to_pixels = Homography::from_points(
            [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)],
            [(62.0, 36.0), (184.0, 44.0), (206.0, 196.0), (52.0, 188.0)],
        )
        .unwrap();
        let (frame, size) = rendered_through(&to_pixels, 260, 230);
        let is_dark = dark_pixels(&frame);
        // The finder centres and the alignment centre, from the same map.
        let finders = finder_centres(&to_pixels, side);
        let alignment = to_pixels.map(side - 6.5, side - 6.5);
        let module_at_alignment = distance(alignment, to_pixels.map(side - 5.5, side - 6.5));
        // The affine estimate from the three finders misses the alignment pattern by more
        // than a module: the keystone is what the search has to make up for.
        let estimate = affine(finders, side)(side - 6.5, side - 6.5);
        assert!(
            distance(estimate, alignment) > module_at_alignment,
            "{estimate:?}"
        );

        let found =
            find_alignment(&affine(finders, side), size as f64, &is_dark).expect("alignment found");
        assert!(
            distance(found, alignment) <= module_at_alignment,
            "alignment found at {found:?}, mapped at {alignment:?}"
        );
        let module = mean_module(finders, side);
        // The finders' outer edges meet at the code's outer corner, within a module.
        let corner = outer_corner(finders, module, &is_dark).expect("edges found");
        let mapped_corner = to_pixels.map(side, side);
        assert!(
            distance(corner, mapped_corner) <= module_at_alignment,
            "corner found at {corner:?}, mapped at {mapped_corner:?}"
        );
        let payload = decode_from_finders(finders, module, is_dark, &|| false).expect("decoded");
        assert_eq!(payload, b"MY12345678abcdEFGH");
    }

    #[test]
    fn a_hard_tilt_is_measured_side_by_side() {
        // The bottom edge 1.65 times the top one: the bottom-left finder's modules are much
        // larger than the top-right one's, and each side is measured in its own.
        let side = 25.0;
        let to_pixels = Homography::from_points(
            [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)],
            [(70.0, 30.0), (180.0, 34.0), (222.0, 200.0), (40.0, 196.0)],
        )
        .unwrap();
        let (frame, _) = rendered_through(&to_pixels, 270, 230);
        let is_dark = dark_pixels(&frame);
        let finders = finder_centres(&to_pixels, side);
        let module = mean_module(finders, side);
        assert_eq!(candidate_versions(finders, module, &is_dark)[0], 2);
    }

    #[test]
    fn a_grid_one_module_off_fails_its_timing_patterns() {
        let qr = qrcode::QrCode::with_version(
            "MY12345678abcdEFGH",
            qrcode::Version::Normal(2),
            qrcode::EcLevel::M,
        )
        .unwrap();
        let size = qr.width();
        let dark: Vec<bool> = qr
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        assert!(timing_alternates(&dark, size));
        let shifted: Vec<bool> = (0..size * size)
            .map(|i| {
                let (x, y) = (i % size, i / size);
                x + 1 < size && dark[y * size + x + 1]
            })
            .collect();
        assert!(!timing_alternates(&shifted, size));
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
        let payload = decode_with_corner_search(wrong, size, is_dark, &|| false).unwrap();
        assert_eq!(payload, b"134567890123456789");
    }
}
