//! What a reader of the tables relies on, checked against the fixture's own files: which runs are
//! averaged, how seeds and missing seeds show, what `--group-by`, `--best`, `--sort` and
//! `--metric` do, and that combined files, stale combined files and copies of a sweep from
//! several machines all give the numbers of the run folders; that the probe's accuracy is averaged
//! like the other metrics and each row gets the stored baselines of its data and latent size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use common::{copy_tree, fixture_results, fixture_sweep, record, write_record, DIVERGED, LONE_SEED};
use report::{load, render, table, Format, Source, SweepResults, SweepTable, TableOptions, TableRow, Value};
use std::path::Path;

fn fixture() -> SweepResults {
    let mut sweeps = load(&[fixture_results()]).unwrap();
    assert_eq!(sweeps.len(), 1);
    sweeps.remove(0)
}

fn options(metric: &str, group_by: &[&str], best: bool, sort: Option<&str>) -> TableOptions {
    let group_by: Vec<String> = group_by.iter().map(|s| s.to_string()).collect();
    TableOptions::new(Some(metric), &group_by, best, sort).unwrap()
}

fn row<'a>(t: &'a SweepTable, keys: &[Value]) -> &'a TableRow {
    t.rows.iter().find(|r| r.keys[..keys.len()] == *keys).unwrap()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn final_bce(run_id: &str) -> f64 {
    record(&fixture_sweep(), run_id)["final_metrics"]["test_bce"].as_f64().unwrap()
}

#[test]
fn the_fixture_is_read_from_its_run_folders_with_its_description() {
    let s = fixture();
    assert_eq!(s.name, "fixture");
    assert_eq!(s.description.as_deref(), Some("AE vs DAE across latent sizes (report test fixture)"));
    assert_eq!(s.sources.len(), 1);
    assert_eq!(s.sources[0].source, Source::RunFolders);
    assert_eq!((s.counts.runs, s.counts.completed, s.counts.diverged, s.counts.failed), (7, 6, 1, 0));
    assert_eq!(s.runs.height(), 7);
    // 6 completed runs × 3 epochs + 1 epoch of the diverged run.
    assert_eq!(s.metrics.height(), 19);
}

#[test]
fn varying_keys_are_the_config_columns_with_several_values() {
    assert_eq!(report::varying_keys(&fixture()).unwrap(), ["variant", "latent_dim", "noise_kind", "noise_level"]);
}

#[test]
fn seeds_are_averaged_with_the_sample_std() {
    let t = table(&fixture(), &TableOptions::default()).unwrap();
    assert_eq!(t.keys, ["variant", "latent_dim", "noise_kind", "noise_level"]);
    let r = row(&t, &[text("ae"), Value::Int(2)]);
    let (a, b) = (final_bce("60ac263ecf14"), final_bce("376bee75e62f"));
    let s = r.metrics[0];
    assert_eq!(s.n, 2);
    assert!((s.mean.unwrap() - (a + b) / 2.0).abs() < 1e-15);
    // n − 1 in the denominator: for two values, |a − b| / √2.
    assert!((s.std.unwrap() - (a - b).abs() / 2f64.sqrt()).abs() < 1e-15);
    assert_eq!((r.runs, r.completed, r.diverged, r.failed), (2, 2, 0, 0));
}

#[test]
fn a_diverged_run_is_counted_but_not_averaged() {
    let t = table(&fixture(), &TableOptions::default()).unwrap();
    let r = row(&t, &[text("dae"), Value::Int(32)]);
    assert_eq!((r.runs, r.completed, r.diverged), (2, 1, 1));
    // The diverged run has final metrics (of its first epoch) in run.json; they must not count.
    let completed = final_bce("0f46bffbc172");
    assert_ne!(final_bce(DIVERGED), completed);
    assert_eq!(r.metrics[0].mean, Some(completed));
    assert_eq!(r.metrics[0].std, None);
    assert_eq!(r.metrics[0].n, 1);
}

#[test]
fn a_missing_seed_shows_as_one_run_with_a_mean_only() {
    let t = table(&fixture(), &TableOptions::default()).unwrap();
    let r = row(&t, &[text("ae"), Value::Int(32)]);
    assert_eq!((r.runs, r.completed), (1, 1));
    assert_eq!(r.metrics[0].mean, Some(final_bce(LONE_SEED)));
    assert_eq!(r.metrics[0].std, None);
    let md = render(std::slice::from_ref(&t), Format::Markdown);
    let line = md.lines().find(|l| l.starts_with("| ae | 32 |")).unwrap();
    assert!(!line.contains('±'), "{line}");
    assert!(md.lines().any(|l| l.starts_with("| ae | 2 |") && l.contains('±')), "{md}");
}

#[test]
fn rows_are_sorted_by_the_keys_and_the_best_is_marked_once() {
    let t = table(&fixture(), &TableOptions::default()).unwrap();
    let keys: Vec<(Value, Value)> = t.rows.iter().map(|r| (r.keys[0].clone(), r.keys[1].clone())).collect();
    assert_eq!(
        keys,
        [
            (text("ae"), Value::Int(2)),
            (text("ae"), Value::Int(32)),
            (text("dae"), Value::Int(2)),
            (text("dae"), Value::Int(32))
        ]
    );
    let lowest = t.rows.iter().filter_map(|r| r.metrics[0].mean).fold(f64::INFINITY, f64::min);
    let marked: Vec<&TableRow> = t.rows.iter().filter(|r| r.best).collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].metrics[0].mean, Some(lowest));
}

#[test]
fn psnr_leads_and_the_highest_is_best() {
    let t = table(&fixture(), &options("test_psnr", &[], false, None)).unwrap();
    assert_eq!(
        t.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        ["test_psnr", "test_bce", "test_mse", "probe_accuracy"]
    );
    let highest = t.rows.iter().filter_map(|r| r.metrics[0].mean).fold(f64::NEG_INFINITY, f64::max);
    let best = t.rows.iter().find(|r| r.best).unwrap();
    assert_eq!(best.metrics[0].mean, Some(highest));
}

#[test]
fn group_by_a_key_aggregates_over_the_others() {
    let t = table(&fixture(), &options("test_bce", &["variant"], false, None)).unwrap();
    assert_eq!(t.keys, ["variant"]);
    let ae = row(&t, &[text("ae")]);
    let dae = row(&t, &[text("dae")]);
    assert_eq!((ae.runs, ae.completed, dae.runs, dae.completed, dae.diverged), (3, 3, 4, 3, 1));
    let expected = (final_bce("60ac263ecf14") + final_bce("376bee75e62f") + final_bce(LONE_SEED)) / 3.0;
    assert!((ae.metrics[0].mean.unwrap() - expected).abs() < 1e-15);
    assert!(
        t.notes.iter().any(|n| n == "aggregated over latent_dim, noise_kind, noise_level and seeds"),
        "{:?}",
        t.notes
    );
}

#[test]
fn best_picks_the_winning_configuration_per_group_and_names_it() {
    let full = table(&fixture(), &TableOptions::default()).unwrap();
    let t = table(&fixture(), &options("test_bce", &["model.latent_dim"], true, None)).unwrap();
    assert_eq!(t.keys, ["latent_dim", "variant", "noise_kind", "noise_level"]);
    assert_eq!(t.group_keys, 1);
    assert_eq!(t.rows.len(), 2);
    for r in &t.rows {
        // The winner is the row of the full table with the lowest mean at that latent size.
        let candidates = full.rows.iter().filter(|f| f.keys[1] == r.keys[0]);
        let winner =
            candidates.min_by(|a, b| a.metrics[0].mean.unwrap().total_cmp(&b.metrics[0].mean.unwrap())).unwrap();
        assert_eq!(r.keys[1], winner.keys[0], "winning variant at latent_dim {:?}", r.keys[0]);
        assert_eq!(r.metrics[0], winner.metrics[0]);
    }
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("per latent_dim") && n.contains("chosen over variant, noise_kind, noise_level")),
        "{:?}",
        t.notes
    );
    // Without group keys: the one best configuration.
    let t = table(&fixture(), &options("test_bce", &[], true, None)).unwrap();
    let marked = full.rows.iter().find(|r| r.best).unwrap();
    assert_eq!(t.rows.len(), 1);
    assert_eq!((&t.rows[0].keys, t.rows[0].metrics[0]), (&marked.keys, marked.metrics[0]));
    assert!(t.notes.iter().any(|n| n.starts_with("best configuration overall")), "{:?}", t.notes);
}

#[test]
fn sort_by_a_metric_puts_the_best_first_and_unknown_columns_are_refused() {
    let t = table(&fixture(), &options("test_bce", &[], false, Some("test_bce"))).unwrap();
    let means: Vec<f64> = t.rows.iter().map(|r| r.metrics[0].mean.unwrap()).collect();
    assert!(means.windows(2).all(|w| w[0] <= w[1]), "{means:?}");
    assert!(t.rows[0].best);
    let t = table(&fixture(), &options("test_bce", &[], false, Some("model.latent_dim"))).unwrap();
    assert_eq!(t.rows.iter().map(|r| r.keys[1].clone()).collect::<Vec<_>>()[..2], [Value::Int(2), Value::Int(2)]);
    let e = table(&fixture(), &options("test_bce", &[], false, Some("accuracy"))).unwrap_err().to_string();
    assert!(e.contains("sweep fixture") && e.contains("accuracy") && e.contains("allowed: variant, latent_dim"), "{e}");
}

#[test]
fn a_metric_no_run_has_leaves_the_table_unmarked_with_a_note() {
    let t = table(&fixture(), &options("noisy_test_bce", &["variant"], false, None)).unwrap();
    // Plain auto-encoders have no noisy metrics; the denoising ones do.
    assert_eq!(row(&t, &[text("ae")]).metrics[0].mean, None);
    assert!(row(&t, &[text("dae")]).metrics[0].mean.is_some());
    assert!(row(&t, &[text("dae")]).best);
}

#[test]
fn a_sweep_directory_given_directly_and_twice_is_read_once() {
    let sweeps = load(&[fixture_sweep(), fixture_results()]).unwrap();
    assert_eq!(sweeps.len(), 1);
    assert_eq!(sweeps[0].counts.runs, 7);
}

#[test]
fn missing_and_empty_directories_are_errors_naming_them() {
    let e = load(&[Path::new("no/such/results").to_path_buf()]).unwrap_err().to_string();
    assert!(e.contains("no/such/results") && e.contains("no such directory"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = load(&[dir.path().to_path_buf()]).unwrap_err().to_string();
    assert!(e.contains("no sweeps under") && e.contains("runs/"), "{e}");
    let e = report::select_sweep(load(&[fixture_results()]).unwrap(), "tiny").unwrap_err().to_string();
    assert!(e.contains("--sweep tiny") && e.contains("found: fixture"), "{e}");
}

#[test]
fn current_combined_files_are_scanned_and_give_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    let sweep_dir = dir.path().join("fixture");
    copy_tree(&fixture_sweep(), &sweep_dir);
    results::SweepDir { dir: sweep_dir.clone() }.rebuild().unwrap();
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(sweeps[0].sources[0].source, Source::Combined);
    let from_folders = table(&fixture(), &TableOptions::default()).unwrap();
    let from_parquet = table(&sweeps[0], &TableOptions::default()).unwrap();
    assert_eq!(from_parquet, from_folders);
}

#[test]
fn stale_combined_files_are_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let sweep_dir = dir.path().join("fixture");
    copy_tree(&fixture_sweep(), &sweep_dir);
    results::SweepDir { dir: sweep_dir.clone() }.rebuild().unwrap();
    // A run finishes differently after the combined files were written.
    let mut r = record(&sweep_dir, LONE_SEED);
    r["status"] = "failed".into();
    r["error"] = "out of memory".into();
    write_record(&sweep_dir, LONE_SEED, &r);
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    let run_json = sweep_dir.join("runs").join(LONE_SEED).join("run.json");
    std::fs::File::options().write(true).open(&run_json).unwrap().set_modified(later).unwrap();

    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(sweeps[0].sources[0].source, Source::RunFolders);
    assert_eq!(sweeps[0].counts.failed, 1);
    let t = table(&sweeps[0], &TableOptions::default()).unwrap();
    let r = row(&t, &[text("ae"), Value::Int(32)]);
    assert_eq!((r.completed, r.failed, r.metrics[0].mean), (0, 1, None));
}

#[test]
fn copies_of_a_sweep_are_merged_preferring_completed_then_newest() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("machine-a/fixture");
    let b = dir.path().join("machine-b/fixture");
    copy_tree(&fixture_sweep(), &a);
    copy_tree(&fixture_sweep(), &b);
    // Machine a was killed while it reran one run; machine b finished it.
    let mut running = record(&a, LONE_SEED);
    running["status"] = "running".into();
    running["finished_at"] = serde_json::Value::Null;
    running["final_metrics"] = serde_json::Value::Null;
    write_record(&a, LONE_SEED, &running);
    // Both finished another run; b's copy is newer and differs.
    let other = "60ac263ecf14";
    let mut newer = record(&b, other);
    newer["finished_at"] = "2099-01-01T00:00:00Z".into();
    newer["final_metrics"]["test_bce"] = 0.5.into();
    write_record(&b, other, &newer);

    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(sweeps.len(), 1);
    let s = &sweeps[0];
    assert_eq!(s.sources.len(), 2);
    assert_eq!((s.counts.runs, s.counts.completed, s.counts.running), (7, 6, 0));
    // Each kept run's epochs once: no duplicated rows from the second copy.
    assert_eq!(s.metrics.height(), 19);
    let t = table(s, &TableOptions::default()).unwrap();
    let lone = row(&t, &[text("ae"), Value::Int(32)]);
    assert_eq!(lone.metrics[0].mean, Some(final_bce(LONE_SEED)));
    let pair = row(&t, &[text("ae"), Value::Int(2)]);
    assert!((pair.metrics[0].mean.unwrap() - (0.5 + final_bce("376bee75e62f")) / 2.0).abs() < 1e-15);
}

#[test]
fn group_keys_and_metrics_are_checked_before_reading() {
    let e = TableOptions::new(Some("test_ssim"), &[], false, None).unwrap_err().to_string();
    assert!(e.contains("--metric test_ssim") && e.contains("allowed: test_bce"), "{e}");
    let e = TableOptions::new(Some("test_bce"), &["model.size".to_string()], false, None).unwrap_err().to_string();
    assert!(e.contains("--group-by model.size") && e.contains("latent_dim"), "{e}");
    let o = TableOptions::new(
        Some("test_bce"),
        &["noise.kind".into(), "noise_kind".into(), "train.seed".into()],
        false,
        None,
    )
    .unwrap();
    assert_eq!(o.group_by, ["noise_kind", "seed"]);
}

#[test]
fn best_epoch_is_where_the_seed_mean_curve_is_best() {
    let dir = tempfile::tempdir().unwrap();
    let sweep_dir = dir.path().join("fixture");
    copy_tree(&fixture_sweep(), &sweep_dir);
    // dae latent_dim=32 has one completed run (0f46bffbc172): make its last epoch worse than the
    // second, as when a model starts to overfit.
    let csv = sweep_dir.join("runs/0f46bffbc172/metrics.csv");
    let written = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = written.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let bce = header.iter().position(|h| *h == "test_bce").unwrap();
    let psnr = header.iter().position(|h| *h == "test_psnr").unwrap();
    let mut last: Vec<String> = lines[3].split(',').map(str::to_string).collect();
    assert_eq!(last[header.iter().position(|h| *h == "epoch").unwrap()], "3");
    last[bce] = "0.9".to_string();
    last[psnr] = "1.0".to_string();
    lines[3] = last.join(",");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();

    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    let t = table(&sweeps[0], &TableOptions::default()).unwrap();
    assert_eq!(row(&t, &[text("dae"), Value::Int(32)]).best_epoch, Some(2));
    assert_eq!(row(&t, &[text("dae"), Value::Int(2)]).best_epoch, Some(3));
    // PSNR is best where it is highest.
    let t = table(&sweeps[0], &options("test_psnr", &[], false, None)).unwrap();
    assert_eq!(row(&t, &[text("dae"), Value::Int(32)]).best_epoch, Some(2));
}

fn final_probe(run_id: &str) -> f64 {
    record(&fixture_sweep(), run_id)["final_metrics"]["probe_accuracy"].as_f64().unwrap()
}

/// The accuracy in the fixture's stored baseline whose file name ends in `suffix`.
fn stored_baseline(dir: &Path, suffix: &str) -> (std::path::PathBuf, serde_json::Value) {
    let entry = std::fs::read_dir(dir.join("baselines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap();
    let value = serde_json::from_str(&std::fs::read_to_string(&entry).unwrap()).unwrap();
    (entry, value)
}

#[test]
fn the_probe_accuracy_is_averaged_over_seeds_and_higher_is_best() {
    let t = table(&fixture(), &options("probe_accuracy", &[], false, None)).unwrap();
    assert_eq!(t.metrics[0].name(), "probe_accuracy");
    let ae2 = row(&t, &[text("ae"), Value::Int(2)]);
    let expected = (final_probe("60ac263ecf14") + final_probe("376bee75e62f")) / 2.0;
    assert!((ae2.metrics[0].mean.unwrap() - expected).abs() < 1e-15);
    assert_eq!(ae2.metrics[0].n, 2);
    // The diverged run never reached its probe: the row has its one completed seed.
    assert_eq!(row(&t, &[text("dae"), Value::Int(32)]).metrics[0].n, 1);
    let highest = t.rows.iter().filter_map(|r| r.metrics[0].mean).fold(f64::NEG_INFINITY, f64::max);
    assert!(t.rows.iter().all(|r| r.best == (r.metrics[0].mean == Some(highest))));
}

#[test]
fn rows_get_the_pca_baseline_of_their_latent_size_and_the_pixel_baseline_of_their_data() {
    let pca = |k: usize| stored_baseline(&fixture_sweep(), &format!("-pca{k}.json")).1["accuracy"].as_f64();
    let pixels = stored_baseline(&fixture_sweep(), "-pixels.json").1["accuracy"].as_f64();
    let t = table(&fixture(), &TableOptions::default()).unwrap();
    for variant in ["ae", "dae"] {
        for k in [2, 32] {
            let r = row(&t, &[text(variant), Value::Int(k)]);
            assert_eq!(r.pca_probe_accuracy, pca(k as usize), "{variant} {k}");
            assert_eq!(r.pixels_probe_accuracy, pixels, "{variant} {k}");
        }
    }
    assert!(
        t.notes
            .iter()
            .any(|n| n
                .starts_with("baseline: the probe on the 784 raw pixels of synthetic (100 train / 20 test images)")),
        "{:?}",
        t.notes
    );
    // Rows that mix latent sizes have no PCA baseline, but still one dataset.
    let t = table(&fixture(), &options("test_bce", &["variant"], false, None)).unwrap();
    assert!(t.rows.iter().all(|r| r.pca_probe_accuracy.is_none() && r.pixels_probe_accuracy == pixels));
    assert!(!t.notes.iter().any(|n| n.starts_with("pca_probe_accuracy")), "{:?}", t.notes);
    // Sorting by the baseline column: highest first.
    let t = table(&fixture(), &options("test_bce", &[], false, Some("pca_probe_accuracy"))).unwrap();
    let column: Vec<Option<f64>> = t.rows.iter().map(|r| r.pca_probe_accuracy).collect();
    assert_eq!(column, [pca(2), pca(2), pca(32), pca(32)]);
}

#[test]
fn without_stored_baselines_the_columns_are_empty_and_the_terminal_table_leaves_them_out() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture_sweep(), &dir.path().join("fixture"));
    std::fs::remove_dir_all(dir.path().join("fixture/baselines")).unwrap();
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    let t = table(&sweeps[0], &TableOptions::default()).unwrap();
    assert!(t.rows.iter().all(|r| r.pca_probe_accuracy.is_none() && r.pixels_probe_accuracy.is_none()));
    assert!(!t.notes.iter().any(|n| n.contains("baseline")), "{:?}", t.notes);
    let text = render(std::slice::from_ref(&t), Format::Table);
    assert!(text.contains("probe_accuracy") && !text.contains("pca_probe_accuracy"), "{text}");
    assert!(render(&[t], Format::Csv).lines().next().unwrap().contains("pca_probe_accuracy,pixels_probe_accuracy"));
}

#[test]
fn copies_of_a_baseline_give_the_newest() {
    // Two machines' copies of the sweep, one with an older PCA-32 baseline of another value.
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture_sweep(), &dir.path().join("a/fixture"));
    copy_tree(&fixture_sweep(), &dir.path().join("b/fixture"));
    let (path, mut old) = stored_baseline(&dir.path().join("b/fixture"), "-pca32.json");
    let current = old["accuracy"].as_f64();
    old["accuracy"] = serde_json::json!(0.123);
    old["created_at"] = serde_json::json!("2000-01-01T00:00:00Z");
    std::fs::write(&path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    for order in [["a", "b"], ["b", "a"]] {
        let sweeps = load(order.map(|d| dir.path().join(d)).as_ref()).unwrap();
        let t = table(&sweeps[0], &TableOptions::default()).unwrap();
        assert_eq!(row(&t, &[text("ae"), Value::Int(32)]).pca_probe_accuracy, current, "{order:?}");
    }
    // A baseline file that cannot be read is an error naming it.
    std::fs::write(&path, "{").unwrap();
    let e = load(&[dir.path().join("b")]).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
}

#[test]
fn a_search_is_a_ranking_of_its_trials_with_the_best_and_what_pruning_saved() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::search_fixture(dir.path());
    let t = table(&s, &TableOptions::default()).unwrap();
    assert!(t.ranked_trials);
    assert_eq!(t.keys[0], "trial", "one row per trial: {:?}", t.keys);
    assert_eq!(t.rows.len(), 7);
    // Completed trials first, best test_bce first; the pruned trial last, with where it stopped.
    let means: Vec<f64> = t.rows[..6].iter().map(|r| r.metrics[0].mean.unwrap()).collect();
    assert!(means.windows(2).all(|w| w[0] <= w[1]), "{means:?}");
    assert!(t.rows[0].best);
    let last = &t.rows[6];
    assert_eq!((last.pruned, last.completed, last.epochs_trained, last.metrics[0].mean), (1, 0, Some(1), None));
    assert!(t.rows[..6].iter().all(|r| r.pruned == 0 && r.epochs_trained == Some(3)));
    let notes = t.notes.join("\n");
    assert!(
        notes.contains(
            "tpe search to minimise test_bce over model.latent_dim, noise.level, variant, train.warmup: 7 trials, \
             6 completed, 1 pruned, 0 failed"
        ),
        "{notes}"
    );
    let best = &t.rows[0];
    assert!(notes.contains(&format!("best: trial {}", best.keys[0].text("-"))), "{notes}");
    assert!(notes.contains(&format!("test_bce {:.4} over 1 seed", best.metrics[0].mean.unwrap())), "{notes}");
    // 6 runs trained their 3 epochs, the pruned one 1 of its 3.
    assert!(notes.contains("successive halving: 19 epochs trained of the 21"), "{notes}");
    // The terminal table shows the pruned count and the epochs trained; CSV has them too.
    let rendered = render(std::slice::from_ref(&t), Format::Table);
    let header = rendered.lines().nth(1).unwrap();
    assert!(header.starts_with("trial") && header.contains("pruned  epochs_trained"), "{header}");
    assert!(render(std::slice::from_ref(&t), Format::Csv).starts_with("sweep,trial,"));
    // Asking for another view gives the grid's table: trials are then aggregated like seeds.
    let by_variant = table(&s, &options("test_bce", &["variant"], false, None)).unwrap();
    assert!(!by_variant.ranked_trials);
    assert_eq!(by_variant.keys, ["variant"]);
    assert_eq!(row(&by_variant, &[text("dae")]).pruned, 1);
}

#[test]
fn a_grid_table_shows_a_pruned_column_only_when_something_was_pruned() {
    let t = table(&fixture(), &TableOptions::default()).unwrap();
    assert!(!t.ranked_trials);
    let rendered = render(std::slice::from_ref(&t), Format::Table);
    assert!(!rendered.contains("pruned") && !rendered.contains("epochs_trained"), "{rendered}");
}

#[test]
fn a_search_over_variants_has_one_row_per_trial_led_by_its_own_metric_and_a_trial_with_a_failed_run_is_not_best() {
    // The fixture as a search of the latent size alone, optimising test_mse, each trial trained
    // for both variants and both seeds: trial 0 is latent 2 (4 completed runs), trial 1 latent 32
    // (3 runs: one completed ae, one completed and one diverged dae).
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("fixture");
    copy_tree(&fixture_sweep(), &sweep);
    let search = r#"{"method": "tpe", "metric": "test_mse", "goal": "minimize",
                     "space": [{"key": "model.latent_dim", "log": true}]}"#;
    std::fs::write(sweep.join(report::search_file::SEARCH_FILE), search).unwrap();
    let mut s = load(&[dir.path().to_path_buf()]).unwrap().remove(0);
    let latent = s.runs.column("latent_dim").unwrap().u64().unwrap().clone();
    let trial: Vec<Option<u64>> = latent.iter().map(|l| l.map(|l| u64::from(l != 2))).collect();
    s.runs.with_column(polars::prelude::Column::new("trial".into(), trial)).unwrap();

    let t = table(&s, &TableOptions::default()).unwrap();
    assert!(t.ranked_trials);
    assert_eq!(t.keys, ["trial", "latent_dim"], "the variants are aggregated within a trial, as the search does");
    assert_eq!(t.metric.name(), "test_mse", "led by the search's metric");
    assert_eq!(t.rows.len(), 2);
    let (first, second) = (&t.rows[0], &t.rows[1]);
    assert_eq!((first.keys[0].clone(), first.runs, first.completed), (Value::Int(0), 4, 4));
    assert_eq!((second.keys[0].clone(), second.runs, second.completed, second.diverged), (Value::Int(1), 3, 2, 1));
    assert!(first.best && !second.best, "a trial with a diverged run has no value for the search");
    // Asked for, another metric leads.
    let by_bce = table(&s, &options("test_bce", &[], false, None)).unwrap();
    assert_eq!(by_bce.metric.name(), "test_bce");
}
