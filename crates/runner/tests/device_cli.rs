//! The device from the command line (`train.device`, `--device`), as a user relies on it on a
//! machine without a GPU: a CUDA run asked of a runner built without CUDA, or a kind CUDA does not
//! train, is refused before anything is written, with an error that names the key (and the build
//! command); a CUDA run has an id of its own and a CPU run keeps its id; run.json records the
//! device; `runner check --device` retrains recorded runs through the CUDA path's ops on the CPU
//! (`generic-cpu`) within the device tolerance; the model tools run there too.
//!
//! Every sweep here trains a tiny dense model on synthetic data (well under a second a run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use common::*;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn cuda_on_a_build_without_it_is_refused_naming_the_key_and_the_build_command_and_nothing_is_written() {
    if nn::cuda_compiled() {
        return; // a CUDA build: the GPU machine's own checks (scripts/gpu-check.sh) cover it
    }
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "sweep.toml", &sweep_text("dev", 1, ""));
    let build = "cargo build --release -p runner --features cuda";
    run(tmp.path(), &["sweep", "sweep.toml", "--device", "cuda"])
        .failure()
        .stderr_has("`train.device = \"cuda\"`: this runner was built without CUDA support")
        .stderr_has(build);
    write(tmp.path(), "in-file.toml", &sweep_text("dev", 1, "device = \"cuda\""));
    run(tmp.path(), &["sweep", "in-file.toml"]).failure().stderr_has(build);
    assert!(!tmp.path().join("results").exists(), "nothing written");
    run(tmp.path(), &["bench", "--device", "cuda", "--steps", "1"])
        .failure()
        .stderr_has("--device cuda: ")
        .stderr_has(build);
    // A dry run only plans: it names the runs (and their ids) without a GPU.
    run(tmp.path(), &["sweep", "sweep.toml", "--device", "cuda", "--dry-run"]).success().stdout_has("1 runs");
}

#[test]
fn a_kind_cuda_does_not_train_is_refused_at_validation() {
    let tmp = tempfile::tempdir().unwrap();
    let text = sweep_text("dev", 1, "[[variant]]\nname = \"vae\"\nmodel = { kind = \"vae\" }\n");
    write(tmp.path(), "sweep.toml", &text);
    run(tmp.path(), &["sweep", "sweep.toml", "--device", "cuda", "--dry-run"]).failure().stderr_has(
        "`model.kind` = \"vae\" trains on the CPU only; `train.device = \"cuda\"` supports plain and denoising",
    );
}

#[test]
fn a_cuda_run_has_an_id_of_its_own_and_a_cpu_run_keeps_its_id() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "sweep.toml", &sweep_text("dev", 1, "[noise]\nkind = \"masking\"\nlevel = 0.3\n"));
    let cpu = planned_ids(tmp.path(), "sweep.toml", &[]);
    assert_eq!(planned_ids(tmp.path(), "sweep.toml", &["--device", "cpu"]), cpu);
    assert_eq!(planned_ids(tmp.path(), "sweep.toml", &["--set", "train.device=cpu"]), cpu);
    let cuda = planned_ids(tmp.path(), "sweep.toml", &["--device", "cuda"]);
    assert_eq!(cuda.len(), cpu.len());
    assert_ne!(cuda, cpu);
}

#[test]
fn run_json_records_the_device_and_check_retrains_on_another_within_the_device_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "sweep.toml", &sweep_text("dev", 2, "[sweep]\n\"train.seed\" = [0, 1]\n"));
    run(tmp.path(), &["sweep", "sweep.toml", "--progress", "none"]).success();
    let sweep_dir = tmp.path().join("results/dev");
    let ids = run_dirs(&sweep_dir);
    let provenance = &run_json(&sweep_dir, &ids[0])["provenance"];
    assert_eq!(provenance["device"], "cpu");
    assert!(provenance.get("gpu").is_none(), "{provenance}");

    // The CUDA path's ops, on the CPU: the same runs within 1e-3, not bit for bit.
    run(tmp.path(), &["check", "results/dev", "--all", "--device", "generic-cpu"])
        .success()
        .stdout_has("2 runs reproduced (within 1e-3, every metric of every epoch)")
        .stderr_has("recorded on cpu, retrained on generic-cpu; within 1e-3");
    run(tmp.path(), &["check", "results/dev", "--all"]).success().stdout_has("2 runs reproduced (bit-exact");
    if !nn::cuda_compiled() {
        run(tmp.path(), &["check", "results/dev", "--device", "cuda"])
            .failure()
            .stderr_has("--device cuda: this runner was built without CUDA support");
    }

    // The model tools load a checkpoint onto a device: the same codes to rounding.
    let ckpt = sweep_dir.join("runs").join(&ids[0]).join("model.safetensors");
    let ckpt = ckpt.to_str().unwrap();
    for (device, out) in [("cpu", "cpu.csv"), ("generic-cpu", "generic.csv")] {
        let args = ["encode", ckpt, "--dataset", "synthetic", "--limit", "5", "--output", out, "--device", device];
        run(tmp.path(), &args).success();
    }
    let (a, b) = (Csv::read(&tmp.path().join("cpu.csv")), Csv::read(&tmp.path().join("generic.csv")));
    assert_eq!(a.headers, b.headers);
    for (ra, rb) in a.rows.iter().zip(&b.rows) {
        for (x, y) in ra.iter().zip(rb) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() <= 1e-4 * (1.0 + x.abs()), "{ra:?} vs {rb:?}");
        }
    }
}
