//! The pictures: every PNG written decodes, has the size asked for and is not blank; which
//! pictures a sweep gets; a sweep without completed runs gets none; the probe picture carries the
//! stored baselines; each completed run gets its latent-space picture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use report::{latent_plots, load, plots, Metric, PlotOptions};
use std::path::Path;

/// The RGB pixels of a PNG, after checking its size.
fn pixels(path: &Path, width: u32, height: u32) -> Vec<u8> {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (width, height), "{}", path.display());
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    buf
}

fn coloured(pixels: &[u8]) -> usize {
    pixels.chunks(3).filter(|p| !(p[0] == p[1] && p[1] == p[2])).count()
}

#[test]
fn every_png_decodes_at_the_expected_size() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let written = plots(&sweeps[0], &PlotOptions::new(Metric::TestBce), out.path()).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    // latent_dim is the only numeric key with several values; noise_level only goes with the
    // variant, so a picture against it would be lines of one point. The probe's picture comes
    // whatever the metric.
    assert_eq!(names, ["test_bce_per_epoch.png", "test_bce_vs_latent_dim.png", "probe_accuracy_vs_latent_dim.png"]);
    for path in &written {
        // Lines and text in colour, not just a white canvas.
        let coloured = coloured(&pixels(path, 1024, 640));
        assert!(coloured > 1000, "{}: {coloured} coloured pixels", path.display());
    }
}

#[test]
fn the_probe_picture_draws_the_stored_baselines() {
    // The baselines are dark grey (60, 60, 60), which the lines of runs never are.
    let grey = |path: &Path| pixels(path, 1024, 640).chunks(3).filter(|p| p == &[60, 60, 60]).count();
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture_sweep(), &dir.path().join("with/fixture"));
    common::copy_tree(&common::fixture_sweep(), &dir.path().join("without/fixture"));
    std::fs::remove_dir_all(dir.path().join("without/fixture/baselines")).unwrap();
    let mut counts = Vec::new();
    for side in ["with", "without"] {
        let sweeps = load(&[dir.path().join(side)]).unwrap();
        let out = dir.path().join(side).join("plots");
        let written = plots(&sweeps[0], &PlotOptions::new(Metric::ProbeAccuracy), &out).unwrap();
        let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
        assert_eq!(names, ["probe_accuracy_per_epoch.png", "probe_accuracy_vs_latent_dim.png"], "{side}");
        counts.push(grey(&written[1]));
    }
    // Text edges can hit that grey too, a few pixels.
    assert!(counts[0] > counts[1] + 500, "baseline-grey pixels with and without baselines: {counts:?}");
}

#[test]
fn every_completed_run_gets_its_latent_picture_beside_its_codes() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture_sweep(), &dir.path().join("fixture"));
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    let written = latent_plots(&sweeps[0], 800, 500).unwrap();
    // Six completed runs; the diverged one has no codes.
    assert_eq!(written.len(), 6);
    for path in &written {
        assert_eq!(path.file_name().unwrap(), "latent.png");
        assert!(path.with_file_name("latent.csv").is_file());
        let coloured = coloured(&pixels(path, 800, 500));
        assert!(coloured > 500, "{}: {coloured} coloured pixels", path.display());
    }
    assert!(!dir.path().join("fixture/runs").join(common::DIVERGED).join("latent.png").exists());
    // A broken latent.csv is an error naming it.
    let victim = written[0].with_file_name("latent.csv");
    std::fs::write(&victim, "label,x,y\n1,2\n").unwrap();
    let e = latent_plots(&sweeps[0], 800, 500).unwrap_err().to_string();
    assert!(e.contains(&format!("{}:2:", victim.display())), "{e}");
}

#[test]
fn another_size_and_metric() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = PlotOptions { metric: Metric::TestPsnr, width: 640, height: 400 };
    let written = plots(&sweeps[0], &opts, &out.path().join("plots")).unwrap();
    assert_eq!(written.len(), 3);
    for path in &written[..2] {
        assert!(path.file_name().unwrap().to_string_lossy().starts_with("test_psnr_"));
    }
    for path in &written {
        pixels(path, 640, 400);
    }
}

#[test]
fn a_sweep_without_completed_runs_gets_no_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("broken/runs");
    common::copy_tree(&common::fixture_sweep().join("runs").join(common::DIVERGED), &runs.join(common::DIVERGED));
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    let out = dir.path().join("plots");
    assert!(plots(&sweeps[0], &PlotOptions::new(Metric::TestBce), &out).unwrap().is_empty());
    assert!(!out.exists());
}

#[test]
fn a_search_plots_each_numeric_searched_key_and_every_trials_curve() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::search_fixture(dir.path());
    let out = dir.path().join("plots");
    let written = plots(&s, &PlotOptions::new(Metric::TestBce), &out).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    // model.latent_dim is searched (on a log axis); noise.level has one value among the
    // completed trials and `variant` is a choice: neither gets a chart of its own.
    assert_eq!(
        names,
        [
            "test_bce_per_epoch.png",
            "test_bce_vs_latent_dim.png",
            "test_bce_best_so_far_vs_trial.png",
            "search_parallel_coordinates.png"
        ]
    );
}
