//! `runner`: the command line of the auto-encoder sweep pipeline. Parses arguments, hands each
//! command its resolved inputs, prints the whole error chain and exits non-zero on failure.

mod baselines;
mod check;
mod cli;
mod env;
mod events;
mod export_cmd;
mod jobs;
mod plan;
mod progress;
mod report_cmd;
mod search;
mod status;
mod sweep;
mod tools;

use clap::Parser;
use cli::{Cli, Command, DataCommand, ExportCommand};
use std::process::ExitCode;

/// Training allocates the same large buffers every step; glibc hands blocks above its mmap
/// threshold back to the OS and faults them in again, mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sweep(args) => return sweep::run(args),
        Command::Report(args) => return report_cmd::run(args),
        Command::Data(DataCommand::Info { data, json }) => tools::data_info(&data.data_dir, json)?,
        Command::Model(args) => tools::model(&args)?,
        Command::Bench(args) => tools::bench(&args)?,
        Command::Reconstruct(args) => tools::reconstruct(&args)?,
        Command::Encode(args) => tools::encode(&args)?,
        Command::Sample(args) => tools::sample(&args)?,
        Command::Check(args) => return check::run(args),
        Command::Compare(args) => return check::compare_dirs(args),
        Command::Status(args) => return status::run(args),
        Command::Export(ExportCommand::Tensorboard(args)) => export_cmd::tensorboard(&args)?,
    }
    Ok(ExitCode::SUCCESS)
}
