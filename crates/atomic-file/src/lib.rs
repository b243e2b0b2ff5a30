//! Atomic file replacement, the one piece of code every crate that writes a file uses: the content
//! goes to a temporary file in the destination's directory (so the rename stays on one file
//! system), is flushed and fsynced, renamed over the destination, and the directory is fsynced so
//! that the rename itself survives a crash. A reader, or a rerun after `kill -9` or a power cut,
//! sees the old file or the new one, never a half-written one; two writers of the same
//! destination never share a temporary file.
//!
//! Errors are plain `io::Error`s (or the caller's error type): each caller names the file in its
//! own error type.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes concurrent writers inside one process; the pid distinguishes processes.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The temporary name next to `path`: hidden, and unique to this process and call.
fn temp_path(dir: &Path, name: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Writes `path` through `fill`, creating its directory if needed. On any error the temporary
/// file is removed and `path` is left as it was.
pub fn write_with<E, F>(path: &Path, fill: F) -> Result<(), E>
where
    E: From<io::Error>,
    F: FnOnce(&mut BufWriter<File>) -> Result<(), E>,
{
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_string()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name").into());
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let tmp = temp_path(&dir, &name);
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp)?);
        fill(&mut out)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        // Durable before it becomes visible: a crash must not leave an empty file under the name.
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(&dir)?;
        Ok(())
    })();
    if result.is_err() {
        // Best effort: the write already failed, and that error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Makes a rename in `dir` durable. Directories cannot be opened for syncing everywhere (not on
/// Windows); where they cannot, the rename is as durable as the platform makes it.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir) {
        Ok(d) => match d.sync_all() {
            // Some file systems refuse to sync a directory handle; the data itself is synced.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput || e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
            other => other,
        },
        Err(_) if cfg!(windows) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        write(&path, b"old").unwrap();
        let e = write_with(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("disk full"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["f.bin"]);
    }

    #[test]
    fn creates_the_directory_and_replaces_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/f.bin");
        write(&path, b"x").unwrap();
        write(&path, b"yz").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"yz");
        assert_eq!(names(&dir.path().join("a/b")), ["f.bin"]);
    }

    #[test]
    fn the_caller_error_type_passes_through() {
        #[derive(Debug)]
        enum MyError {
            Io,
            Mine(&'static str),
        }
        impl From<io::Error> for MyError {
            fn from(_: io::Error) -> Self {
                MyError::Io
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let r: Result<(), MyError> = write_with(&dir.path().join("f"), |_| Err(MyError::Mine("no")));
        assert!(matches!(r, Err(MyError::Mine("no"))));
        let r: Result<(), MyError> = write_with(Path::new("/"), |_| Ok(()));
        assert!(matches!(r, Err(MyError::Io)), "a path without a file name");
        assert!(names(dir.path()).is_empty());
    }
}
