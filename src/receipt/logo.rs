//! The seller's title image, reduced to what a thermal printer can print.

use crate::document::Bitmap;
use image::{DynamicImage, imageops::FilterType};

/// Scales `image` down to at most `max_width` dots (never up) and dithers it to 1 bit with
/// Floyd–Steinberg error diffusion, which keeps grey areas of a logo readable on paper that
/// only knows black and white. Transparent pixels count as white paper.
pub fn dither(image: &DynamicImage, max_width: u32) -> Bitmap {
    let image = if image.width() > max_width {
        image.resize(max_width, u32::MAX, FilterType::Triangle)
    } else {
        image.clone()
    };
    let rgba = image.to_rgba8();
    let (width, height) = rgba.dimensions();
    let mut levels: Vec<f32> = rgba
        .pixels()
        .map(|pixel| {
            let [r, g, b, a] = pixel.0.map(f32::from);
            let luma = 0.299 * r + 0.587 * g + 0.114 * b;
            let alpha = a / 255.0;
            luma * alpha + 255.0 * (1.0 - alpha)
        })
        .collect();
    let mut bitmap = Bitmap::new(width, height);
    let index = |x: u32, y: u32| (y * width + x) as usize;
    for y in 0..height {
        for x in 0..width {
            let old = levels[index(x, y)];
            let new = if old < 128.0 { 0.0 } else { 255.0 };
            if new == 0.0 {
                bitmap.set(x, y);
            }
            let error = old - new;
            let mut spread = |dx: i32, dy: u32, share: f32| {
                let nx = x as i32 + dx;
                if nx >= 0 && (nx as u32) < width && y + dy < height {
                    levels[index(nx as u32, y + dy)] += error * share;
                }
            };
            spread(1, 0, 7.0 / 16.0);
            spread(-1, 1, 3.0 / 16.0);
            spread(0, 1, 5.0 / 16.0);
            spread(1, 1, 1.0 / 16.0);
        }
    }
    bitmap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_becomes_half_black_and_wide_images_shrink() {
        let grey =
            DynamicImage::ImageLuma8(image::GrayImage::from_pixel(40, 40, image::Luma([128])));
        let bitmap = dither(&grey, 384);
        let black = (0..40)
            .flat_map(|y| (0..40).map(move |x| (x, y)))
            .filter(|(x, y)| bitmap.get(*x, *y))
            .count();
        assert!((700..=900).contains(&black), "{black} of 1600 black");

        let wide = DynamicImage::ImageLuma8(image::GrayImage::new(800, 100));
        let bitmap = dither(&wide, 384);
        assert_eq!((bitmap.width(), bitmap.height()), (384, 48));
    }
}
