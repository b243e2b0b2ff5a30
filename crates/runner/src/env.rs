//! What a process records about where it runs (the provenance in every `run.json`), the devices
//! it trains on, the size of its training thread pool, and its peak memory.

use crate::cli::DeviceArg;
use anyhow::{bail, Context, Result};
use results::Provenance;

/// The provenance of a run trained on `device` (as [`open_device`] found it).
pub fn provenance(device: &nn::DeviceInfo) -> Provenance {
    Provenance {
        runner_version: env!("CARGO_PKG_VERSION").to_string(),
        git_revision: env!("RUNNER_GIT_REVISION").to_string(),
        dfdx_version: env!("RUNNER_DFDX_VERSION").to_string(),
        host: hostname(),
        threads: rayon::current_num_threads(),
        device: device.device.name().to_string(),
        gpu: device.gpu.clone(),
    }
}

/// The build command of a runner that trains on NVIDIA GPUs.
pub const CUDA_BUILD: &str = "cargo build --release -p runner --features cuda";

/// Opens `device` before anything is trained or written, so that a missing GPU is one error up
/// front rather than a failed run (or a panic) later. `what` names where the device was asked
/// for (`train.device = "cuda"`, `--device cuda`), and so does the error.
pub fn open_device(device: nn::Device, what: &str) -> Result<nn::DeviceInfo> {
    if device == nn::Device::Cuda && !nn::cuda_compiled() {
        bail!(
            "{what}: this runner was built without CUDA support; build it with `{CUDA_BUILD}` on a machine with \
             the CUDA toolkit (see the README's \"Training on a GPU\")"
        );
    }
    device.open().with_context(|| format!("{what}: no usable device; nothing was trained or written"))
}

/// The device a `--device` value names.
pub fn device_of(arg: DeviceArg) -> nn::Device {
    match arg {
        DeviceArg::Cpu => nn::Device::Cpu,
        DeviceArg::Cuda => nn::Device::Cuda,
        DeviceArg::GenericCpu => nn::Device::GenericCpu,
    }
}

/// This machine's name, as run records and locks show it.
pub fn hostname() -> String {
    hostname::get().map(|h| h.to_string_lossy().to_string()).unwrap_or_else(|_| "unknown".into())
}

/// Sets the size of the training thread pool (once per process).
pub fn init_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            bail!("--threads must be at least 1");
        }
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("cannot start the thread pool")?;
    }
    Ok(())
}

/// Peak resident set size of this process (Linux's VmHWM), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb / 1024.0)
}

/// Memory the system could still give, in MB (Linux's MemAvailable); none elsewhere.
pub fn available_memory_mb() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: f64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
