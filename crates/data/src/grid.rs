//! Reconstruction pictures: rows of images (e.g. originals above reconstructions) written as one
//! 8-bit grayscale PNG, atomically.

use crate::error::{write_atomic, DataError, Result};
use std::io;
use std::path::Path;

/// Output pixels between neighbouring images and rows.
pub const GAP: usize = 2;
/// Grey of the gaps: set apart from both black background and white strokes.
const GAP_VALUE: u8 = 128;
/// Far above any useful picture; keeps a mistaken scale from asking for gigabytes.
const MAX_PIXELS: usize = 1 << 27;

/// Writes `rows` of `height × width` images (values in [0, 1], clipped; NaN shows as black), each
/// pixel enlarged to `scale × scale`, with [`GAP`] pixels between images and rows. Rows may differ
/// in length; shorter ones leave the rest grey.
pub fn write_grid_png(path: &Path, rows: &[Vec<&[f32]>], height: usize, width: usize, scale: usize) -> Result<()> {
    let invalid = |message: String| DataError::Invalid { file: path.to_path_buf(), message };
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    if cols == 0 || height == 0 || width == 0 || scale == 0 {
        return Err(invalid(format!(
            "cannot draw a grid of {} rows × {cols} images of {height} × {width} at scale {scale}; expected at least one image and non-zero sizes",
            rows.len()
        )));
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, img) in row.iter().enumerate() {
            if height.checked_mul(width) != Some(img.len()) {
                return Err(invalid(format!(
                    "image {c} of row {r} has {} values; expected {height} × {width}",
                    img.len()
                )));
            }
        }
    }
    let n_rows = rows.len();
    let size = (|| {
        let (cell_w, cell_h) = (width.checked_mul(scale)?, height.checked_mul(scale)?);
        let total_w = cols.checked_mul(cell_w)?.checked_add((cols - 1).checked_mul(GAP)?)?;
        let total_h = n_rows.checked_mul(cell_h)?.checked_add((n_rows - 1).checked_mul(GAP)?)?;
        (total_w.checked_mul(total_h)? <= MAX_PIXELS).then_some((cell_w, cell_h, total_w, total_h))
    })();
    let Some((cell_w, cell_h, total_w, total_h)) = size else {
        return Err(invalid(format!(
            "{n_rows} rows × {cols} images of {height} × {width} at scale {scale} exceed {MAX_PIXELS} pixels"
        )));
    };
    let (Ok(w32), Ok(h32)) = (u32::try_from(total_w), u32::try_from(total_h)) else {
        return Err(invalid(format!("a {total_w} × {total_h} picture is too large for PNG")));
    };

    let mut canvas = vec![GAP_VALUE; total_w * total_h];
    for (r, row) in rows.iter().enumerate() {
        for (c, img) in row.iter().enumerate() {
            let (x0, y0) = (c * (cell_w + GAP), r * (cell_h + GAP));
            for (k, &v) in img.iter().enumerate() {
                // NaN fails both comparisons of clamp's inputs and lands on 0 through `as u8`.
                let byte = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                let (y, x) = (k / width, k % width);
                for dy in 0..scale {
                    let start = (y0 + y * scale + dy) * total_w + x0 + x * scale;
                    if let Some(px) = canvas.get_mut(start..start + scale) {
                        px.fill(byte);
                    }
                }
            }
        }
    }

    write_atomic(path, |w| {
        let mut enc = png::Encoder::new(w, w32, h32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(io::Error::other)?;
        writer.write_image_data(&canvas).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(path: &Path) -> (png::OutputInfo, Vec<u8>) {
        let dec = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info, buf)
    }

    #[test]
    fn grid_has_the_expected_size_and_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let black = vec![0.0f32; 28 * 28];
        let white = vec![1.0f32; 28 * 28];
        let rows = vec![vec![&black[..], &white[..], &black[..]], vec![&white[..], &black[..], &white[..]]];
        write_grid_png(&path, &rows, 28, 28, 2).unwrap();
        let (info, px) = decode(&path);
        let (w, h) = (3 * 56 + 2 * GAP, 2 * 56 + GAP);
        assert_eq!((info.width as usize, info.height as usize), (w, h));
        assert_eq!((info.color_type, info.bit_depth), (png::ColorType::Grayscale, png::BitDepth::Eight));
        let at = |x: usize, y: usize| px[y * w + x];
        assert_eq!(at(0, 0), 0);
        assert_eq!(at(56, 0), GAP_VALUE, "gap between images");
        assert_eq!(at(58, 0), 255);
        assert_eq!(at(0, 56), GAP_VALUE, "gap between rows");
        assert_eq!(at(0, 58), 255);
        assert_eq!(at(w - 1, h - 1), 255);
    }

    #[test]
    fn values_are_clipped_and_rounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        let img = [-1.0f32, 0.5, 2.0, f32::NAN];
        write_grid_png(&path, &[vec![&img[..]]], 2, 2, 1).unwrap();
        assert_eq!(decode(&path).1, vec![0, 128, 255, 0]);
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.png");
        let img = [0.0f32; 5];
        let e = write_grid_png(&path, &[vec![&img[..]]], 2, 2, 1).unwrap_err().to_string();
        assert!(e.contains("g.png") && e.contains("5 values"), "{e}");
        assert!(write_grid_png(&path, &[], 2, 2, 1).is_err());
        assert!(write_grid_png(&path, &[vec![&img[..4]]], 2, 2, 0).is_err());
        let e = write_grid_png(&path, &[vec![&img[..4]]], 2, 2, usize::MAX).unwrap_err().to_string();
        assert!(e.contains("exceed"), "{e}");
        assert!(!path.exists());
    }
}
