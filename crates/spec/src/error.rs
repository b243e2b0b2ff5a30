//! Errors of reading sweep files and run configs. Each names the file, and where it can, the line
//! and the key.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a sweep file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: Option<usize>,
    /// Dotted key (`model.latent_dim`), or a description of the place (`[[variant]] #2`).
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(line: Option<usize>, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { line, key: key.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read sweep file {}: {cause}", file.display())]
    Read { file: PathBuf, cause: std::io::Error },

    #[error("{}:{line}:{column}: {message}", file.display())]
    Toml { file: PathBuf, line: usize, column: usize, message: String },

    #[error("{}", Invalid { file, problems })]
    Invalid { file: PathBuf, problems: Vec<Problem> },

    #[error("--set {arg:?}: {message}")]
    Override { arg: String, message: String },

    #[error("cannot read run config {}: {message}", file.display())]
    RunConfig { file: PathBuf, message: String },
}

/// Renders a list of problems, one line each, `file:line: key: message`.
struct Invalid<'a> {
    file: &'a PathBuf,
    problems: &'a [Problem],
}

impl fmt::Display for Invalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        if self.problems.len() > 1 {
            writeln!(f, "{file}: {} problems:", self.problems.len())?;
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match p.line {
                Some(line) => write!(f, "{file}:{line}: `{}` {}", p.key, p.message)?,
                None => write!(f, "{file}: `{}` {}", p.key, p.message)?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

/// Turns a TOML deserialisation error into one naming the file, line and column.
pub(crate) fn toml_error(file: &std::path::Path, text: &str, e: &toml::de::Error) -> SpecError {
    let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
    SpecError::Toml { file: file.to_path_buf(), line, column, message: e.message().trim().to_string() }
}
