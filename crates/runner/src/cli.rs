//! The command line, as clap parses it. Nothing outside `main.rs` sees these types: each command
//! resolves its arguments into the library crates' own types first.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("RUNNER_GIT_REVISION"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "runner",
    version = VERSION,
    about = "Auto-encoder experiment sweeps: train, record, report, reproduce",
    after_help = "Examples:
  scripts/fetch-data.sh                         # real datasets into ./data
  runner sweep experiments/smoke.toml           # train every run of a sweep file
  runner sweep experiments/latent_sizes.toml --dry-run
  runner report                                 # compare the runs under results/
  runner report --format markdown --plots
  runner check results/reference/smoke --tolerance 1e-4"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct DataDir {
    /// Where datasets live [default: $RUNNER_DATA_DIR, else ./data]
    #[arg(long, env = "RUNNER_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct Threads {
    /// Worker threads for training [default: $RAYON_NUM_THREADS, else all cores]. Results do not
    /// depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `--device` of the commands that run a model.
#[derive(Debug, Args, Clone)]
pub struct DeviceOpt {
    /// Where the model runs: cpu, or cuda (an NVIDIA GPU; needs a runner built with `--features
    /// cuda`); generic-cpu runs the CUDA path's ops on the CPU (slow; for checking that path)
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Cuda,
    GenericCpu,
}

/// The devices a sweep's runs train on (`train.device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrainDevice {
    Cpu,
    Cuda,
}

impl TrainDevice {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Expand a sweep file into runs and train them (skipping runs already completed)
    #[command(after_help = "Examples:
  runner sweep experiments/smoke.toml
  runner sweep experiments/latent_sizes.toml --dry-run
  runner sweep experiments/tutorial.toml --set train.epochs=2 --set data.train_limit=5000
  runner sweep experiments/smoke.toml --device cuda      # on an NVIDIA GPU (a --features cuda build)
  runner sweep experiments/latent_sizes.toml --shard 0/4   # one of 4 machines")]
    Sweep(SweepArgs),

    /// Comparison tables (and with --plots, pictures) from results directories
    #[command(after_help = "Examples:
  runner report
  runner report results/latent_sizes --group-by variant --metric test_mse
  runner report --best --group-by model.latent_dim --format markdown
  runner report --plots
  runner report results/latent_sizes --html              # results/latent_sizes/report.html
  runner report results --html=/tmp/all-sweeps.html")]
    Report(ReportArgs),

    /// Retrain recorded runs and compare every metric of every epoch
    #[command(after_help = "Examples:
  runner check results/smoke                       # bit-exact, 1 run
  runner check results/reference/smoke --all --tolerance 1e-4")]
    Check(CheckArgs),

    /// Where a sweep stands: completed, running, paused, pending, failed, diverged and pruned runs,
    /// who holds the running ones (host, process), and the failures' errors. Takes no lock: it can
    /// watch a sweep that runs elsewhere (a Slurm array, from the login node)
    #[command(after_help = "Example:\n  runner status results/latent_sizes")]
    Status(StatusArgs),
    /// Write a sweep's results in another tool's format (nothing in the results directory changes)
    #[command(subcommand)]
    Export(ExportCommand),

    /// Compare the metrics of the runs two results directories share (e.g. two machines)
    #[command(after_help = "Example:\n  runner compare /tmp/a/smoke /tmp/b/smoke   # bit-exact")]
    Compare(CompareArgs),

    /// Dataset tools
    #[command(subcommand)]
    Data(DataCommand),

    /// Print a model's layers, output shapes and parameter counts (like Keras' summary())
    #[command(after_help = "Example:\n  runner model --architecture conv --latent-dim 100")]
    Model(ModelArgs),

    /// Time training steps of a model on synthetic data
    #[command(after_help = "Examples:
  runner bench --architecture conv --batch-size 1000 --steps 20 --format json
  runner bench --device cuda --batch-size 100   # on an NVIDIA GPU (a --features cuda build)")]
    Bench(BenchArgs),

    /// Write a PNG grid of images and their reconstructions by a trained checkpoint
    #[command(after_help = "Example:
  runner reconstruct results/smoke/runs/<id>/model.safetensors --dataset fashion-mnist --output recon.png")]
    Reconstruct(ReconstructArgs),

    /// Write the latent codes of a dataset split by a trained checkpoint (CSV or Parquet; a VAE's
    /// are the means of q(z|x))
    #[command(after_help = "Example:
  runner encode results/smoke/runs/<id>/model.safetensors --dataset mnist --output codes.parquet")]
    Encode(EncodeArgs),

    /// Write a PNG grid of images a VAE checkpoint decodes from codes drawn from its prior
    #[command(after_help = "Examples:
  runner sample results/kinds/runs/<id>/model.safetensors --count 64 --output samples.png
  runner sample CHECKPOINT --count 400 --manifold --output manifold.png   # a 2-D latent space")]
    Sample(SampleArgs),
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The sweep file (TOML)
    pub file: PathBuf,
    /// Results directory; the sweep writes into <results-dir>/<name>/
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
    #[command(flatten)]
    pub data: DataDir,
    /// Override a base key, e.g. --set train.epochs=2 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Train on this device: the same as --set train.device=DEVICE (after the other --set), so a
    /// CUDA run is a run of its own, with its own id [default: the file's, else cpu]
    #[arg(long, value_enum)]
    pub device: Option<TrainDevice>,
    /// Print the expanded runs and their count; train nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Retrain runs that already completed (or diverged)
    #[arg(long)]
    pub force: bool,
    /// Run only the runs whose index ≡ I (mod N), e.g. 0/4; `slurm` takes I and N from the
    /// Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT), `slurm/N` gives N (for a
    /// resubmitted part of an array)
    #[arg(long, value_name = "I/N|slurm[/N]")]
    pub shard: Option<String>,
    /// Skip the linear-probe baselines (raw pixels, PCA of each latent size) that are not stored
    /// yet; the raw-pixel probe takes about 20 s on 60,000 images
    #[arg(long)]
    pub no_baselines: bool,
    #[command(flatten)]
    pub threads: Threads,
    /// Runs trained at once: a number, or `auto` (one per thread, at most one per run, fewer when
    /// the runs' estimated memory exceeds half of what is available). The --threads are split
    /// evenly among the jobs, the remainder one each to the first jobs (5 threads, 2 jobs: 3 + 2).
    /// Results do not depend on it
    #[arg(long, default_value = "auto", value_name = "N|auto")]
    pub jobs: String,
    /// A search's shards: how long one waits, having trained its part of a round, for the other
    /// shards' runs of the round before it gives up (an error)
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub search_wait: u64,
    /// Progress display
    #[arg(long, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,
    /// Also write TensorBoard event files as epochs finish, one folder per run:
    /// DIR/<variant>/<label>/ (`tensorboard --logdir DIR`)
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Progress {
    /// Bars on a terminal, one line per epoch otherwise
    Auto,
    Bars,
    Plain,
    None,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results or sweep directories (searched recursively) [default: the folders under results/
    /// but results/reference/, the committed references]
    pub paths: Vec<PathBuf>,
    /// The metric that leads the table and is marked best [default: test_bce; a search's table:
    /// the metric it optimised]
    #[arg(long)]
    pub metric: Option<String>,
    /// Group rows by these keys instead of all varying keys (comma-separated, e.g. variant)
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// For each value of the group keys, only the best configuration over the other keys
    #[arg(long)]
    pub best: bool,
    /// Sort by this column (default: the group keys)
    #[arg(long)]
    pub sort: Option<String>,
    /// Only this sweep (by name)
    #[arg(long)]
    pub sweep: Option<String>,
    /// Output format
    #[arg(long, default_value_t = report::Format::Table, value_parser = report_format())]
    pub format: report::Format,
    /// Write the table to this file instead of standard output
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write PNG plots into <sweep>/plots/, and each run's test codes in the plane into
    /// <sweep>/runs/<id>/latent.png
    #[arg(long)]
    pub plots: bool,
    /// Also write one self-contained HTML page of the tables, charts and pictures, to PATH or by
    /// default to <sweep>/report.html (several sweeps: DIR/report.html of the one DIR given).
    /// Give a path as --html=PATH: a bare word after --html is a results directory
    #[arg(long, value_name = "PATH", num_args = 0..=1, require_equals = true)]
    pub html: Option<Option<PathBuf>>,
}

/// `--format`: one of report's formats, by name (the list is report's own, and `--help` shows it).
fn report_format() -> impl clap::builder::TypedValueParser<Value = report::Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(report::Format::ALL.iter().map(|f| f.name()))
        .try_map(|s| s.parse::<report::Format>())
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A sweep's results directory (holding runs/)
    pub sweep_dir: PathBuf,
    /// How many completed runs to retrain (the first N by run id)
    #[arg(long, default_value_t = 1, conflicts_with = "all")]
    pub runs: usize,
    /// Retrain every completed run
    #[arg(long)]
    pub all: bool,
    /// Largest relative difference accepted; 0 means bit-exact [default: 0, or 1e-3 for a run
    /// trained or retrained on CUDA (or generic-cpu), whose numbers differ from the CPU's, and on
    /// CUDA from run to run, in the last bits]
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Compare even when the runs were recorded by another runner version
    #[arg(long)]
    pub allow_version_change: bool,
    /// Retrain on this device instead of each run's own (`train.device`), e.g. a CUDA run on the
    /// CPU
    #[arg(long, value_enum)]
    pub device: Option<DeviceArg>,
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub threads: Threads,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A sweep's results directory (holding runs/)
    pub sweep_dir: PathBuf,
    /// Where the datasets are (to count the runs the sweep file plans)
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A sweep's results directory
    pub a: PathBuf,
    /// Another results directory of the same sweep
    pub b: PathBuf,
    /// Largest relative difference accepted; 0 means bit-exact
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// TensorBoard event files: one per run in <out>/<variant>/<label>/, every per-epoch metric
    /// as a scalar (step = epoch; timings under timing/, a stacked run's pre-training epochs
    /// under pretrain-<k>/) and the run's config.toml as text
    #[command(after_help = "Examples:
  runner export tensorboard results/smoke                # into ./tensorboard/smoke
  runner export tensorboard results/smoke --out /tmp/tb && tensorboard --logdir /tmp/tb")]
    Tensorboard(ExportTensorboardArgs),
}

#[derive(Debug, Args)]
pub struct ExportTensorboardArgs {
    /// A sweep's results directory (holding runs/); it is only read
    pub sweep_dir: PathBuf,
    /// The log directory to write [default: tensorboard/<sweep>]; it may not be inside the sweep
    /// directory. Exporting again replaces the event files of the runs it writes
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List each dataset: found or not, counts, image size, pixel mean, source files
    Info {
        #[command(flatten)]
        data: DataDir,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[arg(long, value_enum, default_value_t = Arch::Conv)]
    pub architecture: Arch,
    #[arg(long, default_value_t = 100)]
    pub latent_dim: usize,
    /// Dense only: hidden widths, e.g. 512,256
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Arch {
    Conv,
    Dense,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Timed training steps (after one untimed warm-up step)
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    #[arg(long, value_enum, default_value_t = BenchFormat::Text)]
    pub format: BenchFormat,
    #[command(flatten)]
    pub device: DeviceOpt,
    #[command(flatten)]
    pub threads: Threads,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    /// A checkpoint written by a run (model.safetensors)
    pub checkpoint: PathBuf,
    /// mnist, fashion-mnist, synthetic or idx:<dir>
    #[arg(long)]
    pub dataset: String,
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    #[command(flatten)]
    pub data: DataDir,
    #[command(flatten)]
    pub device: DeviceOpt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    Train,
    Test,
}

#[derive(Debug, Args)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub split: SplitArgs,
    /// Images to show
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Corrupt the inputs first, e.g. masking:0.5 (shown in a middle row)
    #[arg(long, value_name = "KIND:LEVEL")]
    pub noise: Option<String>,
    /// The PNG to write
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub split: SplitArgs,
    /// Encode only the first N images
    #[arg(long)]
    pub limit: Option<usize>,
    /// Output file: .csv or .parquet
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// A checkpoint of a `vae` run (model.safetensors)
    pub checkpoint: PathBuf,
    /// Images to draw (a grid of ⌈√count⌉ columns); with --manifold, the grid is ⌈√count⌉ on a side
    #[arg(long, default_value_t = 64)]
    pub count: usize,
    /// Seed of the draws
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A 2-D latent space only: decode a grid of codes at evenly spaced quantiles of the prior
    /// instead of random draws
    #[arg(long)]
    pub manifold: bool,
    /// Pixels per image pixel
    #[arg(long, default_value_t = 2)]
    pub scale: usize,
    #[command(flatten)]
    pub device: DeviceOpt,
    /// The PNG to write
    #[arg(long)]
    pub output: PathBuf,
}
