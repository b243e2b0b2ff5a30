//! Sweep files: parse, validate everything before anything trains, expand into runs.
//!
//! The layers of a run's configuration, each overriding the one before key by key:
//! built-in defaults → the base sections (`[data]`, `[model]`, `[train]`, `[noise]`) →
//! `--set KEY=VALUE` → the run's `[[variant]]` → the run's values of the `[sweep]` axes.
//! Runs are the variants (outermost, in file order) times the cartesian product of the axes
//! (first axis slowest); each `[[sweep.zip]]` group is one axis whose lists vary together.

use crate::config::RunConfig;
use crate::data::DataKeys;
use crate::error::{line_col, toml_error, Problem, SpecError};
use crate::keys::{SectionKeys, SECTIONS};
use crate::model::ModelKeys;
use crate::noise::NoiseKeys;
use crate::problems::{Origin, Origins};
use crate::resolve::resolve;
use crate::search::{toml_value, SearchKeys, SearchSpec};
use crate::train::TrainKeys;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::{Table, Value};

/// Variant name given to the runs of a sweep file without `[[variant]]` entries.
pub const DEFAULT_VARIANT: &str = "default";

/// A validated, expanded sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The file it came from (for messages).
    pub file: PathBuf,
    pub name: String,
    pub description: String,
    /// The file's text as given, stored beside the results.
    pub source: String,
    /// Keys that vary across runs, in axis order (`variant` first when there are several).
    pub varying_keys: Vec<String>,
    pub runs: Vec<RunSpec>,
    /// Combinations that resolved to a configuration already in the list (dropped).
    pub duplicates: usize,
    /// A `[search]` section: then `runs` is empty, and each trial's runs come from
    /// [`Search::trial`].
    pub search: Option<Search>,
}

/// A sweep's search: its settings, and the grid each trial is replicated over.
#[derive(Debug, Clone)]
pub struct Search {
    pub spec: SearchSpec,
    grid: Grid,
}

impl Search {
    /// The runs of trial `trial` with the sampled `values` (in the space's order): the grid's
    /// variants × axes, the searched keys set at the axes' layer.
    pub fn trial(&self, trial: u64, values: &[search::Value]) -> Result<Vec<RunSpec>, Vec<Problem>> {
        let set: Vec<(String, Value, String)> = self
            .spec
            .space
            .params()
            .iter()
            .zip(values)
            .map(|((path, d), v)| {
                let value = toml_value(d, v);
                let shown = match v {
                    search::Value::Float(f) => format!("{f:.4e}"),
                    _ => display_value(&value),
                };
                (path.clone(), value, shown)
            })
            .collect();
        self.grid.expand(&set, Some(trial)).map(|(runs, _)| runs)
    }
}

/// The layers a run's configuration is built from: the variants (each over the base sections)
/// and the `[sweep]` axes.
#[derive(Debug, Clone)]
struct Grid {
    variants: Vec<(String, Table, Origins)>,
    axes: Vec<Axis>,
}

/// One run of a sweep, before it has an id (the id needs the dataset's fingerprint).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in the expanded order (a search's: within its trial); `--shard I/N` selects by it.
    pub index: usize,
    /// A search's trial this run replicates; none in a grid.
    pub trial: Option<u64>,
    pub variant: String,
    /// Axis key → the value this run takes, as written.
    pub varying: Vec<(String, String)>,
    pub config: RunConfig,
}

impl RunSpec {
    /// Readable name: the variant and the values that vary, e.g. `dae latent_dim=8 seed=1`.
    pub fn label(&self) -> String {
        let mut s = self.variant.clone();
        if let Some(t) = self.trial {
            s.push_str(&format!(" trial={t}"));
        }
        for (key, value) in &self.varying {
            let short = key.rsplit('.').next().unwrap_or(key);
            let short = if key.starts_with("noise.") { format!("noise_{short}") } else { short.to_string() };
            s.push_str(&format!(" {short}={value}"));
        }
        s
    }
}

/// A `--set KEY=VALUE` override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: Value,
}

impl Override {
    /// Parses `KEY=VALUE`; VALUE is read as TOML (`1e-3`, `[8, 16]`, `"x"`), else as a bare string.
    pub fn parse(arg: &str) -> Result<Self, SpecError> {
        let err = |message: String| SpecError::Override { arg: arg.to_string(), message };
        let (key, raw) = arg.split_once('=').ok_or_else(|| err("expected KEY=VALUE".to_string()))?;
        let key = key.trim();
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(err("the value is empty".to_string()));
        }
        let value = match toml::from_str::<Table>(&format!("v = {raw}")) {
            Ok(mut t) => t.remove("v").ok_or_else(|| err("cannot read the value".to_string()))?,
            Err(_) => Value::String(raw.to_string()),
        };
        check_path(key).map_err(err)?;
        check_value(key, &value).map_err(err)?;
        Ok(Self { key: key.to_string(), value })
    }
}

/// Reads, validates and expands a sweep file.
pub fn load(file: &Path, overrides: &[Override]) -> Result<Sweep, SpecError> {
    let text = std::fs::read_to_string(file).map_err(|cause| SpecError::Read { file: file.to_path_buf(), cause })?;
    parse(file, &text, overrides)
}

/// The typed view of a whole file, read only to validate it: the merge works on the untyped table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FileKeys {
    name: String,
    #[serde(default)]
    description: Option<String>,
    data: Option<DataKeys>,
    model: Option<ModelKeys>,
    train: Option<TrainKeys>,
    noise: Option<NoiseKeys>,
    #[serde(default)]
    sweep: Option<Table>,
    #[serde(default)]
    variant: Vec<VariantKeys>,
    search: Option<SearchKeys>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct VariantKeys {
    name: String,
    #[serde(default)]
    description: Option<String>,
    data: Option<DataKeys>,
    model: Option<ModelKeys>,
    train: Option<TrainKeys>,
    noise: Option<NoiseKeys>,
}

/// Parses sweep-file text; `file` names it in messages.
pub fn parse(file: &Path, text: &str, overrides: &[Override]) -> Result<Sweep, SpecError> {
    let lines = KeyLines::parse(file, text)?;
    // Typed pass: unknown keys, wrong types and out-of-range values, with TOML's line and column.
    let typed: FileKeys = toml::from_str(text).map_err(|e| lines.toml_error(file, text, &e))?;
    let doc: Table = toml::from_str(text).map_err(|e| lines.toml_error(file, text, &e))?;

    let mut problems = Vec::new();
    check_name(&typed.name, "name", lines.get("name"), &mut problems);

    // Base sections, then the command line.
    let mut base = Table::new();
    let mut base_origins = Origins::new();
    for section in SECTIONS {
        if let Some(Value::Table(t)) = doc.get(section) {
            overlay(&mut base, &mut base_origins, section, t, "the base sections", &lines, section);
        }
    }
    for o in overrides {
        let (section, key) = split_path(&o.key);
        set_key(&mut base, section, key, o.value.clone());
        base_origins.insert(o.key.clone(), Origin { what: format!("--set {}", o.key), line: None });
    }

    // Variants.
    let mut variants: Vec<(String, Table, Origins)> = Vec::new();
    match doc.get("variant") {
        Some(Value::Array(list)) => {
            let mut seen = BTreeSet::new();
            for (i, v) in list.iter().enumerate() {
                let Value::Table(vt) = v else { continue };
                let at = format!("variant[{i}]");
                let name = vt.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                check_name(
                    &name,
                    &format!("[[variant]] #{} name", i + 1),
                    lines.get(&format!("{at}.name")),
                    &mut problems,
                );
                if !seen.insert(name.clone()) {
                    problems.push(Problem::new(
                        lines.get(&format!("{at}.name")),
                        format!("[[variant]] #{} name", i + 1),
                        format!("\"{name}\" is used by an earlier variant; variant names must be unique"),
                    ));
                }
                let mut t = base.clone();
                let mut origins = base_origins.clone();
                for section in SECTIONS {
                    if let Some(Value::Table(st)) = vt.get(section) {
                        let what = format!("variant \"{name}\"");
                        overlay(&mut t, &mut origins, section, st, &what, &lines, &format!("{at}.{section}"));
                    }
                }
                variants.push((name, t, origins));
            }
        }
        _ => variants.push((DEFAULT_VARIANT.to_string(), base.clone(), base_origins.clone())),
    }

    let axes = match doc.get("sweep") {
        Some(Value::Table(t)) => read_axes(t, &lines, &mut problems),
        _ => Vec::new(),
    };
    let grid = Grid { variants, axes };

    // A search: its keys may not be set by the grid's layers.
    let search = match &typed.search {
        None => None,
        Some(keys) => {
            let mut taken: BTreeSet<(String, &'static str)> = BTreeSet::new();
            for axis in &grid.axes {
                for path in &axis.paths {
                    taken.insert((path.clone(), "a [sweep] axis or zip key"));
                }
            }
            if let Some(Value::Array(list)) = doc.get("variant") {
                for v in list.iter().filter_map(Value::as_table) {
                    for section in SECTIONS {
                        for k in v.get(section).and_then(Value::as_table).into_iter().flat_map(|t| t.keys()) {
                            taken.insert((format!("{section}.{k}"), "a variant's key"));
                        }
                    }
                }
            }
            let epochs = resolve(&base, &base_origins).map_or(crate::train::DEFAULT_EPOCHS, |c| c.train.epochs);
            let ctx = crate::search::Context {
                taken: &taken,
                line: &|path| lines.get(path),
                check_path: &check_path,
                check_value: &check_value,
                epochs,
            };
            match crate::search::resolve(keys, &ctx) {
                Ok(spec) => Some(spec),
                Err(ps) => {
                    problems.extend(ps);
                    None
                }
            }
        }
    };
    if !problems.is_empty() {
        return Err(SpecError::Invalid { file: file.to_path_buf(), problems });
    }

    let mut varying_keys: Vec<String> = Vec::new();
    if grid.variants.len() > 1 {
        varying_keys.push("variant".to_string());
    }
    let (runs, duplicates) = match &search {
        None => grid.expand(&[], None),
        Some(spec) => {
            // Every run of every trial must resolve: checked now on the space's corners (each
            // key at its low, then its high end, and each choice), so that a key the config
            // rules refuse (a noise level without a noise kind, a kind's key for another kind) is
            // an error before anything trains.
            varying_keys.extend(spec.space.params().iter().map(|(k, _)| k.clone()));
            let mut problems = Vec::new();
            for probe in corners(&spec.space) {
                if let Err(ps) = (Search { spec: spec.clone(), grid: grid.clone() }).trial(0, &probe) {
                    problems.extend(ps);
                }
            }
            if problems.is_empty() {
                Ok((Vec::new(), 0))
            } else {
                Err(dedup(problems))
            }
        }
    }
    .map_err(|problems| SpecError::Invalid { file: file.to_path_buf(), problems })?;
    varying_keys.extend(grid.axes.iter().flat_map(|a| a.paths.iter().cloned()));

    Ok(Sweep {
        file: file.to_path_buf(),
        name: typed.name,
        description: typed.description.unwrap_or_default(),
        source: text.to_string(),
        varying_keys,
        runs,
        duplicates,
        search: search.map(|spec| Search { spec, grid }),
    })
}

/// Value sets that reach each end of every range and every choice of a space.
fn corners(space: &search::Space) -> Vec<Vec<search::Value>> {
    use search::{Distribution as D, Value as V};
    let ends = |d: &D, high: bool| match d {
        D::Uniform { low, high: h } | D::LogUniform { low, high: h } => V::Float(if high { *h } else { *low }),
        D::Int { low, high: h, .. } => V::Int(if high { *h } else { *low }),
        D::Choice(_) => V::Choice(0),
    };
    let mut sets: Vec<Vec<V>> =
        [false, true].iter().map(|&hi| space.params().iter().map(|(_, d)| ends(d, hi)).collect()).collect();
    for (i, (_, d)) in space.params().iter().enumerate() {
        if let D::Choice(choices) = d {
            for c in 1..choices.len() {
                let mut s = sets[0].clone();
                s[i] = V::Choice(c);
                sets.push(s);
            }
        }
    }
    sets
}

fn dedup(problems: Vec<Problem>) -> Vec<Problem> {
    let mut seen = BTreeSet::new();
    problems.into_iter().filter(|p| seen.insert((p.line, p.key.clone(), p.message.clone()))).collect()
}

impl Grid {
    /// Every run of the grid with `set` (path, value, value as shown) applied after the axes,
    /// resolved; the count of combinations that duplicated a run; or every problem (deduplicated).
    fn expand(
        &self,
        set: &[(String, Value, String)],
        trial: Option<u64>,
    ) -> Result<(Vec<RunSpec>, usize), Vec<Problem>> {
        let mut runs: Vec<RunSpec> = Vec::new();
        let mut problems = Vec::new();
        let mut duplicates = 0;
        // (variant, canonical config) of every run kept: finding a duplicate costs a hash lookup,
        // so expanding a grid stays linear in its size.
        let mut kept: HashSet<(String, String)> = HashSet::new();
        let axes = &self.axes;
        let combinations: usize = axes.iter().map(|a| a.len()).product();
        for (variant, vtable, vorigins) in &self.variants {
            for combo in 0..combinations {
                let mut t = vtable.clone();
                let mut origins = vorigins.clone();
                let mut varying = Vec::new();
                for (path, value, shown) in set {
                    let (section, key) = split_path(path);
                    set_key(&mut t, section, key, value.clone());
                    origins.insert(path.clone(), Origin { what: "the [search] space".to_string(), line: None });
                    varying.push((path.clone(), shown.clone()));
                }
                let mut rest = combo;
                let mut picks = vec![0; axes.len()];
                for (ai, axis) in axes.iter().enumerate().rev() {
                    picks[ai] = rest % axis.len();
                    rest /= axis.len();
                }
                for (axis, &pick) in axes.iter().zip(&picks) {
                    for (path, values) in axis.paths.iter().zip(&axis.values) {
                        let value = &values[pick];
                        let (section, key) = split_path(path);
                        set_key(&mut t, section, key, value.clone());
                        origins.insert(path.clone(), Origin { what: "a [sweep] axis".to_string(), line: axis.line });
                        varying.push((path.clone(), display_value(value)));
                    }
                }
                match resolve(&t, &origins) {
                    Ok(config) => {
                        if !kept.insert((variant.clone(), config.canonical())) {
                            duplicates += 1;
                        } else {
                            runs.push(RunSpec { index: runs.len(), trial, variant: variant.clone(), varying, config });
                        }
                    }
                    Err(ps) => problems.extend(ps),
                }
            }
        }
        if problems.is_empty() {
            Ok((runs, duplicates))
        } else {
            Err(dedup(problems))
        }
    }
}

/// One axis of the grid: a `[sweep]` key, or a `[[sweep.zip]]` group whose lists move together.
#[derive(Debug, Clone)]
struct Axis {
    paths: Vec<String>,
    /// Per path, its list of values (all lists of an axis have the same length).
    values: Vec<Vec<Value>>,
    line: Option<usize>,
}

impl Axis {
    fn len(&self) -> usize {
        self.values.first().map_or(1, Vec::len)
    }
}

fn read_axes(sweep: &Table, lines: &KeyLines, problems: &mut Vec<Problem>) -> Vec<Axis> {
    let mut axes = Vec::new();
    let mut seen: HashMap<String, Option<usize>> = HashMap::new();
    let mut take = |path: &str,
                    value: &Value,
                    line: Option<usize>,
                    where_: &str,
                    problems: &mut Vec<Problem>|
     -> Option<Vec<Value>> {
        let key = format!("sweep.\"{path}\"");
        if let Err(m) = check_path(path) {
            problems.push(Problem::new(line, key, m));
            return None;
        }
        if let Some(first) = seen.insert(path.to_string(), line) {
            let at = first.map_or(String::new(), |l| format!(" (line {l})"));
            problems.push(Problem::new(line, key, format!("is swept twice; first{at}")));
            return None;
        }
        let Value::Array(list) = value else {
            problems.push(Problem::new(line, key, format!("must be a list of values{where_}, e.g. [1, 2]")));
            return None;
        };
        if list.is_empty() {
            problems.push(Problem::new(line, key, "is an empty list; give at least one value".to_string()));
            return None;
        }
        let mut ok = true;
        for (i, v) in list.iter().enumerate() {
            if let Err(m) = check_value(path, v) {
                problems.push(Problem::new(line, key.clone(), format!("value #{} ({}): {m}", i + 1, display_value(v))));
                ok = false;
            }
        }
        ok.then(|| list.clone())
    };

    for (k, v) in sweep {
        if k == "zip" {
            let Value::Array(groups) = v else {
                problems.push(Problem::new(
                    lines.get("sweep.zip"),
                    "sweep.zip",
                    "must be written as [[sweep.zip]] tables",
                ));
                continue;
            };
            for (gi, g) in groups.iter().enumerate() {
                let at = format!("sweep.zip[{gi}]");
                let Value::Table(group) = g else { continue };
                if group.is_empty() {
                    problems.push(Problem::new(lines.get(&at), format!("[[sweep.zip]] #{}", gi + 1), "is empty"));
                    continue;
                }
                let mut axis = Axis { paths: Vec::new(), values: Vec::new(), line: None };
                let mut lens = Vec::new();
                for (path, list) in group {
                    let line = lines.get(&format!("{at}.{path}"));
                    axis.line = axis.line.or(line);
                    if let Some(values) = take(path, list, line, " in a zip group", problems) {
                        lens.push(format!("\"{path}\" has {}", values.len()));
                        axis.paths.push(path.clone());
                        axis.values.push(values);
                    }
                }
                if axis.values.iter().any(|v| v.len() != axis.len()) {
                    problems.push(Problem::new(
                        axis.line,
                        format!("[[sweep.zip]] #{}", gi + 1),
                        format!("lists must have equal lengths: {}", lens.join(", ")),
                    ));
                    continue;
                }
                if !axis.paths.is_empty() {
                    axes.push(axis);
                }
            }
            continue;
        }
        let line = lines.get(&format!("sweep.{k}"));
        if let Some(values) = take(k, v, line, "", problems) {
            axes.push(Axis { paths: vec![k.clone()], values: vec![values], line });
        }
    }
    axes
}

/// A sweep path must name `section.key` for one of the four sections.
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    let mut parts = path.split('.');
    let (Some(section), Some(key), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "is not a key path; expected `section.key` with section one of {}",
            SECTIONS.map(|s| format!("`{s}`")).join(", ")
        ));
    };
    if !SECTIONS.contains(&section) || key.is_empty() {
        return Err(format!(
            "names no key: `{section}` is not a section; expected one of {}",
            SECTIONS.map(|s| format!("`{s}`")).join(", ")
        ));
    }
    Ok(())
}

/// Type- and range-checks one value for a key path by reading `{section: {key: value}}`.
pub(crate) fn check_value(path: &str, value: &Value) -> Result<(), String> {
    let (section, key) = split_path(path);
    let mut t = Table::new();
    set_key(&mut t, section, key, value.clone());
    t.try_into::<SectionKeys>().map(|_| ()).map_err(|e| e.message().trim().to_string())
}

fn split_path(path: &str) -> (&str, &str) {
    path.split_once('.').unwrap_or((path, ""))
}

fn set_key(t: &mut Table, section: &str, key: &str, value: Value) {
    let entry = t.entry(section.to_string()).or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    if let Value::Table(st) = entry {
        st.insert(key.to_string(), value);
    }
}

/// Overlays `section` keys onto `t` key by key, recording their origin.
fn overlay(t: &mut Table, origins: &mut Origins, section: &str, src: &Table, what: &str, lines: &KeyLines, at: &str) {
    for (k, v) in src {
        set_key(t, section, k, v.clone());
        origins
            .insert(format!("{section}.{k}"), Origin { what: what.to_string(), line: lines.get(&format!("{at}.{k}")) });
    }
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Names become directory names and parts of run labels.
fn check_name(name: &str, key: &str, line: Option<usize>, problems: &mut Vec<Problem>) {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        problems.push(Problem::new(
            line,
            key,
            format!("\"{name}\" is not a valid name; use letters, digits, `-`, `_` and `.` (not first)"),
        ));
    }
}

/// Dotted key path → 1-based line, from the parser's spans. Array entries as `variant[0].model.x`.
/// Also each key's span and its value's span, to name the key a TOML error points into.
struct KeyLines(HashMap<String, usize>, Spans);

impl KeyLines {
    fn parse(file: &Path, text: &str) -> Result<Self, SpecError> {
        let doc = DeTable::parse(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            SpecError::Toml { file: file.to_path_buf(), line, column, message: e.message().trim().to_string() }
        })?;
        let mut map = HashMap::new();
        let mut spans = Vec::new();
        walk(text, "", doc.get_ref(), &mut map, &mut spans);
        Ok(Self(map, spans))
    }

    fn get(&self, path: &str) -> Option<usize> {
        self.0.get(path).copied()
    }

    /// The key at a byte offset: the key itself when the offset is on it (an unknown key), else
    /// the key whose value is the innermost one holding the offset (a wrong value).
    fn key_at(&self, offset: usize) -> Option<&str> {
        let on_key = self.1.iter().find(|(_, k, _)| k.contains(&offset));
        let in_value = || self.1.iter().filter(|(_, _, v)| v.contains(&offset)).min_by_key(|(_, _, v)| v.end - v.start);
        on_key.or_else(in_value).map(|(path, _, _)| path.as_str())
    }

    /// A typed-pass error as file, line and column, naming the key it concerns.
    fn toml_error(&self, file: &Path, text: &str, e: &toml::de::Error) -> SpecError {
        match toml_error(file, text, e) {
            SpecError::Toml { file, line, column, message } => {
                let key = e.span().and_then(|s| self.key_at(s.start));
                let message = match key {
                    Some(k) => format!("`{k}` {message}"),
                    None => message,
                };
                SpecError::Toml { file, line, column, message }
            }
            other => other,
        }
    }
}

type Spans = Vec<(String, Range<usize>, Range<usize>)>;

fn walk(text: &str, prefix: &str, table: &DeTable<'_>, map: &mut HashMap<String, usize>, spans: &mut Spans) {
    for (k, v) in table {
        let path = if prefix.is_empty() { k.get_ref().to_string() } else { format!("{prefix}.{}", k.get_ref()) };
        map.insert(path.clone(), line_col(text, k.span().start).0);
        spans.push((path.clone(), k.span(), v.span()));
        match v.get_ref() {
            DeValue::Table(t) => walk(text, &path, t, map, spans),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let at = format!("{path}[{i}]");
                        map.insert(at.clone(), line_col(text, item.span().start).0);
                        walk(text, &at, t, map, spans);
                    }
                }
            }
            _ => {}
        }
    }
}
