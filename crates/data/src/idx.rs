//! IDX files, the container format of MNIST and Fashion-MNIST: reading them gzip-compressed or raw
//! with a one-line error for each way a file can be wrong, and writing them (gzip with
//! deterministic bytes, atomically).

use crate::error::{write_atomic, DataError, Result};
use flate2::read::MultiGzDecoder;
use flate2::{Compression, GzBuilder};
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

/// Magic number of an IDX image file: unsigned bytes, 3 dimensions (n, rows, cols).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX label file: unsigned bytes, 1 dimension (n).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Every dataset of this project has 28 × 28 images (the models are built for that size).
pub const IMAGE_ROWS: usize = 28;
pub const IMAGE_COLS: usize = 28;
pub const IMAGE_PIXELS: usize = IMAGE_ROWS * IMAGE_COLS;

/// Level 6 is zlib's default; fixed so that the same content always gives the same bytes.
const GZIP_LEVEL: u32 = 6;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The IDX type byte of unsigned 8-bit data, the only element type this project uses.
const TYPE_U8: u8 = 0x08;

/// The content of an image file: `pixels` holds `n` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    pub n: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// True when `bytes` start like a gzip stream. The file name is not consulted: files are
/// sometimes decompressed without being renamed, or the other way round.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads an image file (magic 2051) of 28 × 28 images.
pub fn read_images(path: &Path) -> Result<Images> {
    let (dims, pixels) = read_idx(path, IMAGES_MAGIC, |dims| match *dims {
        [_, rows, cols] if rows as usize == IMAGE_ROWS && cols as usize == IMAGE_COLS => Ok(()),
        [n, rows, cols] => Err(format!("{n} images of {rows} × {cols} pixels")),
        _ => Err(format!("{} dimensions", dims.len())),
    })?;
    let n = dims.first().map_or(0, |&n| n as usize);
    Ok(Images { n, rows: IMAGE_ROWS, cols: IMAGE_COLS, pixels })
}

/// Reads a label file (magic 2049).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let (_, labels) = read_idx(path, LABELS_MAGIC, |_| Ok(()))?;
    Ok(labels)
}

/// Writes an image file as gzip, atomically. `pixels` must hold `n × rows × cols` bytes.
pub fn write_images(path: &Path, n: usize, rows: usize, cols: usize, pixels: &[u8]) -> Result<()> {
    let invalid = |message: String| DataError::Invalid { file: path.to_path_buf(), message };
    let expected = n.checked_mul(rows).and_then(|v| v.checked_mul(cols));
    if expected != Some(pixels.len()) {
        return Err(invalid(format!(
            "cannot write {n} images of {rows} × {cols} pixels from {} bytes; expected n × rows × cols bytes",
            pixels.len()
        )));
    }
    let dims = [n, rows, cols].map(u32::try_from);
    let [Ok(n32), Ok(r32), Ok(c32)] = dims else {
        return Err(invalid(format!("dimensions {n} × {rows} × {cols} do not fit the IDX format (u32 each)")));
    };
    write_idx(path, &[n32, r32, c32], pixels)
}

/// Writes a label file as gzip, atomically.
pub fn write_labels(path: &Path, labels: &[u8]) -> Result<()> {
    let Ok(n) = u32::try_from(labels.len()) else {
        return Err(DataError::Invalid {
            file: path.to_path_buf(),
            message: format!("{} labels do not fit the IDX format (at most {})", labels.len(), u32::MAX),
        });
    };
    write_idx(path, &[n], labels)
}

fn write_idx(path: &Path, dims: &[u32], data: &[u8]) -> Result<()> {
    write_atomic(path, |w| {
        // mtime 0 and no file name in the header: the bytes depend on the content alone.
        let mut gz = GzBuilder::new().mtime(0).operating_system(255).write(w, Compression::new(GZIP_LEVEL));
        let ndims = u8::try_from(dims.len()).map_err(|_| io::Error::other("too many dimensions"))?;
        gz.write_all(&[0, 0, TYPE_U8, ndims])?;
        for d in dims {
            gz.write_all(&d.to_be_bytes())?;
        }
        gz.write_all(data)?;
        gz.finish()?;
        Ok(())
    })
}

fn describe_magic(magic: u32) -> String {
    let [a, b, ty, nd] = magic.to_be_bytes();
    match magic {
        IMAGES_MAGIC => "magic number 2051 (an IDX image file)".to_string(),
        LABELS_MAGIC => "magic number 2049 (an IDX label file)".to_string(),
        _ if a == 0 && b == 0 => format!("magic number {magic} (an IDX file of type 0x{ty:02x} with {nd} dimensions)"),
        _ => format!("magic number {magic} (0x{magic:08x}, not an IDX file)"),
    }
}

fn expected_magic(magic: u32) -> String {
    match magic {
        IMAGES_MAGIC => "2051 (IDX images: unsigned bytes, 3 dimensions n × 28 × 28)".to_string(),
        LABELS_MAGIC => "2049 (IDX labels: unsigned bytes, 1 dimension)".to_string(),
        other => other.to_string(),
    }
}

/// Reads a whole file of unsigned bytes with the given magic; `check_dims` refuses shapes the
/// caller cannot use (its message says what was found). Returns the dimensions and the data.
fn read_idx(path: &Path, magic: u32, check_dims: impl Fn(&[u32]) -> Result<(), String>) -> Result<(Vec<u32>, Vec<u8>)> {
    let file = path.to_path_buf();
    let raw = fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => DataError::Missing { file: file.clone(), hint: "no such file".to_string() },
        _ => DataError::Read { file: file.clone(), cause: source },
    })?;
    if raw.is_empty() {
        return Err(DataError::Empty { file, expected: "an IDX file (raw or gzip)" });
    }
    let gzip = is_gzip(&raw);
    let mut reader: Box<dyn Read> =
        if gzip { Box::new(MultiGzDecoder::new(raw.as_slice())) } else { Box::new(raw.as_slice()) };
    let io_err = |e: io::Error| {
        if gzip {
            let message = match e.kind() {
                io::ErrorKind::UnexpectedEof => "the compressed stream ends early (is the file truncated?)".to_string(),
                _ => e.to_string(),
            };
            DataError::Gzip { file: path.to_path_buf(), message }
        } else {
            DataError::Read { file: path.to_path_buf(), cause: e }
        }
    };

    let ndims_expected = (magic & 0xff) as u64;
    let header_len = 4 + 4 * ndims_expected;
    let mut head = [0u8; 4];
    let got = read_up_to(&mut reader, &mut head).map_err(io_err)?;
    if got < head.len() {
        return Err(DataError::Truncated { file, what: "header", expected: header_len, found: got as u64 });
    }
    let found_magic = u32::from_be_bytes(head);
    if found_magic != magic {
        return Err(DataError::Magic { file, found: describe_magic(found_magic), expected: expected_magic(magic) });
    }

    let mut dims = Vec::new();
    for i in 0..ndims_expected {
        let mut d = [0u8; 4];
        let got = read_up_to(&mut reader, &mut d).map_err(io_err)?;
        if got < d.len() {
            return Err(DataError::Truncated {
                file,
                what: "header",
                expected: header_len,
                found: 4 + 4 * i + got as u64,
            });
        }
        dims.push(u32::from_be_bytes(d));
    }
    let expected_dims = || match magic {
        IMAGES_MAGIC => format!("n × {IMAGE_ROWS} × {IMAGE_COLS} images"),
        _ => "n labels".to_string(),
    };
    check_dims(&dims).map_err(|found| DataError::Dimensions {
        file: file.clone(),
        found,
        expected: expected_dims(),
    })?;

    let expected = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)));
    let Some(expected) = expected.filter(|&e| usize::try_from(e).is_ok()) else {
        return Err(DataError::Dimensions { file, found: format!("{dims:?} (too large)"), expected: expected_dims() });
    };
    // No capacity from the header: a lying header must not allocate more than the data really has.
    let mut data = Vec::new();
    (&mut reader).take(expected).read_to_end(&mut data).map_err(io_err)?;
    if (data.len() as u64) < expected {
        return Err(DataError::Truncated {
            file,
            what: "data",
            expected: header_len + expected,
            found: header_len + data.len() as u64,
        });
    }
    let extra = io::copy(&mut reader, &mut io::sink()).map_err(io_err)?;
    if extra > 0 {
        return Err(DataError::TrailingData { file, expected: header_len + expected, found: extra });
    }
    Ok((dims, data))
}

/// Fills `buf` as far as the stream allows; returns how many bytes were read.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn pixels(n: usize) -> Vec<u8> {
        (0..n * IMAGE_PIXELS).map(|i| (i * 7 % 256) as u8).collect()
    }

    /// The uncompressed bytes of an IDX file, for writing broken variants of it.
    fn raw_idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn put(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    fn images_err(path: &Path) -> String {
        let e = read_images(path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "message must name the file: {e}");
        assert!(!e.contains('\n'), "message must be one line: {e}");
        e
    }

    #[test]
    fn round_trip_images_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let px = pixels(3);
        let ip = dir.path().join("img.gz");
        let lp = dir.path().join("lab.gz");
        write_images(&ip, 3, 28, 28, &px).unwrap();
        write_labels(&lp, &[7, 0, 9]).unwrap();
        assert!(is_gzip(&fs::read(&ip).unwrap()));
        assert_eq!(read_images(&ip).unwrap(), Images { n: 3, rows: 28, cols: 28, pixels: px });
        assert_eq!(read_labels(&lp).unwrap(), vec![7, 0, 9]);
    }

    #[test]
    fn gzip_is_detected_by_content_not_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let px = pixels(2);
        let raw = raw_idx(IMAGES_MAGIC, &[2, 28, 28], &px);
        let raw_named_gz = put(&dir, "raw.gz", &raw);
        let gz_named_raw = put(&dir, "packed-idx3-ubyte", &gzip(&raw));
        assert_eq!(read_images(&raw_named_gz).unwrap().pixels, px);
        assert_eq!(read_images(&gz_named_raw).unwrap().pixels, px);
    }

    #[test]
    fn writes_are_deterministic_with_a_zero_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.gz"), dir.path().join("b.gz"));
        write_images(&a, 2, 28, 28, &pixels(2)).unwrap();
        write_images(&b, 2, 28, 28, &pixels(2)).unwrap();
        let (ba, bb) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
        assert_eq!(ba, bb);
        assert_eq!(ba.get(4..8), Some(&[0u8, 0, 0, 0][..]), "gzip mtime must be 0");
    }

    #[test]
    fn writer_refuses_a_buffer_of_the_wrong_length() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gz");
        let e = write_images(&p, 2, 28, 28, &pixels(1)).unwrap_err().to_string();
        assert!(e.contains("784 bytes") && e.contains("x.gz"), "{e}");
        assert!(!p.exists());
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = images_err(&dir.path().join("nope.gz"));
        assert!(e.contains("missing"), "{e}");
    }

    #[test]
    fn empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = images_err(&put(&dir, "empty.gz", b""));
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn labels_where_images_are_expected() {
        let dir = tempfile::tempdir().unwrap();
        let p = put(&dir, "l", &raw_idx(LABELS_MAGIC, &[1], &[3]));
        let e = images_err(&p);
        assert!(e.contains("2049") && e.contains("label") && e.contains("expected 2051"), "{e}");
    }

    #[test]
    fn not_an_idx_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = images_err(&put(&dir, "t.txt", b"hello world, this is text"));
        assert!(e.contains("not an IDX file") && e.contains("2051"), "{e}");
    }

    #[test]
    fn images_of_the_wrong_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = put(&dir, "big", &gzip(&raw_idx(IMAGES_MAGIC, &[1, 32, 32], &[0; 1024])));
        let e = images_err(&p);
        assert!(e.contains("32 × 32") && e.contains("28 × 28"), "{e}");
    }

    #[test]
    fn truncated_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = raw_idx(IMAGES_MAGIC, &[1, 28, 28], &[]);
        bytes.truncate(9);
        let e = images_err(&put(&dir, "h", &bytes));
        assert!(e.contains("header") && e.contains("expected 16 bytes, found 9"), "{e}");
        let e = images_err(&put(&dir, "h2", &[0, 0, 8]));
        assert!(e.contains("expected 16 bytes, found 3"), "{e}");
    }

    #[test]
    fn truncated_data_says_expected_and_found_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = raw_idx(IMAGES_MAGIC, &[2, 28, 28], &pixels(1));
        for (name, content) in [("raw", bytes.clone()), ("gz", gzip(&bytes))] {
            let e = images_err(&put(&dir, name, &content));
            assert!(e.contains("truncated data: expected 1584 bytes, found 800"), "{name}: {e}");
        }
        let e = read_labels(&put(&dir, "l", &raw_idx(LABELS_MAGIC, &[5], &[1, 2]))).unwrap_err().to_string();
        assert!(e.contains("expected 13 bytes, found 10"), "{e}");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_labels(&put(&dir, "l", &raw_idx(LABELS_MAGIC, &[2], &[1, 2, 3, 4]))).unwrap_err().to_string();
        assert!(e.contains("2 bytes after the data") && e.contains("after 10 bytes"), "{e}");
    }

    #[test]
    fn cut_gzip_stream() {
        let dir = tempfile::tempdir().unwrap();
        let full = gzip(&raw_idx(IMAGES_MAGIC, &[50, 28, 28], &pixels(50)));
        let cut = full.get(..full.len() / 2).unwrap();
        let e = images_err(&put(&dir, "cut.gz", cut));
        assert!(e.contains("corrupt gzip data") && e.contains("ends early"), "{e}");
    }

    #[test]
    fn corrupt_gzip_stream() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = gzip(&raw_idx(IMAGES_MAGIC, &[50, 28, 28], &pixels(50)));
        let mid = bytes.len() / 2;
        for b in bytes.iter_mut().skip(mid).take(64) {
            *b ^= 0x5a;
        }
        let e = images_err(&put(&dir, "bad.gz", &bytes));
        assert!(e.contains("corrupt gzip"), "{e}");
        // A gzip magic followed by garbage.
        let e = images_err(&put(&dir, "junk.gz", &[0x1f, 0x8b, 1, 2, 3, 4, 5]));
        assert!(e.contains("gzip"), "{e}");
    }

    #[test]
    fn a_lying_header_does_not_allocate_what_it_claims() {
        let dir = tempfile::tempdir().unwrap();
        let p = put(&dir, "huge", &gzip(&raw_idx(IMAGES_MAGIC, &[u32::MAX, 28, 28], &[0; 100])));
        let e = images_err(&p);
        assert!(e.contains("truncated data") && e.contains("found 116"), "{e}");
    }
}
