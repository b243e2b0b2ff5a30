//! `runner report`: comparison tables and pictures from results directories.
//!
//! [`load`] finds the sweeps under the given directories and reads their runs with polars (the
//! combined Parquet files when they are current, the run folders otherwise), merging copies of a
//! sweep from several machines. [`table`] aggregates a sweep's runs over seeds, one row per
//! configuration (per trial, ranked, for a search), and [`render`] writes the tables as an aligned terminal table, Markdown, CSV or
//! JSON. [`plots`] draws per-epoch curves and final-metric-vs-key pictures as PNG files (the
//! linear probe against the latent size with its PCA and raw-pixel baselines among them), and
//! [`latent_plots`] each run's test codes in the plane. [`html`] puts the tables, the same charts
//! (as inline SVG) and the runs' pictures on one self-contained page; [`search_file`] reads a
//! search's `search.json` and [`search`] draws its trials. Every chart is drawn by one piece of
//! code, `chart`, for PNG and SVG alike.

mod chart;
pub mod columns;
mod draw;
pub mod error;
mod format;
pub mod html;
pub mod latent;
pub mod load;
pub mod plot;
pub mod render;
pub mod search;
pub mod search_file;
pub mod table;

pub use columns::{resolve_key, run_columns, Metric, Role};
pub use error::ReportError;
pub use html::{html_report, HtmlOptions};
pub use latent::{latent_plots, read_latent, LatentPoints};
pub use load::{find_sweep_dirs, load, select_sweep, RunCounts, Source, SweepResults, SweepSource};
pub use plot::{plots, PlotOptions};
pub use render::{render, Format};
pub use search_file::{read_search, Goal, Search, SearchKey};
pub use table::{table, varying_keys, Stat, SweepTable, TableOptions, TableRow, Value};
