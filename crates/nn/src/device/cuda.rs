//! Opening dfdx's `Cuda` device (feature `cuda`), once per thread, without panicking.
//!
//! cudarc 0.9's `CudaDevice::new`, which dfdx's `Cuda::try_build` calls, `unwrap`s the driver's
//! `cuInit` and `cuDeviceGet`: on a machine whose driver finds no GPU it would panic. So the
//! driver is asked first, through cudarc's `Result`-returning calls (init, device count, the GPU's
//! name), and only then is the device built; `catch_unwind` turns any other panic of the driver
//! bindings into an error as a last resort (the panic's message is still printed by the default
//! hook). dfdx's `Cuda` is neither `Send` nor `Sync` (it holds a raw CUDA stream), so the opened
//! device is kept per thread; training runs on one thread. Driver errors are shown by their
//! code (`CUDA_ERROR_NO_DEVICE`): cudarc's `Debug` of an error `unwrap`s the driver's description.

use crate::device::Device;
use crate::error::NnError;
use cudarc::driver::{result, sys};
use dfdx::tensor::{Cache, Cuda, CudaError};
use std::cell::OnceCell;

thread_local! {
    /// The device and its GPU's name, or why it cannot be used.
    static OPENED: OnceCell<Result<(Cuda, String), String>> = const { OnceCell::new() };
}

/// The process's CUDA device (GPU 0) and its name; the first call opens it.
pub(super) fn open() -> Result<(Cuda, String), NnError> {
    OPENED
        .with(|cell| cell.get_or_init(|| guarded(build)).clone())
        .map_err(|reason| NnError::Unavailable { device: Device::Cuda.name(), reason })
}

fn guarded(f: fn() -> Result<(Cuda, String), String>) -> Result<(Cuda, String), String> {
    std::panic::catch_unwind(f).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into());
        Err(format!("the CUDA driver bindings panicked: {message}"))
    })
}

fn build() -> Result<(Cuda, String), String> {
    result::init()
        .map_err(|e| format!("the CUDA driver does not start ({:?}); is an NVIDIA GPU and its driver present?", e.0))?;
    let count =
        result::device::get_count().map_err(|e| format!("the CUDA driver cannot count its GPUs ({:?})", e.0))?;
    if count < 1 {
        return Err("the CUDA driver finds no GPU".into());
    }
    let device = result::device::get(0).map_err(|e| format!("the CUDA driver cannot open GPU 0 ({:?})", e.0))?;
    let mut name = [0 as std::ffi::c_char; 256];
    // SAFETY: `name` holds 256 bytes, the length passed; the driver writes a NUL-terminated string
    // of at most that many bytes into it, and `device` is a handle the driver just returned.
    let status = unsafe { sys::cuDeviceGetName(name.as_mut_ptr(), name.len() as i32, device) };
    status.result().map_err(|e| format!("the CUDA driver cannot name GPU 0 ({:?})", e.0))?;
    // SAFETY: the driver NUL-terminated the string within the buffer (checked by `status`).
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_string_lossy().trim().to_string();
    // dfdx's own random generator is never used: weights are drawn on the host.
    let cuda = Cuda::try_build(0, 0).map_err(|e| format!("dfdx cannot open GPU 0 ({name}): {}", code(&e)))?;
    // dfdx's allocation cache: a training step frees and allocates the same large buffers each
    // time (off on the CPU, whose ops build tensors from vectors; see `Trainer::new`).
    cuda.try_enable_cache().map_err(|e| format!("dfdx cannot enable its allocation cache on {name}: {}", code(&e)))?;
    Ok((cuda, name))
}

/// A dfdx CUDA error by its code (see the module header on cudarc's `Debug`).
fn code(e: &CudaError) -> String {
    match e {
        CudaError::Driver(d) => format!("{:?}", d.0),
        CudaError::Blas(b) => format!("{:?}", b.0),
        CudaError::Cpu(c) => format!("{c:?}"),
    }
}
