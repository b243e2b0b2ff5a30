//! Atomic file replacement: write to a temp file unique to this process in the same directory,
//! flush it to disk, rename it over the target. Readers see the old file or the new one, never a
//! half-written one, and two processes writing the same target never share a temp file.

use crate::error::ResultsError;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Writes through `fill`, then renames into place.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), ResultsError> {
    let tmp = temp_path(path);
    let result = (|| -> Result<(), ResultsError> {
        let mut f = File::create(&tmp).map_err(|e| ResultsError::io(&tmp, e))?;
        fill(&mut f).map_err(|e| ResultsError::Write { file: path.to_path_buf(), message: e.to_string() })?;
        f.flush().map_err(|e| ResultsError::io(&tmp, e))?;
        f.sync_all().map_err(|e| ResultsError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| ResultsError::io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes bytes atomically.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    write_with(path, |f| Ok(f.write_all(bytes)?))
}
