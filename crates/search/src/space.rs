//! The search space: parameter distributions, choice values, sampled values, and their validation.
//!
//! A [`Space`] can only be built from valid distributions, so the samplers never re-check bounds and have no error
//! paths of their own.

use std::fmt;

use crate::error::{SpaceError, ValueError};

/// The largest integer magnitude allowed in an `Int` range: every integer up to 2^53 is exact in f64, which is
/// where the samplers compute (kernel centres, bin edges).
pub const MAX_INT_BOUND: i64 = 1 << 53;

/// One entry of a `choice = [...]` list. The caller turns it back into a TOML value, so it keeps the TOML type.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for ChoiceValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChoiceValue::Str(s) => write!(f, "{s:?}"),
            ChoiceValue::Int(i) => write!(f, "{i}"),
            ChoiceValue::Float(x) => write!(f, "{x}"),
            ChoiceValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// The prior of one parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// A float uniform on `[low, high]`.
    Uniform { low: f64, high: f64 },
    /// A float whose logarithm is uniform on `[ln low, ln high]` (both bounds > 0).
    LogUniform { low: f64, high: f64 },
    /// An integer in `low..=high` (inclusive bounds); with `log`, uniform in log space (see
    /// [`random_proposal`](crate::random_proposal)). `low == high` is allowed: one value, like a one-entry choice.
    Int { low: i64, high: i64, log: bool },
    /// One of the listed values, sampled as its index.
    Choice(Vec<ChoiceValue>),
}

impl Distribution {
    /// A validated [`Distribution::Uniform`].
    pub fn uniform(low: f64, high: f64) -> Result<Self, SpaceError> {
        let d = Distribution::Uniform { low, high };
        d.validate()?;
        Ok(d)
    }

    /// A validated [`Distribution::LogUniform`].
    pub fn log_uniform(low: f64, high: f64) -> Result<Self, SpaceError> {
        let d = Distribution::LogUniform { low, high };
        d.validate()?;
        Ok(d)
    }

    /// A validated [`Distribution::Int`].
    pub fn int(low: i64, high: i64, log: bool) -> Result<Self, SpaceError> {
        let d = Distribution::Int { low, high, log };
        d.validate()?;
        Ok(d)
    }

    /// A validated [`Distribution::Choice`].
    pub fn choice(values: Vec<ChoiceValue>) -> Result<Self, SpaceError> {
        let d = Distribution::Choice(values);
        d.validate()?;
        Ok(d)
    }

    /// Checks the distribution's own invariants (not the key, which [`Space::new`] checks).
    pub fn validate(&self) -> Result<(), SpaceError> {
        match *self {
            Distribution::Uniform { low, high } => check_float_range(low, high),
            Distribution::LogUniform { low, high } => {
                check_float_range(low, high)?;
                // Checked after the generic checks so that e.g. low = -1, high = -2 reports the reversal first.
                if low <= 0.0 {
                    return Err(SpaceError::LogBoundNotPositive { low, high });
                }
                Ok(())
            }
            Distribution::Int { low, high, log } => {
                if low > high {
                    return Err(SpaceError::IntLowAboveHigh { low, high });
                }
                if low < -MAX_INT_BOUND || high > MAX_INT_BOUND {
                    return Err(SpaceError::IntBoundTooLarge { low, high });
                }
                // Log-scaled integers live on [low − 0.5, high + 0.5] in log space, which needs low − 0.5 > 0.
                if log && low < 1 {
                    return Err(SpaceError::IntLogLowBelowOne { low });
                }
                Ok(())
            }
            Distribution::Choice(ref values) => {
                if values.is_empty() {
                    return Err(SpaceError::EmptyChoice);
                }
                for (index, v) in values.iter().enumerate() {
                    if let ChoiceValue::Float(x) = *v {
                        if !x.is_finite() {
                            return Err(SpaceError::NonFiniteChoice { index, value: x });
                        }
                    }
                    if let Some(first) = values[..index].iter().position(|w| w == v) {
                        return Err(SpaceError::DuplicateChoice { index, first });
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether `value` is a possible draw of this distribution (right kind, finite, within bounds).
    pub fn check(&self, value: &Value) -> Result<(), ValueError> {
        match (self, *value) {
            (Distribution::Uniform { low, high } | Distribution::LogUniform { low, high }, Value::Float(x)) => {
                if !x.is_finite() {
                    Err(ValueError::NotFinite { value: x })
                } else if x < *low || x > *high {
                    Err(ValueError::FloatOutOfRange { value: x, low: *low, high: *high })
                } else {
                    Ok(())
                }
            }
            (Distribution::Int { low, high, .. }, Value::Int(i)) => {
                if i < *low || i > *high {
                    Err(ValueError::IntOutOfRange { value: i, low: *low, high: *high })
                } else {
                    Ok(())
                }
            }
            (Distribution::Choice(values), Value::Choice(index)) => {
                if index >= values.len() {
                    Err(ValueError::ChoiceOutOfRange { index, len: values.len() })
                } else {
                    Ok(())
                }
            }
            (d, v) => Err(ValueError::WrongKind { expected: d.value_kind(), got: v.kind() }),
        }
    }

    /// The [`Value`] variant this distribution produces, for messages.
    fn value_kind(&self) -> &'static str {
        match self {
            Distribution::Uniform { .. } | Distribution::LogUniform { .. } => "a float",
            Distribution::Int { .. } => "an integer",
            Distribution::Choice(_) => "a choice",
        }
    }
}

fn check_float_range(low: f64, high: f64) -> Result<(), SpaceError> {
    if !low.is_finite() || !high.is_finite() {
        return Err(SpaceError::NonFiniteBound { low, high });
    }
    if low >= high {
        return Err(SpaceError::LowNotBelowHigh { low, high });
    }
    if !(high - low).is_finite() {
        return Err(SpaceError::RangeTooWide { low, high });
    }
    Ok(())
}

/// A sampled value of one parameter: a float for `Uniform`/`LogUniform`, an integer for `Int`, and the index into
/// the choice list for `Choice`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Float(f64),
    Int(i64),
    Choice(usize),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Float(_) => "a float",
            Value::Int(_) => "an integer",
            Value::Choice(_) => "a choice",
        }
    }
}

/// The ordered parameters of a search, in file order. A proposal is a `Vec<Value>` in the same order.
///
/// The order is part of the determinism contract: draws are taken parameter by parameter from one stream, so
/// reordering the `[search.space]` table changes the proposals (as it would in any seeded sampler).
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    params: Vec<(String, Distribution)>,
}

impl Space {
    /// Validates every distribution and rejects an empty space or a repeated key.
    pub fn new(params: Vec<(String, Distribution)>) -> Result<Self, SpaceError> {
        if params.is_empty() {
            return Err(SpaceError::EmptySpace);
        }
        for (i, (key, dist)) in params.iter().enumerate() {
            if params[..i].iter().any(|(k, _)| k == key) {
                return Err(SpaceError::DuplicateKey { key: key.clone() });
            }
            dist.validate().map_err(|e| SpaceError::Param { key: key.clone(), cause: Box::new(e) })?;
        }
        Ok(Space { params })
    }

    /// The parameters in file order.
    pub fn params(&self) -> &[(String, Distribution)] {
        &self.params
    }

    /// The number of parameters (at least 1).
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Always false: [`Space::new`] rejects an empty space. Present for the `len`/`is_empty` convention.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }
}
