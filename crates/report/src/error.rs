//! Errors of the report; each names the directory, sweep, option or file it concerns and, where
//! the user chose something that does not exist, what would have been accepted.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "{}: no such directory; give a results directory (holding <sweep>/runs/) or a sweep directory",
        path.display()
    )]
    MissingPath { path: PathBuf },

    #[error(
        "{}: not a directory; give a results directory (holding <sweep>/runs/) or a sweep directory",
        path.display()
    )]
    NotADirectory { path: PathBuf },

    #[error("{}: cannot search it for sweeps: {cause}", path.display())]
    Walk { path: PathBuf, cause: walkdir::Error },

    #[error(
        "no sweeps under {paths}: a sweep directory holds a runs/ folder (written by `runner sweep`); \
         run a sweep first or point the report at its results directory"
    )]
    NoSweeps { paths: String },

    #[error("--sweep {name}: no sweep of that name; found: {found}")]
    UnknownSweep { name: String, found: String },

    #[error("--metric {given}: unknown metric; allowed: {allowed}")]
    UnknownMetric { given: String, allowed: String },

    #[error("{option} {given}: unknown key; allowed: {allowed} (or their sweep paths, e.g. model.latent_dim)")]
    UnknownKey { option: &'static str, given: String, allowed: String },

    #[error("sweep {sweep}: --sort {given}: not a column of its table; allowed: {allowed}")]
    UnknownSortColumn { sweep: String, given: String, allowed: String },

    #[error("sweep {sweep}: {what}: {cause}")]
    Polars { sweep: String, what: String, cause: polars::error::PolarsError },

    #[error(transparent)]
    Results(#[from] results::ResultsError),

    #[error("{}:{line}: {message}", file.display())]
    Latent { file: PathBuf, line: usize, message: String },

    #[error("{}: cannot draw the plot: {message}", path.display())]
    Plot { path: PathBuf, message: String },

    #[error("{}: not a search description: {message}", file.display())]
    Search { file: PathBuf, message: String },

    #[error("{}: cannot read the picture to embed it: {cause}", path.display())]
    Embed { path: PathBuf, cause: std::io::Error },

    #[error("the font embedded for plots (assets/DejaVuSans.ttf) cannot be read as a TrueType font")]
    Font,
}

impl ReportError {
    pub(crate) fn polars(sweep: &str, what: &str, cause: polars::error::PolarsError) -> Self {
        Self::Polars { sweep: sweep.to_string(), what: what.to_string(), cause }
    }
}
