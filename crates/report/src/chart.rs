//! A chart described once and drawn by one function over any plotters backend ([`Picture`]): the
//! PNGs of `runner report --plots` and the inline SVG of the HTML report are the same drawing.
//! Lines with markers, error bars or bands ([`Chart`]) and parallel coordinates
//! ([`ParallelChart`]); which charts a sweep gets is [`crate::plot`]'s business.

use crate::draw::{tick, Picture, PALETTE};
use crate::table::Value;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One point of a line: x, mean, std over seeds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub x: f64,
    pub y: f64,
    pub err: Option<f64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub points: Vec<Point>,
    pub line: Line,
}

/// How a series is drawn: runs solid with markers and error bars, baselines without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    Solid,
    /// The PCA baseline: a dashed line through its points.
    Dashed,
    /// The raw-pixel baseline: a dotted level.
    Dotted,
    /// Points without a line, in grey (a search's trials).
    Markers,
    /// A line through the points in the next palette colour, without markers (the best so far,
    /// given with its corners).
    Plain,
    /// A thin light-grey line without markers (a search's pruned trials); in the legend only
    /// when it has a label.
    Faint,
}

#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Ticks only at whole numbers (epochs).
    pub integer_x: bool,
    pub x_log: bool,
    /// A log x axis has its ticks at the values drawn (a grid's swept sizes and rates) rather
    /// than at round numbers (a search's sampled values, which would crowd).
    pub ticks_at_values: bool,
    /// Spread the series sideways a little, so that error bars at the same x stay apart.
    pub dodge: bool,
    /// Draw the spread of solid series as a translucent band instead of error bars (the HTML
    /// report's learning curves; the PNGs keep their bars).
    pub bands: bool,
    pub series: Vec<Series>,
    /// Where the legend covers the least: losses fall, PSNR rises.
    pub legend_low: bool,
}

/// One chart of a sweep: `name` is the PNG's file stem and the HTML figure's id; `caption` says
/// in words what it shows (the HTML report prints it under the chart).
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub name: String,
    pub caption: String,
    pub drawing: Drawing,
}

#[derive(Debug, Clone)]
pub(crate) enum Drawing {
    Lines(Chart),
    Parallel(ParallelChart),
}

impl Picture for Drawing {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        match self {
            Drawing::Lines(chart) => chart.draw(root),
            Drawing::Parallel(chart) => chart.draw(root),
        }
    }
}

pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    }
}

pub(crate) fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

/// The axis ranges, padded so that no point or error bar sits on the frame.
fn ranges(chart: &Chart) -> ((f64, f64), (f64, f64), bool) {
    let xs: Vec<f64> = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.x)).collect();
    let (x0, x1) = min_max(&xs);
    let x = if chart.x_log {
        (x0 / 1.25, x1 * 1.25)
    } else if x0 == x1 {
        (x0 - 1.0, x1 + 1.0)
    } else {
        let pad = (x1 - x0) * if chart.integer_x { 0.02 } else { 0.06 };
        (x0 - pad, x1 + pad)
    };
    let ys: Vec<f64> = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.y)).collect();
    let (y0, y1) = min_max(&ys);
    // A diverging configuration can sit orders of magnitude above the rest: a log axis keeps the
    // others readable.
    let y_log = y0 > 0.0 && y1 / y0 >= 100.0;
    let lows = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.y - p.err.unwrap_or(0.0)));
    let highs = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.y + p.err.unwrap_or(0.0)));
    let lo = lows.filter(|v| !y_log || *v > 0.0).fold(y0, f64::min);
    let hi = highs.fold(y1, f64::max);
    let y = if y_log {
        (lo / 1.5, hi * 1.5)
    } else if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.01).max(1e-6);
        (lo - pad, hi + pad)
    } else {
        let pad = (hi - lo) * 0.06;
        (lo - pad, hi + pad)
    };
    (x, y, y_log)
}

impl Picture for Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        // A log axis gets its ticks at the values that were swept (2, 8, 32 rather than 10, 20, 30).
        let ticks = x_ticks(self);
        let chart = &dodged(self);
        let ((x0, x1), (y0, y1), y_log) = ranges(chart);
        match (chart.x_log, y_log, self.ticks_at_values) {
            (false, false, _) => draw_on(root, chart, x0..x1, y0..y1, y0),
            (false, true, _) => draw_on(root, chart, x0..x1, (y0..y1).log_scale(), y0),
            (true, false, true) => draw_on(root, chart, (x0..x1).log_scale().with_key_points(ticks), y0..y1, y0),
            (true, true, true) => {
                draw_on(root, chart, (x0..x1).log_scale().with_key_points(ticks), (y0..y1).log_scale(), y0)
            }
            (true, false, false) => draw_on(root, chart, (x0..x1).log_scale(), y0..y1, y0),
            (true, true, false) => draw_on(root, chart, (x0..x1).log_scale(), (y0..y1).log_scale(), y0),
        }
    }
}

/// The distinct x values when there are few, else about ten of them, evenly picked.
fn x_ticks(chart: &Chart) -> Vec<f64> {
    const MAX_TICKS: usize = 12;
    let mut xs: Vec<f64> = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.x)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    if xs.len() <= MAX_TICKS {
        return xs;
    }
    let stride = xs.len().div_ceil(10);
    xs.iter().copied().step_by(stride).collect()
}

/// With `dodge`, shifts series i of n by (i − (n−1)/2) × 1% of the x span (of its logarithm on a
/// log axis): a few pixels, so bars at one x value do not hide each other.
fn dodged(chart: &Chart) -> Chart {
    let mut out = chart.clone();
    let n = chart.series.len();
    if !chart.dodge || n < 2 {
        return out;
    }
    let xs: Vec<f64> = chart.series.iter().flat_map(|s| s.points.iter().map(|p| p.x)).collect();
    let (lo, hi) = min_max(&xs);
    for (i, s) in out.series.iter_mut().enumerate() {
        let shift = (i as f64 - (n - 1) as f64 / 2.0) * 0.01;
        for p in &mut s.points {
            p.x = if chart.x_log { p.x * (hi / lo).powf(shift) } else { p.x + (hi - lo) * shift };
        }
    }
    out
}

fn draw_on<DB, X, Y>(root: &DrawingArea<DB, Shift>, chart: &Chart, x: X, y: Y, y_floor: f64) -> Result<(), String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, ("sans-serif", 26))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(96)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    let integer_x = chart.integer_x;
    let x_ticks = move |v: &f64| tick(*v, integer_x);
    let y_ticks = |v: &f64| tick(*v, false);
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .axis_desc_style(("sans-serif", 20))
        .label_style(("sans-serif", 16))
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&y_ticks)
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()
        .map_err(|e| err(&e))?;
    let mut runs = 0;
    for s in &chart.series {
        let points = s.points.iter().map(|p| (p.x, p.y));
        if s.line == Line::Markers {
            let grey = RGBColor(150, 150, 150).mix(0.8).filled();
            ctx.draw_series(s.points.iter().map(|p| Circle::new((p.x, p.y), 4, grey)))
                .map_err(|e| err(&e))?
                .label(s.label.as_str())
                .legend(move |(x, y)| Circle::new((x + 12, y), 4, grey));
            continue;
        }
        if s.line == Line::Faint {
            let line = ShapeStyle { color: RGBColor(185, 185, 185).to_rgba(), filled: false, stroke_width: 1 };
            // Small dots too: a trial pruned at the first rung has a single point.
            ctx.draw_series(s.points.iter().map(|p| Circle::new((p.x, p.y), 2, line.filled()))).map_err(|e| err(&e))?;
            let drawn = ctx.draw_series(LineSeries::new(points, line)).map_err(|e| err(&e))?;
            if !s.label.is_empty() {
                drawn.label(s.label.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
            }
            continue;
        }
        if s.line == Line::Plain {
            let color = PALETTE[runs % PALETTE.len()];
            runs += 1;
            let line = ShapeStyle { color: color.to_rgba(), filled: false, stroke_width: 3 };
            ctx.draw_series(LineSeries::new(points, line))
                .map_err(|e| err(&e))?
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
            continue;
        }
        if s.line != Line::Solid {
            // Baselines in dark grey, apart from the palette of the runs.
            let line = ShapeStyle { color: RGBColor(60, 60, 60).to_rgba(), filled: false, stroke_width: 2 };
            let (dash, gap) = if s.line == Line::Dashed { (10, 6) } else { (2, 5) };
            ctx.draw_series(DashedLineSeries::new(points, dash, gap, line))
                .map_err(|e| err(&e))?
                .label(s.label.as_str())
                .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], dash, gap, line));
            if s.line == Line::Dashed {
                ctx.draw_series(s.points.iter().map(|p| Circle::new((p.x, p.y), 4, line))).map_err(|e| err(&e))?;
            }
            continue;
        }
        let color = PALETTE[runs % PALETTE.len()];
        runs += 1;
        let line = ShapeStyle { color: color.to_rgba(), filled: false, stroke_width: 2 };
        if chart.bands {
            // Mean ± std as one translucent polygon: along the upper edge, back along the lower.
            let spread: Vec<&Point> = s.points.iter().filter(|p| p.err.is_some_and(|e| e > 0.0)).collect();
            if spread.len() >= 2 {
                let upper = spread.iter().map(|p| (p.x, p.y + p.err.unwrap_or(0.0)));
                let lower = spread.iter().rev().map(|p| (p.x, (p.y - p.err.unwrap_or(0.0)).max(y_floor)));
                let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
                // Fainter the more lines there are, so that overlapping bands still show the lines.
                let alpha = (0.6 / chart.series.len() as f64).clamp(0.06, 0.2);
                ctx.draw_series(std::iter::once(Polygon::new(outline, color.mix(alpha).filled())))
                    .map_err(|e| err(&e))?;
            }
        }
        ctx.draw_series(LineSeries::new(points, line))
            .map_err(|e| err(&e))?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line));
        ctx.draw_series(s.points.iter().map(|p| Circle::new((p.x, p.y), 4, line.filled()))).map_err(|e| err(&e))?;
        let bars: Vec<(f64, f64, f64)> = s
            .points
            .iter()
            .filter(|_| !chart.bands)
            .filter_map(|p| p.err.filter(|e| *e > 0.0).map(|e| (p.x, (p.y - e).max(y_floor), p.y + e)))
            .collect();
        ctx.draw_series(bars.iter().map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], line)))
            .map_err(|e| err(&e))?;
        for end in [1, 2] {
            ctx.draw_series(bars.iter().map(|&(x, lo, hi)| {
                let at = if end == 1 { lo } else { hi };
                EmptyElement::at((x, at)) + PathElement::new(vec![(-5, 0), (5, 0)], line)
            }))
            .map_err(|e| err(&e))?;
        }
    }
    ctx.configure_series_labels()
        .position(if chart.legend_low { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight })
        .label_font(("sans-serif", 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    Ok(())
}

/// One vertical axis of a parallel-coordinates chart: its title and its ticks (position in
/// [0, 1], text).
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub(crate) title: String,
    pub(crate) ticks: Vec<(f64, String)>,
}

/// Parallel coordinates: one polyline per trial across the axes (positions in [0, 1]; none where
/// the trial has no value), coloured by `shade` (0 the best trial, 1 the worst).
#[derive(Debug, Clone)]
pub(crate) struct ParallelChart {
    pub(crate) title: String,
    pub(crate) axes: Vec<Axis>,
    pub(crate) lines: Vec<(Vec<Option<f64>>, f64)>,
    /// The colour bar: its title and the metric's best and worst values as text.
    pub(crate) scale: (String, String, String),
}

/// Viridis at t in [0, 1] (matplotlib's, at nine stops, linearly between them).
pub(crate) fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The colour of a trial: dark for the best, light green for the worst (the yellow end of viridis
/// is hard to see on white, so it is not used).
fn shade_colour(shade: f64) -> RGBColor {
    viridis(0.85 * shade)
}

/// Width of the colour bar beside the axes, in pixels.
const BAR_WIDTH: u32 = 150;

impl Picture for ParallelChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let body = root.titled(&self.title, ("sans-serif", 22)).map_err(|e| err(&e))?;
        let (w, h) = body.dim_in_pixel();
        let (plot, bar) = body.split_horizontally(w.saturating_sub(BAR_WIDTH));
        let n = self.axes.len().max(1);
        let mut ctx = ChartBuilder::on(&plot)
            .margin(20)
            .margin_left(40)
            .margin_right(60)
            .x_label_area_size(50)
            .build_cartesian_2d(-0.15..(n - 1) as f64 + 0.15, -0.04..1.04)
            .map_err(|e| err(&e))?;
        for (positions, shade) in &self.lines {
            let style = shade_colour(*shade).mix(0.75).stroke_width(2);
            // A trial without a value on an axis is drawn in pieces around it.
            let mut piece: Vec<(f64, f64)> = Vec::new();
            for (i, p) in positions.iter().enumerate() {
                match p {
                    Some(y) => piece.push((i as f64, *y)),
                    None => {
                        if piece.len() > 1 {
                            ctx.draw_series(LineSeries::new(piece.clone(), style)).map_err(|e| err(&e))?;
                        }
                        piece.clear();
                    }
                }
            }
            if piece.len() > 1 {
                ctx.draw_series(LineSeries::new(piece, style)).map_err(|e| err(&e))?;
            }
        }
        let tick_font = ("sans-serif", 15).into_font().color(&BLACK);
        let title_font = ("sans-serif", 17).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, axis) in self.axes.iter().enumerate() {
            let x = i as f64;
            ctx.draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, 1.0)], BLACK.stroke_width(2))))
                .map_err(|e| err(&e))?;
            for (at, text) in &axis.ticks {
                let mark = EmptyElement::at((x, *at))
                    + PathElement::new(vec![(-5, 0), (5, 0)], BLACK.stroke_width(1))
                    + Text::new(text.clone(), (8, -8), tick_font.clone());
                ctx.draw_series(std::iter::once(mark)).map_err(|e| err(&e))?;
            }
            let label = EmptyElement::at((x, -0.04)) + Text::new(axis.title.clone(), (0, 12), title_font.clone());
            ctx.draw_series(std::iter::once(label)).map_err(|e| err(&e))?;
        }

        // The colour bar: best at the top.
        let (title, best, worst) = &self.scale;
        let (top, bottom) = (60i32, h as i32 - 90);
        let steps = 64;
        for s in 0..steps {
            let y0 = top + (bottom - top) * s / steps;
            let y1 = top + (bottom - top) * (s + 1) / steps;
            let colour = shade_colour(f64::from(s) / f64::from(steps - 1));
            bar.draw(&Rectangle::new([(20, y0), (44, y1)], colour.filled())).map_err(|e| err(&e))?;
        }
        bar.draw(&Rectangle::new([(20, top), (44, bottom)], BLACK.stroke_width(1))).map_err(|e| err(&e))?;
        let font = ("sans-serif", 15).into_font();
        bar.draw(&Text::new(title.clone(), (10, top - 36), font.clone())).map_err(|e| err(&e))?;
        bar.draw(&Text::new(format!("{best} best"), (50, top - 6), font.clone())).map_err(|e| err(&e))?;
        bar.draw(&Text::new(worst.clone(), (50, bottom - 10), font)).map_err(|e| err(&e))?;
        Ok(())
    }
}
