//! The caller's one entry point: the proposals of one round, for random search or TPE.

use rand::Rng;

use crate::error::SearchError;
use crate::history::{self, Trial};
use crate::random::random_proposal;
use crate::space::{Space, Value};
use crate::tpe::{TpeConfig, TpeModel};

/// The search method of a sweep's `[search]` section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Independent draws from the priors ([`random_proposal`]).
    Random,
    /// TPE after `startup` random trials.
    Tpe(TpeConfig),
}

/// The `batch` proposals of round `round`: those of global trial indices `t = round · batch + j`, j in
/// `0..batch`, in that order.
///
/// `history` holds the finished trials of rounds before `round`, in any order (it is sorted by trial index;
/// indices must be distinct and below `round · batch`, and values must fit `space`). Trials absent from it (lost
/// runs) are simply not seen. `make_rng(t)` must return the random stream of trial t, a pure function of the
/// search seed and t — the project's `rng_for(search_seed, purpose::SEARCH, t, 0)` — and is called once per
/// proposal, in order.
///
/// Proposal t is
/// - random ([`random_proposal`]) for `Method::Random`, and for TPE when `t < startup`;
/// - otherwise drawn from the TPE model fitted once to `history` (fitted only if some t needs it).
///
/// Several TPE proposals of one round share the model and differ only through their own streams: each draws
/// its own candidates from l(x). That keeps them apart without a "constant liar" (which would make proposal j
/// depend on proposals < j) and keeps each one a function of (history, t) alone. They are distinct with
/// probability 1 on continuous parameters; on a small discrete space two may coincide.
///
/// With `startup < batch`, TPE trials of round 0 see an empty history: l = g = the prior kernel, so they are
/// draws from a wide truncated normal centred on each range (on the log axis for log ranges), not uniform ones —
/// choose `startup ≥ batch`.
///
/// The result is a pure function of (space, method, round, batch, history as a set, the streams): no clock,
/// no hash-map order, no threads.
pub fn propose<R, F>(
    space: &Space,
    method: &Method,
    round: u64,
    batch: u64,
    history: &[Trial],
    mut make_rng: F,
) -> Result<Vec<Vec<Value>>, SearchError>
where
    R: Rng,
    F: FnMut(u64) -> R,
{
    if batch == 0 {
        return Err(SearchError::ZeroBatch);
    }
    let overflow = SearchError::TrialIndexOverflow { round, batch };
    let first = round.checked_mul(batch).ok_or(overflow.clone())?;
    first.checked_add(batch).ok_or(overflow)?;
    // Validated for random search too, though it reads nothing from it: a malformed history is a caller bug
    // that should surface the same way whatever the method.
    let sorted = history::canonical(space, history, round, first)?;

    match method {
        Method::Random => Ok((first..first + batch).map(|t| random_proposal(space, &mut make_rng(t))).collect()),
        Method::Tpe(config) => {
            config.validate()?;
            let model = (first + batch > config.startup).then(|| TpeModel::fit_sorted(space, config, &sorted));
            Ok((first..first + batch)
                .map(|t| {
                    let mut rng = make_rng(t);
                    match &model {
                        Some(m) if t >= config.startup => m.propose(&mut rng),
                        _ => random_proposal(space, &mut rng),
                    }
                })
                .collect())
        }
    }
}
