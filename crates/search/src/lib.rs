//! `search`: the samplers of ae-sweep's hyperparameter search — seeded random search and univariate TPE — as
//! pure, deterministic functions.
//!
//! The caller parses a sweep's `[search]` section into a [`Space`] and a [`Method`], runs the search in rounds
//! of `batch` trials, and for round k calls [`propose`] with the finished trials of rounds < k. Trial
//! `t = k · batch + j` is the j-th proposal of round k.
//!
//! # Determinism
//! A proposal is a function of (space, method settings, round, batch, the history as a set of trials, and the
//! random stream of its own trial index) only:
//! - the history is sorted by trial index before use; every sort that follows has the trial index (or the
//!   candidate index) as its last key;
//! - each proposal takes its own stream `make_rng(t)`, so proposal j never depends on how many draws proposal
//!   j − 1 took, and a startup trial t is the same draw whatever the batch size;
//! - TPE takes a fixed number of draws per parameter, whatever the values;
//! - floating point uses IEEE-754 basic operations, summed in a fixed order, and the `libm` crate for
//!   exp/ln/erf (see `math.rs`: std's `f64::exp`/`ln` call the platform libm, which may differ in the last
//!   bit between libraries), so results are bit-identical on x86-64 and aarch64; acquisition ties go to the
//!   earliest candidate.
//!
//! # TPE, and why (reference: Optuna 4.x `TPESampler` defaults, univariate path as of 4.9)
//! - Univariate: each parameter has its own l(x)/g(x) and its own argmax (Optuna 4.x's `multivariate=False`;
//!   5.0 turns multivariate on). Simplest, and what the benchmark tests measure.
//! - γ(n) = min(⌈n/10⌉, 25), n = completed + pruned trials (Optuna's `default_gamma`): l(x) is built from few,
//!   really good trials, and never more than 25.
//! - Ranking: completed by loss; then pruned, deeper rung first, then loss at that rung (Optuna's
//!   `_split_pruned_trials`): a pruned trial reaches l(x) only if there are too few completed ones.
//! - Failed trials (and non-finite objectives) always go to g(x), never to l(x), and do not count in n: Optuna
//!   drops them; keeping them in g steers proposals away from regions that crash or diverge.
//! - Weights: Optuna's `default_weights` (the 25 newest trials weigh 1, older ones ramp down to 1/n), so the
//!   model follows where the search is now; prior weight 1.0.
//! - Kernels: truncated normals on [low, high] (log axis for log ranges). Bandwidth: neighbour distance (the
//!   larger gap to the adjacent centres, inner gap only at the two ends: `consider_endpoints = false`), clipped
//!   to [range / min(100, n + 2), range] (the "magic clip"); this is Optuna ≥ 4.9's rule, where the prior's
//!   centre no longer takes part in the neighbour search. Prior kernel: centre of the range, σ = the range.
//! - Integers: a continuous range [low − ½, high + ½] (log axis optional), sampled then rounded; an integer's
//!   density is the mass of its bin, so l/g are real probabilities (Optuna's discrete truncated (log-)normal).
//! - Choices: each trial's kernel puts 1 on its choice plus prior_weight / (n + 1) on every choice; the prior
//!   kernel is uniform (Optuna's categorical estimator).
//! - 24 candidates from l(x) per parameter; the largest log l − log g wins, ties to the earliest candidate.
//! - A round's TPE proposals share one model and differ by their streams — no constant liar, so each proposal
//!   depends only on (history, its trial index). The tests check these estimators against values printed by
//!   Optuna 5.0.0's `_ParzenEstimator` to 1e-12.
//!
//! # Random streams
//! The caller derives `make_rng(t) = rng_for(search_seed, purpose::SEARCH, t, 0)` (one new `purpose`
//! constant), i.e. one ChaCha8 stream per trial index. Any `R: Rng` works; ChaCha8 is what the project uses.

mod error;
mod history;
mod math;
mod parzen;
mod propose;
mod random;
mod space;
mod tpe;

pub use error::{SearchError, SpaceError, ValueError};
pub use history::{Goal, Outcome, Split, Trial};
pub use propose::{propose, Method};
pub use random::random_proposal;
pub use space::{ChoiceValue, Distribution, Space, Value, MAX_INT_BOUND};
pub use tpe::{gamma, TpeConfig, TpeModel};

/// The standard normal quantile Φ⁻¹(p) for p in (0, 1) (∓∞ at 0 and 1), to a few ulps and the same
/// on every platform: what the samplers use, also for the pictures of a VAE's latent space.
pub fn normal_quantile(p: f64) -> f64 {
    math::ndtri(p)
}
