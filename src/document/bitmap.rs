//! A 1-bit image in the printer's own raster layout.

/// A black-and-white image, row by row, 8 dots per byte, most significant bit leftmost, a set
/// bit printing black: exactly the data layout of the ESC/POS `GS v 0` raster command, so an
/// image goes to the printer without conversion.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl std::fmt::Debug for Bitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitmap({}x{})", self.width, self.height)
    }
}

impl Bitmap {
    /// An all-white image.
    pub fn new(width: u32, height: u32) -> Self {
        let bytes_per_row = width.div_ceil(8) as usize;
        Bitmap {
            width,
            height,
            data: vec![0; bytes_per_row * height as usize],
        }
    }

    /// Takes rows already in raster layout; `None` when `data` does not have the size
    /// `width`/`height` imply.
    pub fn from_raster(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width.div_ceil(8) as usize * height as usize).then_some(Bitmap {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn bytes_per_row(&self) -> usize {
        self.width.div_ceil(8) as usize
    }

    /// The raster data, `bytes_per_row() * height()` bytes.
    pub fn raster(&self) -> &[u8] {
        &self.data
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let index = y as usize * self.bytes_per_row() + (x / 8) as usize;
        self.data[index] & (0x80 >> (x % 8)) != 0
    }

    /// Sets one dot black. Dots outside the image are ignored, so drawing code can clip freely.
    pub fn set(&mut self, x: u32, y: u32) {
        if x >= self.width || y >= self.height {
            return;
        }
        let index = y as usize * self.bytes_per_row() + (x / 8) as usize;
        self.data[index] |= 0x80 >> (x % 8);
    }

    /// Sets black the dots of row `y` from `x` on that `dots` marks, its highest bit for dot `x`
    /// (up to 64 dots), clipped like [`Bitmap::set`].
    pub fn set_row_dots(&mut self, x: u32, y: u32, dots: u64) {
        if y >= self.height || x >= self.width {
            return;
        }
        // Dots past the right edge are dropped, so the padding bits of the last byte stay white.
        let visible = (self.width - x).min(64);
        let dots = if visible < 64 {
            dots & !(u64::MAX >> visible)
        } else {
            dots
        };
        let row = y as usize * self.bytes_per_row();
        let shifted = u128::from(dots) << 64 >> (x % 8);
        for (n, byte) in shifted.to_be_bytes().iter().take(9).enumerate() {
            if *byte != 0 {
                self.data[row + (x / 8) as usize + n] |= byte;
            }
        }
    }

    /// Fills a rectangle black (clipped to the image).
    pub fn fill(&mut self, x: u32, y: u32, width: u32, height: u32) {
        let end = x.saturating_add(width).min(self.width);
        if x >= end {
            return;
        }
        let (first, last) = ((x / 8) as usize, ((end - 1) / 8) as usize);
        let head = 0xFF >> (x % 8);
        let tail = 0xFF << (7 - (end - 1) % 8);
        let bytes_per_row = self.bytes_per_row();
        for row in y..y.saturating_add(height).min(self.height) {
            let bytes = &mut self.data[row as usize * bytes_per_row..][first..=last];
            match bytes {
                [only] => *only |= head & tail,
                [left, middle @ .., right] => {
                    *left |= head;
                    middle.fill(0xFF);
                    *right |= tail;
                }
                [] => unreachable!("first <= last"),
            }
        }
    }

    /// Draws `other`'s black dots with its top-left corner at (`x`, `y`), clipped.
    pub fn draw(&mut self, other: &Bitmap, x: u32, y: u32) {
        let source_row = other.bytes_per_row();
        for row in 0..other.height {
            let bytes = &other.data[row as usize * source_row..][..source_row];
            // 64 dots at a time: eight source bytes, the padding past its width left out.
            for (n, chunk) in bytes.chunks(8).enumerate() {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                let start = 64 * n as u32;
                let visible = (other.width - start).min(64);
                let dots = u64::from_be_bytes(word) & !(u64::MAX.checked_shr(visible).unwrap_or(0));
                if dots != 0 {
                    self.set_row_dots(x + start, y + row, dots);
                }
            }
        }
    }

    /// Makes the image taller, adding white rows at the bottom.
    pub fn grow_to(&mut self, height: u32) {
        if height > self.height {
            self.data.resize(self.bytes_per_row() * height as usize, 0);
            self.height = height;
        }
    }

    /// The image centred on a wider white canvas, so a raster of the full paper width prints
    /// in the same place whatever justification a printer applies to images.
    pub fn centred_in(&self, width: u32) -> Bitmap {
        let mut canvas = Bitmap::new(width.max(self.width), self.height);
        canvas.draw(self, (canvas.width - self.width) / 2, 0);
        canvas
    }

    /// Whether any dot in `column..` is black; used to prove nothing spills past the paper.
    pub fn any_black_from_column(&self, column: u32) -> bool {
        (0..self.height).any(|y| (column..self.width).any(|x| self.get(x, y)))
    }

    /// A grey image, black dots 0 and white 255, for PNG files and barcode readers.
    pub fn to_gray_image(&self) -> image::GrayImage {
        image::GrayImage::from_fn(self.width, self.height, |x, y| {
            image::Luma([if self.get(x, y) { 0 } else { 255 }])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_gs_v_0() {
        let mut bitmap = Bitmap::new(10, 2);
        bitmap.set(0, 0);
        bitmap.set(9, 1);
        assert_eq!(bitmap.raster(), &[0x80, 0x00, 0x00, 0x40]);
        assert!(bitmap.get(9, 1) && !bitmap.get(8, 1));
        bitmap.set(10, 0);
        assert_eq!(bitmap.raster()[1], 0);
    }

    #[test]
    fn a_rectangle_is_filled_as_dot_by_dot_and_clipped() {
        for (x, y, width, height) in [
            (0, 0, 1, 1),
            (3, 1, 4, 2),
            (5, 0, 3, 3),
            (7, 2, 2, 1),
            (1, 1, 22, 2),
            (8, 0, 16, 4),
            (17, 3, 40, 9),
            (29, 0, 1, 0),
            (31, 0, 0, 5),
        ] {
            let mut filled = Bitmap::new(30, 5);
            filled.fill(x, y, width, height);
            let mut by_dot = Bitmap::new(30, 5);
            for row in y..y + height {
                for column in x..x + width {
                    by_dot.set(column, row);
                }
            }
            assert_eq!(filled, by_dot, "{width}x{height} at ({x}, {y})");
        }
    }

    #[test]
    fn a_row_of_dots_is_set_as_dot_by_dot_and_clipped() {
        for x in [0, 3, 8, 13, 60, 69] {
            let dots = 0xF0F0_0000_0000_0001u64 | 0x8000_0000_0000_0000 >> 17;
            let mut by_row = Bitmap::new(70, 2);
            by_row.set_row_dots(x, 1, dots);
            let mut by_dot = Bitmap::new(70, 2);
            for n in 0..64 {
                if dots & (1 << (63 - n)) != 0 {
                    by_dot.set(x + n, 1);
                }
            }
            assert_eq!(by_row, by_dot, "from x = {x}");
        }
        let mut outside = Bitmap::new(8, 1);
        outside.set_row_dots(0, 1, u64::MAX);
        outside.set_row_dots(8, 0, u64::MAX);
        assert_eq!(outside.raster(), &[0]);
    }

    #[test]
    fn an_image_is_drawn_as_dot_by_dot_and_clipped() {
        let mut image = Bitmap::new(75, 3);
        for (x, y) in [(0, 0), (7, 0), (8, 1), (63, 1), (64, 2), (70, 2), (74, 0)] {
            image.set(x, y);
        }
        for (x, y) in [(0, 0), (3, 1), (9, 0), (40, 2), (99, 0)] {
            let mut drawn = Bitmap::new(100, 4);
            drawn.draw(&image, x, y);
            let mut by_dot = Bitmap::new(100, 4);
            for row in 0..image.height() {
                for column in 0..image.width() {
                    if image.get(column, row) {
                        by_dot.set(x + column, y + row);
                    }
                }
            }
            assert_eq!(drawn, by_dot, "at ({x}, {y})");
        }
    }

    #[test]
    fn centring_and_growing() {
        let mut dot = Bitmap::new(2, 1);
        dot.fill(0, 0, 2, 1);
        let mut wide = dot.centred_in(8);
        assert_eq!(wide.raster(), &[0b0001_1000]);
        wide.grow_to(3);
        assert_eq!(wide.height(), 3);
        assert!(!wide.any_black_from_column(5));
        assert!(wide.any_black_from_column(4));
    }
}
