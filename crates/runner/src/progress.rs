//! Progress of a sweep: indicatif bars on a terminal (the runs done, and one line per run being
//! trained: its epoch, batch, loss and samples/s), one plain line per epoch otherwise (CI logs;
//! each line names its run, so the lines of runs trained at once stay readable), or nothing.
//! Every method takes `&self`: the jobs of a sweep report from their own threads.

use crate::cli::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Display {
    mode: Mode,
}

enum Mode {
    Bars { multi: MultiProgress, runs: ProgressBar, slots: Vec<ProgressBar> },
    Plain,
    Quiet,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Display {
    /// A display for `total_runs` runs trained by `jobs` jobs at once.
    pub fn new(progress: Progress, total_runs: usize, jobs: usize) -> Self {
        let bars = match progress {
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Bars => true,
            Progress::Plain | Progress::None => false,
        };
        let mode = if bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let runs = multi
                .add(ProgressBar::new(total_runs as u64).with_style(style("runs   {bar:30} {pos}/{len} {wide_msg}")));
            let slots = (0..jobs.max(1))
                .map(|_| {
                    multi.add(ProgressBar::new(0).with_style(style("  {prefix:<28} {bar:20} {pos}/{len} {wide_msg}")))
                })
                .collect();
            Mode::Bars { multi, runs, slots }
        } else if progress == Progress::None {
            Mode::Quiet
        } else {
            Mode::Plain
        };
        Self { mode }
    }

    /// A line that stays (above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match &self.mode {
            Mode::Bars { multi, .. } => {
                let _ = multi.println(text);
            }
            Mode::Plain => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    /// The progress line of job `job`.
    pub fn slot(&self, job: usize) -> Slot<'_> {
        Slot { display: self, job }
    }

    /// A run done without training (already completed, another process's, or pruned).
    pub fn skip_run(&self) {
        if let Mode::Bars { runs, .. } = &self.mode {
            runs.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Mode::Bars { multi, .. } = &self.mode {
            let _ = multi.clear();
        }
    }
}

/// One job's line: the run it trains.
pub struct Slot<'a> {
    display: &'a Display,
    job: usize,
}

impl Slot<'_> {
    fn bar(&self) -> Option<&ProgressBar> {
        match &self.display.mode {
            Mode::Bars { slots, .. } => slots.get(self.job),
            _ => None,
        }
    }

    /// A line that stays, as [`Display::line`].
    pub fn line(&self, text: &str) {
        self.display.line(text);
    }

    pub fn start_run(&self, label: &str, epochs: usize) {
        if let Some(b) = self.bar() {
            b.set_prefix(label.chars().take(28).collect::<String>());
            b.set_length(epochs as u64);
            b.set_position(0);
            b.set_message("starting");
        }
    }

    pub fn batch(&self, epoch: usize, batch: usize, batches: usize, loss: f32, samples: usize, since: Instant) {
        if let Some(b) = self.bar() {
            let rate = samples as f64 / since.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!("epoch {epoch} batch {batch}/{batches} loss {loss:.4} {rate:.0} samples/s"));
        }
    }

    /// An epoch's line: shown in full in plain mode, as the job's message with bars.
    pub fn epoch(&self, text: &str) {
        match &self.display.mode {
            Mode::Bars { .. } => {
                if let Some(b) = self.bar() {
                    b.inc(1);
                }
            }
            Mode::Plain => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    /// The job's run stopped: done with, or (`finished == false`) paused at a search's rung.
    pub fn end_run(&self, finished: bool) {
        if let (Mode::Bars { runs, .. }, true) = (&self.display.mode, finished) {
            runs.inc(1);
        }
        if let Some(b) = self.bar() {
            b.set_message("");
        }
    }
}
