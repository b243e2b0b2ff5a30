//! Progress of a sweep: indicatif bars on a terminal (runs, epochs, batches with loss and
//! samples/s), one plain line per epoch otherwise (CI logs), or nothing.

use crate::cli::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub struct Display {
    mode: Mode,
}

enum Mode {
    Bars { multi: MultiProgress, runs: ProgressBar, epochs: ProgressBar, batches: ProgressBar },
    Plain,
    Quiet,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Display {
    pub fn new(progress: Progress, total_runs: usize) -> Self {
        let bars = match progress {
            Progress::Auto => std::io::stderr().is_terminal(),
            Progress::Bars => true,
            Progress::Plain | Progress::None => false,
        };
        let mode = if bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let runs = multi
                .add(ProgressBar::new(total_runs as u64).with_style(style("runs    {bar:30} {pos}/{len} {wide_msg}")));
            let epochs = multi.add(ProgressBar::new(0).with_style(style("epochs  {bar:30} {pos}/{len} {wide_msg}")));
            let batches = multi
                .add(ProgressBar::new(0).with_style(style("batches {bar:30} {pos}/{len} {msg} [{elapsed_precise}]")));
            Mode::Bars { multi, runs, epochs, batches }
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

    pub fn start_run(&self, label: &str, epochs: usize) {
        if let Mode::Bars { runs, epochs: e, .. } = &self.mode {
            runs.set_message(label.to_string());
            e.set_length(epochs as u64);
            e.set_position(0);
        }
    }

    pub fn end_run(&self) {
        if let Mode::Bars { runs, .. } = &self.mode {
            runs.inc(1);
        }
    }

    pub fn skip_run(&self) {
        self.end_run();
    }

    pub fn batch(&self, epoch: usize, batch: usize, batches: usize, loss: f32, samples: usize, since: Instant) {
        if let Mode::Bars { batches: b, epochs, .. } = &self.mode {
            if batch == 1 {
                b.set_length(batches as u64);
                epochs.set_message(format!("epoch {epoch}"));
            }
            b.set_position(batch as u64);
            let rate = samples as f64 / since.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!("loss {loss:.4}  {rate:.0} samples/s"));
        }
    }

    pub fn epoch(&self, text: &str) {
        match &self.mode {
            Mode::Bars { epochs, .. } => {
                epochs.inc(1);
                epochs.set_message(text.to_string());
            }
            Mode::Plain => eprintln!("{text}"),
            Mode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        if let Mode::Bars { multi, .. } = &self.mode {
            let _ = multi.clear();
        }
    }
}
