//! `[search]` sections as a user writes them: a valid search and its trials' runs, and every bad
//! input refused with the file, the line and the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use spec::{parse, Noise, Optimizer};
use std::path::Path;

const FILE: &str = "experiments/search.toml";

const BASE: &str = r#"name = "s"
[data]
dataset = "synthetic"
[model]
architecture = "dense"
hidden = [16]
[train]
epochs = 9
[noise]
kind = "gaussian"
level = 0.1
[sweep]
"train.seed" = [0, 1]
"#;

const SEARCH: &str = r#"[search]
method = "tpe"
trials = 10
seed = 3
metric = "test_bce"
goal = "minimize"
batch = 4
startup = 4
[search.space]
"train.learning_rate" = { log_uniform = [1e-4, 1e-2] }
"model.latent_dim" = { int = [2, 128], log = true }
"noise.level" = { uniform = [0.05, 0.5] }
"train.optimizer" = { choice = ["adam", "sgd"] }
[search.prune]
min_epochs = 1
eta = 3
"#;

fn err(text: &str) -> String {
    match parse(Path::new(FILE), text, &[]) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The line of the first line of `text` holding `needle`, as `file:line:`.
fn at(text: &str, needle: &str) -> String {
    let line = text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    format!("{FILE}:{line}:")
}

#[test]
fn a_search_resolves_and_each_trial_is_replicated_over_the_remaining_axes() {
    let s = parse(Path::new(FILE), &format!("{BASE}{SEARCH}"), &[]).unwrap();
    assert!(s.runs.is_empty(), "a search's runs come trial by trial");
    let search = s.search.as_ref().unwrap();
    assert_eq!((search.spec.trials, search.spec.batch, search.spec.rounds()), (10, 4, 3));
    assert_eq!(search.spec.round_trials(2), 8..10, "the last round is shorter");
    assert_eq!(search.spec.prune.unwrap().rungs(9), [1, 3]);
    assert_eq!(
        s.varying_keys,
        ["train.learning_rate", "model.latent_dim", "noise.level", "train.optimizer", "train.seed"]
    );
    use search::Value as V;
    let runs = search.trial(5, &[V::Float(1e-3), V::Int(17), V::Float(0.25), V::Choice(1)]).unwrap();
    assert_eq!(runs.len(), 2, "one run per seed");
    for (seed, r) in runs.iter().enumerate() {
        assert_eq!(r.trial, Some(5));
        assert_eq!((r.config.train.learning_rate, r.config.model.latent_dim), (1e-3, 17));
        assert_eq!(r.config.noise, Noise::Gaussian { std: 0.25 });
        assert!(matches!(r.config.train.optimizer, Optimizer::Sgd { .. }));
        assert_eq!(r.config.train.seed, seed as u64);
    }
    assert_eq!(
        runs[1].label(),
        "default trial=5 learning_rate=1.0000e-3 latent_dim=17 noise_level=2.5000e-1 optimizer=sgd seed=1"
    );
}

#[test]
fn goals_default_to_the_metric_s_direction_and_random_search_takes_no_startup() {
    let text = format!("{BASE}[search]\nmethod = \"random\"\ntrials = 3\nmetric = \"probe_accuracy\"\n[search.space]\n\"train.learning_rate\" = {{ log_uniform = [1e-4, 1e-2] }}\n");
    let s = parse(Path::new(FILE), &text, &[]).unwrap();
    let spec = &s.search.unwrap().spec;
    assert_eq!(spec.goal, search::Goal::Maximize);
    assert_eq!(spec.batch, spec::search::DEFAULT_BATCH);
    let e = err(&text.replace("trials = 3\n", "trials = 3\nstartup = 2\n"));
    assert!(e.contains("search.startup") && e.contains("tpe"), "{e}");
}

#[test]
fn every_bad_search_input_names_the_file_line_and_key() {
    let full = format!("{BASE}{SEARCH}");
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (
            full.replace("{ log_uniform = [1e-4, 1e-2] }", "{ gaussian = [1e-4, 1e-2] }"),
            "train.learning_rate",
            vec!["unknown field `gaussian`", "log_uniform"],
        ),
        (full.replace("{ uniform = [0.05, 0.5] }", "{ uniform = [0.5, 0.05] }"), "noise.level", vec!["low", "high"]),
        (
            full.replace("{ log_uniform = [1e-4, 1e-2] }", "{ log_uniform = [0, 1e-2] }"),
            "train.learning_rate",
            vec!["bounds > 0"],
        ),
        (
            full.replace("{ int = [2, 128], log = true }", "{ int = [2.5, 128], log = true }"),
            "model.latent_dim",
            vec!["must be integers"],
        ),
        (full.replace("{ int = [2, 128], log = true }", "{ int = [128, 2] }"), "model.latent_dim", vec!["below high"]),
        (
            full.replace("\"train.optimizer\" = ", "\"train.optimiser\" = "),
            "train.optimiser",
            vec!["unknown field `optimiser`"],
        ),
        (full.replace("\"train.optimizer\" = ", "\"learning\" = "), "\"learning\" =", vec!["section.key"]),
        (
            full.replace("\"train.optimizer\" = ", "\"train.seed\" = "),
            "\"train.seed\" = { choice",
            vec!["a [sweep] axis"],
        ),
        (full.replace("trials = 10", "trials = 0"), "trials = 0", vec!["search.trials", "≥ 1"]),
        (full.replace("batch = 4", "batch = 0"), "batch = 0", vec!["search.batch", "≥ 1"]),
        (full.replace("eta = 3", "eta = 1"), "eta = 1", vec!["search.prune.eta", "≥ 2"]),
        (
            full.replace("min_epochs = 1", "min_epochs = 9"),
            "min_epochs = 9",
            vec!["search.prune.min_epochs", "train.epochs"],
        ),
        (
            full.replace("metric = \"test_bce\"", "metric = \"test_ssim\""),
            "metric = ",
            vec!["search.metric", "test_ssim", "probe_accuracy"],
        ),
        (
            full.replace("goal = \"minimize\"", "goal = \"lowest\""),
            "goal = ",
            vec!["search.goal", "minimize", "maximize"],
        ),
        (
            full.replace("{ choice = [\"adam\", \"sgd\"] }", "{ choice = [\"adam\", \"lion\"] }"),
            "train.optimizer",
            vec!["lion", "does not fit"],
        ),
    ];
    for (text, line_of, expect) in cases {
        let e = err(&text);
        assert!(e.contains(&at(&text, line_of)), "line of {line_of:?} in:\n{e}");
        for want in expect {
            assert!(e.contains(want), "{want:?} not in:\n{e}");
        }
    }
    // A variant's key, and a zip key, are not searched.
    let variant = format!("{BASE}{SEARCH}[[variant]]\nname = \"a\"\ntrain = {{ learning_rate = 1e-3 }}\n");
    let e = err(&variant);
    assert!(e.contains("train.learning_rate") && e.contains("a variant's key"), "{e}");
    let zip = format!("{}[[sweep.zip]]\n\"model.latent_dim\" = [4, 8]\n\"train.epochs\" = [3, 9]\n{SEARCH}", BASE);
    let e = err(&zip);
    assert!(e.contains("model.latent_dim") && e.contains("[sweep] axis or zip key"), "{e}");
    assert!(e.contains("search.prune") && e.contains("train.epochs"), "pruning needs one epoch count: {e}");
    // A searched noise level without a noise kind is caught on the space's corners.
    let no_kind = format!("{}{SEARCH}", BASE.replace("[noise]\nkind = \"gaussian\"\nlevel = 0.1\n", ""));
    let e = err(&no_kind);
    assert!(e.contains("noise.kind") && e.contains("required"), "{e}");
}
