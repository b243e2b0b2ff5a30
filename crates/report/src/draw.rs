//! The drawing pieces every picture of a report shares: the embedded font, the palette, tick
//! labels, and the two outputs of a [`Picture`]: an RGB buffer written as PNG, and SVG text for
//! the HTML report. A picture is drawn by one function over plotters' `DrawingBackend`, so the
//! PNG and the SVG of a chart come from the same code.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (plotters' `ab_glyph` path), so nothing
//! depends on the fonts or font libraries of the machine. In SVG, plotters writes text as
//! `<text font-family="sans-serif">` (laid out with the embedded font's metrics): a browser shows
//! it in its own sans-serif, with no font file to fetch.

use crate::error::ReportError;
use crate::format::significant;
use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// Something drawn the same way on any plotters backend.
pub(crate) trait Picture {
    /// Draws onto the whole of `root` (a white canvas is the picture's own business).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// The picture as an RGB buffer of `w` × `h` pixels (for [`write_png`]).
pub(crate) fn render_rgb(picture: &impl Picture, w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (w, h)).map_err(|e| e.to_string())?;
        let root = backend.into_drawing_area();
        picture.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(rgb)
}

/// The picture as an SVG document of `w` × `h` user units (with a `viewBox`, so that it scales).
pub(crate) fn render_svg(picture: &impl Picture, w: u32, h: u32) -> Result<String, String> {
    register_font().map_err(|e| e.to_string())?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        picture.draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// DejaVu Sans 2.37; its license is `assets/DejaVuSans-LICENSE.txt`.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

pub(crate) fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    // "sans-serif" is the family plotters asks for by default, so every text uses this font.
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ReportError::Font)
    }
}

/// Tableau 10: distinct, and still distinct for the common kinds of colour blindness.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A tick label: whole numbers only on an integer axis (no `1.5` epochs), else up to four
/// significant digits without trailing zeros.
pub(crate) fn tick(v: f64, integer: bool) -> String {
    if integer {
        return if (v - v.round()).abs() < 1e-9 { format!("{}", v.round()) } else { String::new() };
    }
    // Ticks computed as lo + i·step miss zero by rounding (−1.1e-16): that is zero.
    if v.abs() < 1e-12 {
        return "0".to_string();
    }
    significant(v)
}

/// Encodes an RGB buffer as PNG at `path`, atomically (the `atomic-file` crate): a reader never
/// sees half a picture.
pub(crate) fn write_png(path: &Path, rgb: &[u8], w: u32, h: u32) -> Result<(), ReportError> {
    atomic_file::write_with(path, |out| -> std::io::Result<()> {
        let mut encoder = png::Encoder::new(out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(rgb).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
    .map_err(|e| ReportError::Plot { path: path.to_path_buf(), message: e.to_string() })
}
