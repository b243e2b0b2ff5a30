//! The auto-encoder kinds from the command line, as a user comparing them relies on: one sweep
//! trains every kind, each run records its own metrics (a stacked run each of its phases), the
//! recorded runs reproduce bit for bit, `runner report --group-by model.kind` compares them (also
//! by a VAE's likelihood), and `runner sample` draws from a VAE's checkpoint and refuses others.
//!
//! Every run trains a tiny dense model on synthetic data (well under a second a run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use common::*;
use std::path::{Path, PathBuf};

const KINDS: &str = r#"
[sweep]
"train.seed" = [0, 1]

[[variant]]
name = "plain"

[[variant]]
name = "sparse"
model = { kind = "sparse", sparsity = 1e-3 }

[[variant]]
name = "sparse-kl"
model = { kind = "sparse", sparsity_target = 0.05 }

[[variant]]
name = "contractive"
model = { kind = "contractive", contraction = 1e-3 }

[[variant]]
name = "stacked"
model = { kind = "stacked", pretrain_epochs = 2 }

[[variant]]
name = "vae"
model = { kind = "vae", nll_samples = 10 }

[[variant]]
name = "vae-2d"
model = { kind = "vae", latent_dim = 2, beta = 0.5, nll_samples = 10 }
"#;

/// Trains the sweep of every kind (2 epochs, 2 seeds) in a fresh directory.
fn kinds_sweep() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("kinds.toml"), sweep_text("kinds", 2, KINDS)).unwrap();
    run(tmp.path(), &["sweep", "kinds.toml", "--progress", "plain"]).success().stderr_has(&summary(14, 14, 0, 0, 0));
    tmp
}

/// The run folder of a variant's seed-0 run.
fn run_of(sweep_dir: &Path, variant: &str) -> PathBuf {
    let runs = Csv::read(&sweep_dir.join("runs.csv"));
    let (v, s, id) = (runs.col("variant"), runs.col("seed"), runs.col("run_id"));
    let row = runs.rows.iter().find(|r| r[v] == variant && r[s] == "0").unwrap_or_else(|| panic!("no {variant} run"));
    sweep_dir.join("runs").join(&row[id])
}

#[test]
fn every_kind_trains_in_one_sweep_records_its_metrics_reproduces_and_is_compared_by_kind() {
    let tmp = kinds_sweep();
    let sweep_dir = tmp.path().join("results/kinds");

    // Each run's rows: its kind, its penalty, a VAE's bound and likelihood, a stacked run's phases.
    let metrics = Csv::read(&sweep_dir.join("metrics.csv"));
    for column in ["kind", "phase", "penalty", "test_kl", "test_neg_elbo", "test_nll", "nll_seconds"] {
        metrics.col(column);
    }
    let rows_of = |variant: &str| -> Vec<Vec<String>> {
        let id = run_of(&sweep_dir, variant).file_name().unwrap().to_string_lossy().to_string();
        Csv::read(&sweep_dir.join("runs").join(id).join("metrics.csv")).rows
    };
    let cell = |row: &[String], column: &str| row[metrics.col(column)].clone();
    for (variant, kind, penalised) in [
        ("plain", "plain", false),
        ("sparse", "sparse", true),
        ("sparse-kl", "sparse", true),
        ("contractive", "contractive", true),
        ("vae", "vae", true),
    ] {
        let rows = rows_of(variant);
        assert_eq!(rows.len(), 2, "{variant}");
        for r in &rows {
            assert_eq!(cell(r, "kind"), kind);
            assert_eq!(cell(r, "phase"), "", "{variant}: one phase");
            assert_eq!(!cell(r, "penalty").is_empty(), penalised, "{variant}");
            assert_eq!(!cell(r, "test_neg_elbo").is_empty(), kind == "vae", "{variant}");
        }
        let nll: Vec<bool> = rows.iter().map(|r| !cell(r, "test_nll").is_empty()).collect();
        assert_eq!(nll, [false, kind == "vae"], "{variant}: after the last epoch");
    }
    let stacked = rows_of("stacked");
    let phases: Vec<(String, String)> = stacked.iter().map(|r| (cell(r, "phase"), cell(r, "epoch"))).collect();
    let want = [
        ("pretrain-1", "1"),
        ("pretrain-1", "2"),
        ("pretrain-2", "1"),
        ("pretrain-2", "2"),
        ("finetune", "1"),
        ("finetune", "2"),
    ];
    assert_eq!(
        phases,
        want.map(|(p, e)| (p.to_string(), e.to_string())),
        "one hidden layer and the code, then fine-tuning"
    );
    // The run's final metrics are its fine-tuning's.
    let record = run_json(&sweep_dir, &run_of(&sweep_dir, "stacked").file_name().unwrap().to_string_lossy());
    assert_eq!(record["final_metrics"]["test_bce"].as_f64().unwrap().to_string(), cell(&stacked[5], "test_bce"));
    assert_eq!(record["final_metrics"]["best_epoch"], 2);
    // A VAE run draws from its prior; a 2-D one pictures its latent space.
    assert!(run_of(&sweep_dir, "vae").join("samples.png").is_file());
    assert!(!run_of(&sweep_dir, "vae").join("manifold.png").exists());
    assert!(run_of(&sweep_dir, "vae-2d").join("manifold.png").is_file());
    assert!(!run_of(&sweep_dir, "plain").join("samples.png").exists());

    // Bit for bit again, every metric of every epoch, pre-training rows included.
    run(tmp.path(), &["check", "results/kinds", "--all"]).success().stdout_has("14 runs reproduced (bit-exact");

    // The report groups by kind (sparse's two variants together) and ranks the VAEs by
    // likelihood; the other kinds have none.
    let out = run(tmp.path(), &["report", "results/kinds", "--group-by", "model.kind", "--format", "csv"]);
    let table = out.success().stdout.clone();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[1], "kind", "{table}");
    let kinds: Vec<&str> = lines.map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(kinds, ["contractive", "plain", "sparse", "stacked", "vae"], "{table}");
    let runs_col = header.iter().position(|h| *h == "runs").unwrap();
    let sparse_line = table.lines().find(|l| l.split(',').nth(1) == Some("sparse")).unwrap();
    assert_eq!(sparse_line.split(',').nth(runs_col), Some("4"), "two variants × two seeds: {table}");

    let out =
        run(tmp.path(), &["report", "results/kinds", "--group-by", "kind", "--metric", "test_nll", "--format", "csv"]);
    let table = out.success().stdout.clone();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let nll = header.iter().position(|h| *h == "test_nll_mean").unwrap_or_else(|| panic!("{table}"));
    for line in table.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let value: Option<f64> = cells[nll].parse().ok();
        assert_eq!(value.is_some(), cells[1] == "vae", "{line}");
        assert!(value.is_none_or(|v| v > 0.0), "{line}");
    }
}

fn png_size(path: &Path) -> (u32, u32) {
    let info = png::Decoder::new(std::fs::File::open(path).unwrap()).read_info().unwrap().info().clone();
    (info.width, info.height)
}

#[test]
fn sample_draws_from_a_vae_checkpoint_and_refuses_other_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let text = sweep_text(
        "vae",
        1,
        "[[variant]]\nname = \"plain\"\n[[variant]]\nname = \"vae\"\nmodel = { kind = \"vae\", nll_samples = 5 }\n\
         [[variant]]\nname = \"vae-2d\"\nmodel = { kind = \"vae\", latent_dim = 2, nll_samples = 5 }\n",
    );
    std::fs::write(tmp.path().join("vae.toml"), text).unwrap();
    run(tmp.path(), &["sweep", "vae.toml", "--progress", "none", "--no-baselines"]).success();
    let sweep_dir = tmp.path().join("results/vae");
    let ckpt = |variant: &str| run_of(&sweep_dir, variant).join("model.safetensors").to_string_lossy().to_string();

    // 10 draws: a grid of ⌈√10⌉ = 4 columns and 3 rows of 28·2-pixel images with 2-pixel gaps.
    run(tmp.path(), &["sample", &ckpt("vae"), "--count", "10", "--output", "s.png"])
        .success()
        .stdout_has("10 draws from the prior, seed 0");
    assert_eq!(png_size(&tmp.path().join("s.png")), (4 * 56 + 3 * 2, 3 * 56 + 2 * 2));
    // The seed chooses the draws; the same seed, the same picture.
    run(tmp.path(), &["sample", &ckpt("vae"), "--count", "10", "--output", "again.png"]).success();
    run(tmp.path(), &["sample", &ckpt("vae"), "--count", "10", "--seed", "7", "--output", "other.png"]).success();
    let bytes = |name: &str| std::fs::read(tmp.path().join(name)).unwrap();
    assert_eq!(bytes("s.png"), bytes("again.png"));
    assert_ne!(bytes("s.png"), bytes("other.png"));

    run(tmp.path(), &["sample", &ckpt("vae-2d"), "--count", "9", "--manifold", "--scale", "1", "--output", "m.png"])
        .success()
        .stdout_has("3 × 3 grid");
    assert_eq!(png_size(&tmp.path().join("m.png")), (3 * 28 + 2 * 2, 3 * 28 + 2 * 2));
    run(tmp.path(), &["sample", &ckpt("vae"), "--manifold", "--output", "m4.png"])
        .failure()
        .stderr_has("--manifold draws a 2-D latent space; this VAE's has 4 dimensions");
    run(tmp.path(), &["sample", &ckpt("plain"), "--output", "p.png"])
        .failure()
        .stderr_has("a `plain` auto-encoder's checkpoint; `runner sample` decodes draws from a VAE's prior");
    assert!(!tmp.path().join("p.png").exists() && !tmp.path().join("m4.png").exists());

    // `encode` writes a VAE's means: for a 2-D code, what latent.csv shows.
    run(tmp.path(), &["encode", &ckpt("vae-2d"), "--dataset", "synthetic", "--limit", "3", "--output", "codes.csv"])
        .success();
    let codes = Csv::read(&tmp.path().join("codes.csv"));
    let latent = Csv::read(&run_of(&sweep_dir, "vae-2d").join("latent.csv"));
    let first = |t: &Csv, from: &str| -> Vec<f32> {
        let at = t.col(from);
        t.rows[0][at..at + 2].iter().map(|v| v.parse().unwrap()).collect()
    };
    assert_eq!(first(&codes, "z0"), first(&latent, "x"));
}
