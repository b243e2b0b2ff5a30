//! The value types of sweep-file keys: each range-checks itself while it is read, so that TOML's
//! own error (with line and column) names a value out of range.

use serde::{de, Deserialize, Deserializer};

/// A count that must be at least 1 (sizes, epochs, limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtLeastOne(pub usize);

impl<'de> Deserialize<'de> for AtLeastOne {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = AtLeastOne;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer ≥ 1")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AtLeastOne, E> {
                match usize::try_from(v) {
                    Ok(n) if n >= 1 => Ok(AtLeastOne(n)),
                    _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AtLeastOne, E> {
                match usize::try_from(v) {
                    Ok(n) if n >= 1 => Ok(AtLeastOne(n)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A count that may be 0 (`train.probe_every`, where 0 means "never in between").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer ≥ 0")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                usize::try_from(v).map(Count).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                usize::try_from(v).map(Count).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A finite number greater than zero (learning rates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Positive(pub f64);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = number(d)?;
        if !(v.is_finite() && v > 0.0) {
            return Err(de::Error::invalid_value(de::Unexpected::Float(v), &"a finite number > 0"));
        }
        Ok(Positive(v))
    }
}

/// SGD momentum: in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Momentum(pub f64);

impl<'de> Deserialize<'de> for Momentum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = number(d)?;
        if !(0.0..1.0).contains(&v) {
            return Err(de::Error::invalid_value(de::Unexpected::Float(v), &"a number in [0, 1)"));
        }
        Ok(Momentum(v))
    }
}

/// A number strictly between 0 and 1 (a target mean activation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenUnit(pub f64);

impl<'de> Deserialize<'de> for OpenUnit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = number(d)?;
        if !(v > 0.0 && v < 1.0) {
            return Err(de::Error::invalid_value(de::Unexpected::Float(v), &"a number in (0, 1)"));
        }
        Ok(OpenUnit(v))
    }
}

/// Any finite number; its range depends on other keys and is checked on resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finite(pub f64);

impl<'de> Deserialize<'de> for Finite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = number(d)?;
        if !v.is_finite() {
            return Err(de::Error::invalid_value(de::Unexpected::Float(v), &"a finite number"));
        }
        Ok(Finite(v))
    }
}

/// TOML distinguishes `1` from `1.0`; a user writing `learning_rate = 1` means the number.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        I(i64),
        F(f64),
    }
    match Num::deserialize(d) {
        Ok(Num::I(i)) => Ok(i as f64),
        Ok(Num::F(f)) => Ok(f),
        Err(_) => Err(de::Error::custom("invalid type: expected a number")),
    }
}
