//! The `[noise]` section: how a denoising auto-encoder corrupts its training inputs. The keys a
//! user writes, their resolution, the resolved [`Noise`] (an enum that carries its own level), and
//! its `config.toml` form (`kind` and `level`; no section for [`Noise::None`]).
//!
//! Every noise kind's name, level rule and variant are in [`NoiseKind`]'s exhaustive matches: a
//! new kind that is not named everywhere does not compile, and the sweep files, `config.toml` and
//! `runner reconstruct --noise` all parse names through [`NoiseKind::parse`].

use crate::problems::Problems;
use crate::value::Finite;
use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest Gaussian noise standard deviation accepted: images live in [0, 1], so anything
/// larger only measures the clipping.
pub const MAX_GAUSSIAN_LEVEL: f64 = 5.0;

/// How training inputs are corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Noise {
    /// A plain auto-encoder: inputs as they are.
    #[default]
    None,
    /// Add N(0, std²) to every pixel, clip to [0, 1].
    Gaussian { std: f64 },
    /// Zero each pixel with probability `p` (dropout on the input).
    Masking { p: f64 },
    /// Set each pixel to 0 or 1 (equally likely) with probability `p`.
    SaltPepper { p: f64 },
}

/// The corruptions by name, without their level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::VariantArray)]
pub enum NoiseKind {
    Gaussian,
    Masking,
    SaltPepper,
}

impl NoiseKind {
    /// Every kind, derived from the enum: the one name table (a new kind is in it by being
    /// declared; the exhaustive matches below then ask for its name and level rule).
    pub const ALL: &'static [NoiseKind] = <NoiseKind as strum::VariantArray>::VARIANTS;

    /// The name in sweep files, `config.toml`, metric rows and `--noise`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gaussian => "gaussian",
            Self::Masking => "masking",
            Self::SaltPepper => "salt_pepper",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The noise of this kind at `level`, if the level is in range.
    pub fn with_level(self, level: f64) -> Result<Noise, String> {
        if !self.level_in_range(level) {
            return Err(format!("{level} is out of range for `{self}` noise: {}", self.level_range_text()));
        }
        Ok(match self {
            Self::Gaussian => Noise::Gaussian { std: level },
            Self::Masking => Noise::Masking { p: level },
            Self::SaltPepper => Noise::SaltPepper { p: level },
        })
    }

    /// The range a level of this kind must lie in, as (low exclusive, high, high inclusive?).
    pub fn level_range(self) -> (f64, f64, bool) {
        match self {
            Self::Gaussian => (0.0, MAX_GAUSSIAN_LEVEL, true),
            Self::Masking | Self::SaltPepper => (0.0, 1.0, false),
        }
    }

    /// Human text of [`Self::level_range`].
    pub fn level_range_text(self) -> String {
        let (lo, hi, inclusive) = self.level_range();
        let what = match self {
            Self::Gaussian => "a standard deviation",
            Self::Masking | Self::SaltPepper => "a probability",
        };
        format!("{what} in ({lo}, {hi}{}", if inclusive { "]" } else { ")" })
    }

    pub fn level_in_range(self, level: f64) -> bool {
        let (lo, hi, inclusive) = self.level_range();
        level.is_finite() && level > lo && (level < hi || (inclusive && level == hi))
    }

    /// Every name a `noise.kind` key takes: the kinds, and `none`.
    pub fn choices() -> String {
        let mut names: Vec<String> = Self::ALL.iter().map(|k| format!("`{k}`")).collect();
        names.push(format!("`{NONE}`"));
        names.join(", ")
    }
}

/// The `noise.kind` that switches noise off (a variant or a sweep axis can write it).
pub const NONE: &str = "none";

impl fmt::Display for NoiseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Noise {
    pub fn is_none(&self) -> bool {
        *self == Noise::None
    }

    pub fn kind(&self) -> Option<NoiseKind> {
        match self {
            Noise::None => None,
            Noise::Gaussian { .. } => Some(NoiseKind::Gaussian),
            Noise::Masking { .. } => Some(NoiseKind::Masking),
            Noise::SaltPepper { .. } => Some(NoiseKind::SaltPepper),
        }
    }

    /// The kind's parameter: a standard deviation or a probability.
    pub fn level(&self) -> Option<f64> {
        match *self {
            Noise::None => None,
            Noise::Gaussian { std } => Some(std),
            Noise::Masking { p } | Noise::SaltPepper { p } => Some(p),
        }
    }

    /// `KIND:LEVEL` as `runner reconstruct --noise` takes it, e.g. `masking:0.5`.
    pub fn parse_short(s: &str) -> Result<Self, String> {
        let (kind, level) = s.split_once(':').ok_or("expected KIND:LEVEL, e.g. masking:0.5")?;
        let kind = NoiseKind::parse(kind).ok_or_else(|| {
            let names: Vec<&str> = NoiseKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown kind `{kind}`; expected {}", names.join(", "))
        })?;
        let level: f64 = level.parse().map_err(|_| format!("`{level}` is not a number"))?;
        kind.with_level(level)
    }
}

/// `noise.kind` as written: a kind, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseChoice {
    Off,
    Kind(NoiseKind),
}

impl<'de> Deserialize<'de> for NoiseChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == NONE {
            return Ok(NoiseChoice::Off);
        }
        NoiseKind::parse(&name).map(NoiseChoice::Kind).ok_or_else(|| de::Error::unknown_variant(&name, &CHOICE_NAMES))
    }
}

/// Every `noise.kind` name, from the table (`unknown_variant` wants a `'static` list).
static CHOICE_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut names: Vec<&'static str> = NoiseKind::ALL.iter().map(|k| k.name()).collect();
    names.push(NONE);
    names
});

impl<'de> Deserialize<'de> for NoiseKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match NoiseChoice::deserialize(d)? {
            NoiseChoice::Kind(k) => Ok(k),
            NoiseChoice::Off => Err(de::Error::custom(format!("`{NONE}` is written as no [noise] section"))),
        }
    }
}

impl Serialize for NoiseKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `[noise]` as written: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseKeys {
    pub kind: Option<NoiseChoice>,
    pub level: Option<Finite>,
}

impl NoiseKeys {
    /// The resolved noise; [`Noise::None`] after reporting a problem.
    pub(crate) fn resolve(self, problems: &mut Problems<'_>) -> Noise {
        match self.kind {
            None => {
                problems.add(
                    "noise.kind",
                    format!("is required when a [noise] section is present; one of {}", NoiseKind::choices()),
                );
                Noise::None
            }
            Some(NoiseChoice::Off) => Noise::None,
            Some(NoiseChoice::Kind(kind)) => match self.level {
                None => {
                    problems.add("noise.level", format!("is required for `{kind}` noise: {}", kind.level_range_text()));
                    Noise::None
                }
                Some(level) => kind.with_level(level.0).unwrap_or_else(|message| {
                    problems.add("noise.level", message);
                    Noise::None
                }),
            },
        }
    }
}

/// The `config.toml` form: `kind` and `level`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoiseWire {
    kind: NoiseKind,
    level: f64,
}

impl Serialize for Noise {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // `Noise::None` is written as no section at all (`RunConfig` skips it).
        let mut st = s.serialize_struct("Noise", 2)?;
        st.serialize_field("kind", self.kind().map_or(NONE, NoiseKind::name))?;
        if let Some(level) = self.level() {
            st.serialize_field("level", &level)?;
        }
        st.end()
    }
}

impl<'de> Deserialize<'de> for Noise {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = NoiseWire::deserialize(d)?;
        wire.kind.with_level(wire.level).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_level_ranges() {
        assert!(NoiseKind::Masking.level_in_range(0.5));
        assert!(!NoiseKind::Masking.level_in_range(1.0));
        assert!(!NoiseKind::Masking.level_in_range(0.0));
        assert!(NoiseKind::Gaussian.level_in_range(MAX_GAUSSIAN_LEVEL));
        assert!(!NoiseKind::Gaussian.level_in_range(f64::NAN));
        assert!(!NoiseKind::SaltPepper.level_in_range(-0.1));
    }

    #[test]
    fn every_kind_round_trips_through_its_name_and_level() {
        for &kind in NoiseKind::ALL {
            assert_eq!(NoiseKind::parse(kind.name()), Some(kind));
            let noise = kind.with_level(0.25).unwrap();
            assert_eq!((noise.kind(), noise.level()), (Some(kind), Some(0.25)));
            assert_eq!(Noise::parse_short(&format!("{kind}:0.25")).unwrap(), noise);
        }
        assert_eq!(NoiseKind::parse("none"), None);
        let e = Noise::parse_short("speckle:0.1").unwrap_err();
        assert!(e.contains("speckle") && e.contains("salt_pepper"), "{e}");
        assert!(Noise::parse_short("masking:1.5").unwrap_err().contains("probability"));
        assert!(Noise::parse_short("masking").is_err());
    }
}
