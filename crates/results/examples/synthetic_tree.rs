//! Writes the results tree of a sweep of RUNS runs × EPOCHS epochs without training anything, for
//! timing `runner report` (and the rest of the bookkeeping) at scale:
//!   cargo run --release -p results --example synthetic_tree -- DIR RUNS EPOCHS
//! The runs are dense auto-encoders on synthetic data over a grid of latent sizes, learning rates
//! and seeds; their metrics are smooth made-up curves (so tables and plots have something to
//! show). Files are written in the formats the results store writes (`config.toml`, `run.json`,
//! `metrics.csv`, then the combined CSV and Parquet), but without the store's per-file fsyncs:
//! this is a fixture, not a sweep.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a fixture builder stops on the first error

use results::table::write_csv;
use results::{Provenance, RunRecord, SweepDir};
use spec::metrics::{EpochMetrics, Reconstruction, Training};
use spec::{DataConfig, DatasetName, MetricRow, ModelConfig, Noise, Probe, RunConfig, RunFile, RunStatus, TrainConfig};
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: synthetic_tree DIR RUNS EPOCHS";
    let dir = PathBuf::from(args.next().expect(usage));
    let runs: usize = args.next().expect(usage).parse().expect(usage);
    let epochs: usize = args.next().expect(usage).parse().expect(usage);
    let store = SweepDir::new(&dir, "scale");
    std::fs::create_dir_all(store.runs_dir()).unwrap();
    std::fs::write(store.dir.join("sweep.toml"), format!("name = \"scale\"\n# synthetic_tree: {runs} runs\n")).unwrap();
    let latent = [2usize, 4, 8, 16, 32];
    let rates = [1e-3, 3e-4, 1e-4, 3e-5];
    for i in 0..runs {
        let (l, r, seed) = (latent[i % 5], rates[(i / 5) % 4], (i / 20) as u64);
        let config = RunConfig {
            data: DataConfig { dataset: DatasetName::Synthetic, train_limit: Some(200), test_limit: Some(50) },
            model: ModelConfig::dense(l, vec![16]),
            train: TrainConfig {
                epochs,
                batch_size: 50,
                learning_rate: r,
                optimizer: spec::Optimizer::Adam,
                loss: spec::Loss::Bce,
                seed,
                probe: Probe::Off,
                device: spec::Device::Cpu,
            },
            noise: Noise::None,
        };
        let id = spec::run_id("default", &config, "synthetic-v1");
        let label = format!("default latent_dim={l} learning_rate={r} seed={seed}");
        let file = RunFile::new(id.clone(), "scale", "default", label.clone(), "synthetic-v1", &config);
        let run = store.run_dir(&id);
        std::fs::create_dir_all(run.path()).unwrap();
        std::fs::write(run.config(), file.to_toml()).unwrap();
        let rows: Vec<MetricRow> = (1..=epochs)
            .map(|e| {
                let bce = 0.3 + 0.2 / (e as f64 * r * 1e4).sqrt() + 0.05 / l as f64 + 1e-4 * seed as f64;
                let m = EpochMetrics {
                    epoch: e as u64,
                    training: Training { loss: bce * 1.02, penalty: None, seconds: 0.01, samples_per_second: 2e4 },
                    test: Reconstruction { bce, mse: bce / 6.0, psnr: -10.0 * (bce / 6.0).log10() },
                    eval_seconds: 0.001,
                    ..EpochMetrics::default()
                };
                MetricRow::new(&id, "scale", "default", &config, &m)
            })
            .collect();
        write_csv(&run.metrics(), &rows).unwrap();
        let record = RunRecord {
            run_id: id.clone(),
            sweep: "scale".into(),
            variant: "default".into(),
            label,
            status: RunStatus::Completed,
            error: None,
            started_at: "2026-12-01T00:00:00.000Z".into(),
            finished_at: Some("2026-12-01T00:00:01.000Z".into()),
            seed,
            dataset_fingerprint: "synthetic-v1".into(),
            provenance: Provenance {
                runner_version: env!("CARGO_PKG_VERSION").into(),
                git_revision: "synthetic".into(),
                dfdx_version: "0.13.0".into(),
                host: "synthetic".into(),
                threads: 1,
                device: "cpu".into(),
                gpu: None,
            },
            epochs_completed: epochs as u64,
            train_seconds: 0.1,
            final_metrics: results::FinalMetrics::from_rows(&rows),
        };
        std::fs::write(run.record(), serde_json::to_string_pretty(&record).unwrap() + "\n").unwrap();
    }
    store.rebuild().unwrap();
    println!("wrote {runs} runs × {epochs} epochs under {}", store.dir.display());
}
