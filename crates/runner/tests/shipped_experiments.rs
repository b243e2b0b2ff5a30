//! Every sweep file shipped in `experiments/` is one a user can run: `runner sweep FILE --dry-run`
//! validates it against the fetched data and plans the run (or first-round trial) count the
//! README's table of shipped experiments gives. A new file must be added to the list.
//!
//! The files name the real datasets, so this needs `scripts/fetch-data.sh`'s `data/` (or
//! `$RUNNER_DATA_DIR`); without it the test says `SKIPPED` past the output capture, and with
//! `AE_REQUIRE_DATA=1` (as CI sets it) it fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use assert_cmd::Command;
use std::io::Write;
use std::path::PathBuf;

/// The shipped files and what their dry run plans (a search: its first round).
const SHIPPED: [(&str, &str); 8] = [
    ("smoke.toml", "6 runs (varying: variant, model.latent_dim)"),
    ("tutorial.toml", "2 runs (varying: train.seed)"),
    ("latent_sizes.toml", "42 runs (varying: variant, model.latent_dim, train.seed)"),
    ("dae_noise.toml", "20 runs (varying: noise.kind, noise.level, train.seed, 4 duplicate combinations collapsed)"),
    ("kinds.toml", "15 runs (varying: variant, train.seed)"),
    ("search.toml", "round 1 of 4: 6 trials"),
    ("search_random.toml", "round 1 of 4: 6 trials"),
    ("search_tiny.toml", "round 1 of 6: 8 trials"),
];

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_shipped_sweep_file_is_valid_and_plans_what_the_readme_says() {
    let root = workspace();
    let mut on_disk: Vec<String> = std::fs::read_dir(root.join("experiments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SHIPPED.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "experiments/*.toml and this list differ");

    let data = std::env::var_os("RUNNER_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("data"));
    let present = ["fashion-mnist", "mnist"].iter().all(|d| data.join(d).is_dir());
    if !present {
        if std::env::var_os("AE_REQUIRE_DATA").is_some_and(|v| v != "0") {
            panic!("AE_REQUIRE_DATA is set but {} lacks fashion-mnist or mnist", data.display());
        }
        let _ = writeln!(std::io::stderr(), "SKIPPED every_shipped_sweep_file…: no datasets under {}", data.display());
        return;
    }
    let results = tempfile::tempdir().unwrap();
    for (file, plans) in SHIPPED {
        let out = Command::cargo_bin("runner")
            .unwrap()
            .current_dir(&root)
            .env("RUNNER_DATA_DIR", &data)
            .args(["sweep", &format!("experiments/{file}"), "--dry-run", "--results-dir"])
            .arg(results.path())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{file}:\n{text}");
        assert!(text.lines().any(|l| l.starts_with(plans)), "{file} should plan `{plans}`:\n{text}");
    }
    assert!(std::fs::read_dir(results.path()).unwrap().next().is_none(), "a dry run writes nothing");
}
