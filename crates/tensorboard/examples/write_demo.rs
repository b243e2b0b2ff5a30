//! Writes a demo TensorBoard logdir with three runs, each with an event file, the `metrics.csv` of
//! the values it holds and the `config.toml` its text summary shows, for
//! `check_tensorboard.py` to read back with TensorBoard's own reader:
//!
//! ```text
//! cargo run --example write_demo -- <logdir>
//! ```
//!
//! The CSV has the shape of the project's per-run `metrics.csv`: a text column (`run_id`), a
//! constant numeric column that is not a scalar (`seed`, for `--ignore-column`), `epoch`, an empty
//! `phase`, and metrics of which one is only present on some epochs. The values are chosen not to
//! be exact in float32, so that the check really compares the f64 → f32 rounding.

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use tensorboard::{markdown_code_block, read_event_file, EventWriter};

/// A fixed start time: the writer takes wall times from the caller, so the demo is reproducible.
const START: f64 = 1_700_000_000.0;

struct Run {
    id: &'static str,
    epochs: u32,
    lr: f64,
}

/// One epoch's metrics; `None` leaves the CSV cell empty and writes no scalar.
fn metrics(run: &Run, epoch: u32) -> Vec<(&'static str, Option<f64>)> {
    let e = f64::from(epoch);
    let train = 0.57 * (-e * run.lr * 300.0).exp() + 0.01 * e.sqrt();
    // A NaN loss on run_b's last epoch: TensorBoard must keep it as NaN.
    let train = if run.id == "run_b" && epoch == run.epochs { f64::NAN } else { train };
    vec![
        ("train_loss", Some(train)),
        ("test_mse", Some(0.075 / e + 1e-9 * std::f64::consts::PI)),
        ("test_psnr", Some(11.235_859_400_539_232 + e.ln())),
        ("probe_accuracy", epoch.is_multiple_of(2).then_some(0.7 + 0.01 * e)),
    ]
}

fn write_run(logdir: &Path, run: &Run) -> Result<PathBuf, Box<dyn Error>> {
    let dir = logdir.join(run.id);
    let config = format!("[train]\n# The run's learning rate.\nlearning_rate = {}\nepochs = {}\n", run.lr, run.epochs);
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("config.toml"), &config)?;

    let mut w = EventWriter::create(&dir, START, "demo-host")?;
    w.text("config", 0, &markdown_code_block(&config, "toml"), START)?;
    let mut header = false;
    let mut csv = String::new();
    for epoch in 1..=run.epochs {
        let wall_time = START + 12.5 * f64::from(epoch);
        let row = metrics(run, epoch);
        if !header {
            let names: Vec<&str> = row.iter().map(|(name, _)| *name).collect();
            writeln!(csv, "run_id,seed,epoch,phase,{}", names.join(","))?;
            header = true;
        }
        let mut cells = vec![run.id.to_owned(), "0".to_owned(), epoch.to_string(), String::new()];
        for (tag, value) in row {
            match value {
                Some(v) => {
                    // TensorBoard stores float32: the cast rounds to nearest, as numpy does.
                    w.scalar(tag, i64::from(epoch), v as f32, wall_time)?;
                    // `Display` of f64 prints the shortest text that parses back to the same f64.
                    cells.push(v.to_string());
                }
                None => cells.push(String::new()),
            }
        }
        writeln!(csv, "{}", cells.join(","))?;
        w.flush()?;
    }
    fs::write(dir.join("metrics.csv"), csv)?;
    // The Rust-side check: every record's CRCs and protobuf decode.
    let events = read_event_file(w.path())?;
    println!("{}: {} events in {}", run.id, events.len(), w.path().display());
    Ok(dir)
}

/// A run shaped like the project's `stacked` runs: epochs restart at 1 in each `phase`, the
/// pre-training phase's scalars are tagged `pretrain-1/…`, the fine-tuning phase's plainly, and a
/// timing column goes under `timing/` (for the checker's `--phase-column`, `--final-phase` and
/// `--tag-prefix`).
fn write_phased_run(logdir: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let dir = logdir.join("run_c");
    let config = "[model]\nkind = \"stacked\"\n";
    fs::create_dir_all(&dir)?;
    fs::write(dir.join("config.toml"), config)?;
    let mut w = EventWriter::create(&dir, START, "demo-host")?;
    w.text("config", 0, &markdown_code_block(config, "toml"), START)?;
    let mut csv = String::from("run_id,seed,epoch,phase,train_loss,epoch_seconds\n");
    let rows = [
        ("pretrain-1", 1, 0.31, 1.25),
        ("pretrain-1", 2, 0.27, 1.5),
        ("finetune", 1, 0.61, 2.75),
        ("finetune", 2, 0.43, 2.5),
    ];
    for (i, (phase, epoch, loss, seconds)) in rows.into_iter().enumerate() {
        let prefix = if phase == "finetune" { String::new() } else { format!("{phase}/") };
        let wall_time = START + 3.0 * (i as f64 + 1.0);
        w.scalar(&format!("{prefix}train_loss"), epoch, loss as f32, wall_time)?;
        w.scalar(&format!("{prefix}timing/epoch_seconds"), epoch, seconds as f32, wall_time)?;
        writeln!(csv, "run_c,0,{epoch},{phase},{loss},{seconds}")?;
    }
    w.flush()?;
    fs::write(dir.join("metrics.csv"), csv)?;
    let events = read_event_file(w.path())?;
    println!("run_c: {} events in {}", events.len(), w.path().display());
    Ok(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    let Some(logdir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("usage: write_demo <logdir>".into());
    };
    if logdir.exists() {
        return Err(format!("{} exists; remove it first (event files are never overwritten)", logdir.display()).into());
    }
    for run in [Run { id: "run_a", epochs: 4, lr: 0.001 }, Run { id: "run_b", epochs: 3, lr: 0.003 }] {
        write_run(&logdir, &run)?;
    }
    write_phased_run(&logdir)?;
    Ok(())
}
