//! The crate's error types: what is wrong with a search space, a value, a setting or a history.
//!
//! Messages name the offending quantity and its value but never a file, line or TOML key path: the caller, which
//! parsed the sweep file, wraps these with that context.

use thiserror::Error;

/// What is wrong with a [`Distribution`](crate::Distribution) or a [`Space`](crate::Space).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpaceError {
    /// A float bound is NaN or infinite.
    #[error("bounds must be finite numbers, got low = {low:?}, high = {high:?}")]
    NonFiniteBound { low: f64, high: f64 },
    /// A float range is empty or reversed.
    #[error("low ({low:?}) must be less than high ({high:?})")]
    LowNotBelowHigh { low: f64, high: f64 },
    /// `high − low` overflows to infinity, which would make every kernel width infinite.
    #[error("the range from {low:?} to {high:?} is too wide: high − low overflows a 64-bit float")]
    RangeTooWide { low: f64, high: f64 },
    /// A log-scaled float range with a bound ≤ 0.
    #[error("a log-scaled range needs both bounds > 0, got low = {low:?}, high = {high:?}")]
    LogBoundNotPositive { low: f64, high: f64 },
    /// An integer range whose low exceeds its high (equal bounds are one value, which is allowed).
    #[error("integer low ({low:?}) must not exceed high ({high:?})")]
    IntLowAboveHigh { low: i64, high: i64 },
    /// A log-scaled integer range that reaches 0 or below.
    #[error("a log-scaled integer range needs low ≥ 1, got low = {low:?}")]
    IntLogLowBelowOne { low: i64 },
    /// An integer bound that a 64-bit float cannot hold exactly (the samplers work on f64).
    #[error("integer bounds must lie within ±2^53 = ±9007199254740992, got low = {low:?}, high = {high:?}")]
    IntBoundTooLarge { low: i64, high: i64 },
    /// A choice list with no entries.
    #[error("the choice list is empty")]
    EmptyChoice,
    /// A float choice that is NaN or infinite.
    #[error("choice {index} is not a finite number: {value:?}")]
    NonFiniteChoice { index: usize, value: f64 },
    /// The same choice listed twice (it would silently get twice the prior mass).
    #[error("choice {index} repeats choice {first}")]
    DuplicateChoice { index: usize, first: usize },
    /// A space with no parameters.
    #[error("the search space has no parameters")]
    EmptySpace,
    /// Two parameters with the same key.
    #[error("parameter {key:?} appears more than once")]
    DuplicateKey { key: String },
    /// One parameter's distribution is invalid.
    #[error("parameter {key:?}: {cause}")]
    Param { key: String, cause: Box<SpaceError> },
}

/// What is wrong with one sampled or reported [`Value`](crate::Value) for a given distribution.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValueError {
    /// E.g. an `Int` value for a `Uniform` parameter.
    #[error("expected {expected} value, got {got}")]
    WrongKind { expected: &'static str, got: &'static str },
    /// A float value that is NaN or infinite.
    #[error("value {value:?} is not finite")]
    NotFinite { value: f64 },
    /// A float value outside `[low, high]`.
    #[error("value {value:?} lies outside [{low:?}, {high:?}]")]
    FloatOutOfRange { value: f64, low: f64, high: f64 },
    /// An integer value outside `[low, high]`.
    #[error("value {value:?} lies outside [{low:?}, {high:?}]")]
    IntOutOfRange { value: i64, low: i64, high: i64 },
    /// A choice index past the end of the choice list.
    #[error("choice index {index} is out of range for {len} choices")]
    ChoiceOutOfRange { index: usize, len: usize },
}

/// Why [`propose`](crate::propose) (or [`TpeModel::fit`](crate::TpeModel::fit)) refused its inputs.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SearchError {
    /// `batch = 0`.
    #[error("batch must be at least 1")]
    ZeroBatch,
    /// `round · batch + batch` does not fit in a u64.
    #[error("round {round} with batch {batch} overflows the 64-bit trial index")]
    TrialIndexOverflow { round: u64, batch: u64 },
    /// A TPE setting out of its domain.
    #[error("tpe setting {name}: {reason}")]
    BadSetting { name: &'static str, reason: String },
    /// Two history entries with the same trial index.
    #[error("trial {trial} appears more than once in the history")]
    DuplicateTrial { trial: u64 },
    /// A history entry from the round being proposed or later: round k may only see rounds < k.
    #[error("trial {trial} is not from an earlier round: round {round} starts at trial {first}")]
    FutureTrial { trial: u64, round: u64, first: u64 },
    /// A history entry with the wrong number of parameter values.
    #[error("trial {trial} has {got} parameter values, the space has {want}")]
    HistoryArity { trial: u64, got: usize, want: usize },
    /// A history entry whose value does not fit its parameter's distribution.
    #[error("trial {trial}, parameter {key:?}: {cause}")]
    HistoryValue { trial: u64, key: String, cause: ValueError },
}
