//! The pictures: every PNG written decodes, has the size asked for and is not blank; which
//! pictures a sweep gets; a sweep without completed runs gets none.

mod common;

use report::{load, plots, Metric, PlotOptions};

#[test]
fn every_png_decodes_at_the_expected_size() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let written = plots(&sweeps[0], &PlotOptions::new(Metric::TestBce), out.path()).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    // latent_dim is the only numeric key with several values; noise_level only goes with the
    // variant, so a picture against it would be lines of one point.
    assert_eq!(names, ["test_bce_per_epoch.png", "test_bce_vs_latent_dim.png"]);
    for path in &written {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (1024, 640), "{}", path.display());
        assert_eq!(info.color_type, png::ColorType::Rgb);
        let pixels = &buf[..info.buffer_size()];
        // Lines and text in colour, not just a white canvas.
        let coloured = pixels.chunks(3).filter(|p| !(p[0] == p[1] && p[1] == p[2])).count();
        assert!(coloured > 1000, "{}: {coloured} coloured pixels", path.display());
    }
}

#[test]
fn another_size_and_metric() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = PlotOptions { metric: Metric::TestPsnr, width: 640, height: 400 };
    let written = plots(&sweeps[0], &opts, &out.path().join("plots")).unwrap();
    assert_eq!(written.len(), 2);
    for path in &written {
        assert!(path.file_name().unwrap().to_string_lossy().starts_with("test_psnr_"));
        let info = png::Decoder::new(std::fs::File::open(path).unwrap()).read_info().unwrap().info().clone();
        assert_eq!((info.width, info.height), (640, 400));
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
