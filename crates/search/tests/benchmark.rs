//! The benchmark-as-test: TPE must beat random search on known functions, with the same seeds and streams.
//!
//! Protocol (reference: Bergstra et al. 2011 compare best-so-far curves; here the summary is the median over 20
//! search seeds of the best value among 40 trials). TPE uses Optuna 4.x `TPESampler` defaults with
//! `n_startup_trials = 10`; since both methods draw trial t from the same stream, TPE's 10 startup trials are
//! exactly random search's first 10. Run with `cargo test --test benchmark -- --nocapture` to see the medians.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{best, median, run_search};
use search::{ChoiceValue, Distribution, Goal, Method, Space, TpeConfig, Value};

const SEEDS: u64 = 20;
const TRIALS: u64 = 40;
const STARTUP: u64 = 10;

struct Medians {
    random: f64,
    tpe_batch1: f64,
    tpe_batch4: f64,
}

fn medians(space: &Space, objective: impl Fn(&[Value]) -> Option<f64> + Copy) -> Medians {
    let tpe = Method::Tpe(TpeConfig::new(STARTUP, Goal::Minimize));
    let bests = |method: &Method, batch: u64| -> Vec<f64> {
        (0..SEEDS).map(|seed| best(&run_search(space, method, seed, TRIALS, batch, objective))).collect()
    };
    Medians {
        // Random search's proposals do not depend on the batch size (per-trial streams), so one run serves.
        random: median(&bests(&Method::Random, 1)),
        tpe_batch1: median(&bests(&tpe, 1)),
        tpe_batch4: median(&bests(&tpe, 4)),
    }
}

fn report(name: &str, m: &Medians) {
    println!(
        "{name}: median best-of-{TRIALS} over {SEEDS} seeds: random {:.6}, tpe batch 1 {:.6}, tpe batch 4 {:.6}",
        m.random, m.tpe_batch1, m.tpe_batch4
    );
}

/// f(lr, w) = (log10 lr + 3)² + (log10 w + 1.5)², lr ~ LogUniform[1e-5, 1e-1], w ~ LogUniform[1e-3, 1]; minimum
/// 0 at (1e-3, 10^-1.5).
#[test]
fn tpe_beats_random_on_a_log_space_bowl() {
    let space = Space::new(vec![
        ("lr".into(), Distribution::log_uniform(1e-5, 1e-1).unwrap()),
        ("w".into(), Distribution::log_uniform(1e-3, 1.0).unwrap()),
    ])
    .unwrap();
    let f = |v: &[Value]| match (v[0], v[1]) {
        (Value::Float(lr), Value::Float(w)) => Some((lr.log10() + 3.0).powi(2) + (w.log10() + 1.5).powi(2)),
        _ => None,
    };
    let m = medians(&space, f);
    report("bowl f(lr, w)", &m);
    assert!(m.tpe_batch1 < m.random, "batch 1: {} vs random {}", m.tpe_batch1, m.random);
    assert!(m.tpe_batch4 < m.random, "batch 4: {} vs random {}", m.tpe_batch4, m.random);
}

/// g(n, c) = (log2 n − 5)² + [c ≠ "b"]·2, n ~ Int[1, 256] log, c ∈ {a, b, c}; minimum 0 at (32, "b").
#[test]
fn tpe_beats_random_on_int_and_choice() {
    let space = Space::new(vec![
        ("n".into(), Distribution::int(1, 256, true).unwrap()),
        (
            "c".into(),
            Distribution::choice(["a", "b", "c"].iter().map(|s| ChoiceValue::Str(s.to_string())).collect()).unwrap(),
        ),
    ])
    .unwrap();
    let g = |v: &[Value]| match (v[0], v[1]) {
        (Value::Int(n), Value::Choice(c)) => Some(((n as f64).log2() - 5.0).powi(2) + if c == 1 { 0.0 } else { 2.0 }),
        _ => None,
    };
    let m = medians(&space, g);
    report("int+choice g(n, c)", &m);
    assert!(m.tpe_batch1 < m.random, "batch 1: {} vs random {}", m.tpe_batch1, m.random);
    assert!(m.tpe_batch4 < m.random, "batch 4: {} vs random {}", m.tpe_batch4, m.random);
}
