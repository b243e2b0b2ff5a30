//! The latent-space picture of each completed run, `runs/<run_id>/latent.png` beside the
//! `latent.csv` that training wrote: the test codes in the plane (the code itself for a 2-D latent
//! space, its first two principal components otherwise), one colour per class, the classes named
//! in a legend beside the plot. Drawn from the CSV alone, so the report needs no model. The HTML
//! report draws the same picture of its best run as SVG ([`LatentPicture`] is a [`Picture`]).

use crate::draw::{register_font, render_rgb, tick, write_png, Picture, PALETTE};
use crate::error::ReportError;
use crate::load::SweepResults;
use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::PolarsError;
use results::SweepDir;
use std::path::{Path, PathBuf};

/// Width of the legend beside the plot, in pixels.
const LEGEND_WIDTH: u32 = 190;

/// A run's test codes in the plane.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentPoints {
    pub labels: Vec<u8>,
    pub xy: Vec<(f64, f64)>,
}

/// Reads a `latent.csv` (`label,x,y`); a malformed line is an error naming the file and line.
pub fn read_latent(path: &Path) -> Result<LatentPoints, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|e| results::ResultsError::io(path, e))?;
    let bad = |line: usize, message: String| ReportError::Latent { file: path.to_path_buf(), line, message };
    let mut lines = text.lines();
    match lines.next() {
        Some("label,x,y") => {}
        other => return Err(bad(1, format!("expected the header `label,x,y`, found {:?}", other.unwrap_or("")))),
    }
    let mut points = LatentPoints { labels: Vec::new(), xy: Vec::new() };
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let parsed = match cells[..] {
            [l, x, y] => l.parse::<u8>().ok().zip(x.parse::<f64>().ok()).zip(y.parse::<f64>().ok()),
            _ => None,
        };
        let Some(((label, x), y)) = parsed.filter(|((_, x), y)| x.is_finite() && y.is_finite()) else {
            return Err(bad(i + 2, format!("expected a label and two finite numbers, found {line:?}")));
        };
        points.labels.push(label);
        points.xy.push((x, y));
    }
    Ok(points)
}

/// The latent-space picture of one run: its codes, title, axis titles and class names.
#[derive(Debug, Clone)]
pub(crate) struct LatentPicture {
    pub points: LatentPoints,
    pub title: String,
    pub axes: [String; 2],
    pub names: Option<&'static [&'static str]>,
}

impl LatentPicture {
    /// The picture of run `i` of the sweep's run frame, from its `latent.csv` (in the first of the
    /// sweep's directories holding one); none for a run that is not completed or has no codes.
    pub(crate) fn of_run(sweep: &SweepResults, i: usize) -> Result<Option<(Self, PathBuf)>, ReportError> {
        let pl = |e: PolarsError| ReportError::polars(&sweep.name, "reading the runs for their latent pictures", e);
        let runs = &sweep.runs;
        let text = |name: &str| -> Result<Option<String>, ReportError> {
            runs.column(name).and_then(|c| c.str().map(|c| c.get(i).map(str::to_string))).map_err(pl)
        };
        let (Some(id), Some(status)) = (text("run_id")?, text("status")?) else { return Ok(None) };
        if status != "completed" {
            return Ok(None);
        }
        let Some(csv) = sweep
            .sources
            .iter()
            .map(|s| SweepDir { dir: s.dir.clone() }.run_dir(&id).latent_csv())
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        let points = read_latent(&csv)?;
        let dataset = text("dataset")?.unwrap_or_default();
        let names = spec::DatasetName::parse(&dataset).ok().and_then(|d| d.class_names());
        let dim = runs.column("latent_dim").and_then(|c| c.u64().map(|c| c.get(i))).map_err(pl)?.unwrap_or(0);
        let axes = match dim {
            1 => ["z0 (the 1-D code)".to_string(), String::new()],
            2 => ["z0".to_string(), "z1".to_string()],
            d => [format!("PC1 of the {d}-D codes"), "PC2".to_string()],
        };
        let title = format!("{}: test codes of {id}", text("label")?.unwrap_or_default());
        Ok(Some((Self { points, title, axes, names }, csv)))
    }
}

/// Draws `latent.png` for every completed run that has a `latent.csv` (in the first directory of
/// the sweep holding one) and returns the files written.
pub fn latent_plots(sweep: &SweepResults, width: u32, height: u32) -> Result<Vec<PathBuf>, ReportError> {
    if sweep.counts.completed == 0 {
        return Ok(Vec::new());
    }
    register_font()?;
    let mut written = Vec::new();
    for i in 0..sweep.runs.height() {
        let Some((picture, csv)) = LatentPicture::of_run(sweep, i)? else { continue };
        let path = csv.with_file_name(spec::layout::LATENT_PNG);
        let fail = |message: String| ReportError::Plot { path: path.clone(), message };
        let rgb = render_rgb(&picture, width, height).map_err(fail)?;
        write_png(&path, &rgb, width, height)?;
        written.push(path);
    }
    Ok(written)
}

impl Picture for LatentPicture {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let (points, title, axes, names) = (&self.points, self.title.as_str(), &self.axes, self.names);
        let w = root.dim_in_pixel().0;
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        // The title spans the legend too: run labels are long.
        let body = root.titled(title, ("sans-serif", 22)).map_err(|e| err(&e))?;
        let (plot, legend) = body.split_horizontally(w.saturating_sub(LEGEND_WIDTH));

        let range = |values: Vec<f64>| {
            let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            if !(lo.is_finite() && hi.is_finite()) {
                (-1.0, 1.0)
            } else if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                (lo - 1.0, hi + 1.0)
            } else {
                let pad = (hi - lo) * 0.04;
                (lo - pad, hi + pad)
            }
        };
        let (x0, x1) = range(points.xy.iter().map(|p| p.0).collect());
        let (y0, y1) = range(points.xy.iter().map(|p| p.1).collect());
        let mut ctx = ChartBuilder::on(&plot)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        let ticks = |v: &f64| tick(*v, false);
        ctx.configure_mesh()
            .x_desc(axes[0].as_str())
            .y_desc(axes[1].as_str())
            .axis_desc_style(("sans-serif", 20))
            .label_style(("sans-serif", 16))
            .x_label_formatter(&ticks)
            .y_label_formatter(&ticks)
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .map_err(|e| err(&e))?;
        // Many points: smaller and translucent, so that the density of each class shows.
        let radius = if points.xy.len() > 2000 { 2 } else { 3 };
        let colour = |label: u8| PALETTE[usize::from(label) % PALETTE.len()];
        ctx.draw_series(
            points
                .labels
                .iter()
                .zip(&points.xy)
                .map(|(&l, &(x, y))| Circle::new((x, y), radius, colour(l).mix(0.6).filled())),
        )
        .map_err(|e| err(&e))?;

        // The legend: one entry per class present, in label order.
        let mut classes: Vec<u8> = points.labels.clone();
        classes.sort_unstable();
        classes.dedup();
        let top = 56;
        legend.draw(&Text::new("class", (10, top - 32), ("sans-serif", 18))).map_err(|e| err(&e))?;
        for (row, &c) in classes.iter().enumerate() {
            let y = top + 26 * row as i32;
            legend.draw(&Circle::new((18, y + 8), 6, colour(c).filled())).map_err(|e| err(&e))?;
            let name = names.and_then(|n| n.get(usize::from(c))).map_or(c.to_string(), |n| format!("{c} {n}"));
            legend.draw(&Text::new(name, (32, y), ("sans-serif", 16))).map_err(|e| err(&e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latent_files_are_read_and_bad_lines_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(spec::layout::LATENT_CSV);
        std::fs::write(&p, "label,x,y\n3,0.5,-1\n7,2,0.25\n").unwrap();
        let l = read_latent(&p).unwrap();
        assert_eq!(l.labels, [3, 7]);
        assert_eq!(l.xy, [(0.5, -1.0), (2.0, 0.25)]);
        std::fs::write(&p, "label,x,y\n3,0.5,-1\n7,NaN,0.25\n").unwrap();
        let e = read_latent(&p).unwrap_err().to_string();
        assert!(e.contains("latent.csv:3:") && e.contains("7,NaN"), "{e}");
        std::fs::write(&p, "x,y\n").unwrap();
        assert!(read_latent(&p).unwrap_err().to_string().contains("latent.csv:1:"));
    }
}
