//! TFRecord framing, the container format of event files:
//!
//! ```text
//! u64 LE  length of data
//! u32 LE  masked CRC-32C of the 8 length bytes
//! [u8]    data (one serialized `Event`)
//! u32 LE  masked CRC-32C of data
//! ```
//!
//! The length has its own checksum so that a reader can tell a torn length (a file read while
//! it is being written) from a real one before it trusts it to skip ahead.

use crc::{Crc, CRC_32_ISCSI};

/// CRC-32C (Castagnoli, the iSCSI polynomial). The 256-entry table is built at compile time.
const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// Added after the rotation by [`mask`] (the constant TensorFlow uses).
const MASK_DELTA: u32 = 0xa282_ead8;

/// Bytes of framing before the data: the length and its CRC.
const HEADER_LEN: usize = 8 + 4;

/// Bytes of framing after the data: its CRC.
const FOOTER_LEN: usize = 4;

/// Plain CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    CASTAGNOLI.checksum(bytes)
}

/// TensorFlow's CRC mask: `((c >> 15) | (c << 17)) + 0xa282ead8` (wrapping). It exists because
/// computing the CRC of a string that itself contains CRCs is weak; the readers apply the same.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The masked CRC-32C of `bytes`, as stored in a record.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    mask(crc32c(bytes))
}

/// Frames `data` as one TFRecord.
pub fn encode_record(data: &[u8]) -> Vec<u8> {
    // usize → u64 never loses bits on the platforms Rust supports (usize is at most 64 bits).
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(HEADER_LEN + data.len() + FOOTER_LEN);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// Which part of a record a [`RecordError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Header,
    Data,
    DataCrc,
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Section::Header => "length and its CRC",
            Section::Data => "data",
            Section::DataCrc => "data CRC",
        })
    }
}

/// Why a byte string is not a sequence of whole, intact records. Offsets are of the start of
/// the failing record, so that the message points at where to look in a hex dump. (This error
/// has no file name; [`crate::read_event_file`] wraps it in one that does.)
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record {index} at byte {offset} is truncated in its {section}: needs {needed} bytes, {available} left")]
    Truncated { index: usize, offset: usize, section: Section, needed: u64, available: usize },
    #[error("record {index} at byte {offset}: CRC of the length does not match (stored {stored:#010x}, computed {computed:#010x})")]
    LengthCrc { index: usize, offset: usize, stored: u32, computed: u32 },
    #[error("record {index} at byte {offset}: CRC of the {len} data bytes does not match (stored {stored:#010x}, computed {computed:#010x})")]
    DataCrc { index: usize, offset: usize, len: usize, stored: u32, computed: u32 },
}

/// Splits `bytes` into the data of its records, verifying both CRCs of every record. Trailing
/// bytes that do not form a whole record are an error (a writer that was killed mid-record, or
/// a file read before its last flush completed).
pub fn read_records(bytes: &[u8]) -> Result<Vec<Vec<u8>>, RecordError> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let index = records.len();
        let rest = &bytes[offset..];
        let truncated =
            |section, needed: u64, available| RecordError::Truncated { index, offset, section, needed, available };
        let Some((len_bytes, len_crc, body)) = rest
            .split_first_chunk::<8>()
            .and_then(|(len, after)| after.split_first_chunk::<4>().map(|(crc, body)| (len, crc, body)))
        else {
            return Err(truncated(Section::Header, HEADER_LEN as u64, rest.len()));
        };
        let stored = u32::from_le_bytes(*len_crc);
        let computed = masked_crc32c(len_bytes);
        if stored != computed {
            return Err(RecordError::LengthCrc { index, offset, stored, computed });
        }
        let len = u64::from_le_bytes(*len_bytes);
        // A length beyond usize cannot fit in memory, so it is necessarily truncated too.
        let Some((data, after)) = usize::try_from(len).ok().and_then(|n| body.split_at_checked(n)) else {
            return Err(truncated(Section::Data, len, body.len()));
        };
        let Some(data_crc) = after.first_chunk::<4>() else {
            return Err(truncated(Section::DataCrc, FOOTER_LEN as u64, after.len()));
        };
        let stored = u32::from_le_bytes(*data_crc);
        let computed = masked_crc32c(data);
        if stored != computed {
            return Err(RecordError::DataCrc { index, offset, len: data.len(), stored, computed });
        }
        records.push(data.to_vec());
        offset += HEADER_LEN + data.len() + FOOTER_LEN;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn read_u32(bytes: &[u8]) -> u32 {
        u32::from_le_bytes(bytes.try_into().unwrap())
    }

    #[test]
    fn crc32c_check_value() {
        // The standard check value of CRC-32C (catalogue "check" for CRC-32/ISCSI).
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn crc32c_rfc3720_vectors() {
        // RFC 3720 (iSCSI), appendix B.4.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        let descending: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113F_DB5C);
    }

    #[test]
    // The formula is spelled as TensorFlow writes it, against `rotate_right` in `mask`.
    #[allow(clippy::manual_rotate)]
    fn mask_matches_tensorflow_formula() {
        for c in [0u32, 1, 0x8000, 0xFFFF_FFFF, 0xE306_9283, 0x1234_5678] {
            let expected = ((c >> 15) | (c << 17)).wrapping_add(0xa282_ead8);
            assert_eq!(mask(c), expected, "c = {c:#x}");
        }
        // Hand-computed: rotr(1, 15) = 1 << 17 = 0x20000.
        assert_eq!(mask(1), 0xa284_ead8);
        // Wraps around instead of overflowing.
        assert_eq!(mask(0xFFFF_FFFF), 0xFFFF_FFFFu32.wrapping_add(0xa282_ead8));
        assert_eq!(masked_crc32c(b"123456789"), mask(0xE306_9283));
    }

    #[test]
    fn empty_record_layout() {
        // An empty payload is a legal record: 8 zero length bytes, their CRC, no data, CRC("").
        let rec = encode_record(b"");
        assert_eq!(rec.len(), 16);
        assert_eq!(&rec[..8], &[0u8; 8]);
        assert_eq!(read_u32(&rec[8..12]), masked_crc32c(&[0u8; 8]));
        assert_eq!(read_u32(&rec[12..16]), mask(0));
    }

    #[test]
    fn framing_round_trip() {
        let payloads: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), (0..=255u8).collect(), vec![0xAB; 70_000]];
        let mut file = Vec::new();
        for p in &payloads {
            let rec = encode_record(p);
            assert_eq!(u64::from_le_bytes(rec[..8].try_into().unwrap()), p.len() as u64);
            assert_eq!(&rec[12..12 + p.len()], p.as_slice());
            file.extend_from_slice(&rec);
        }
        assert_eq!(read_records(&file).unwrap(), payloads);
        assert_eq!(read_records(&[]).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let mut file = encode_record(b"first");
        file.extend_from_slice(&encode_record(b"second record"));
        for i in 0..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            let err = read_records(&bad).unwrap_err();
            // The first record spans 12 + 5 + 4 = 21 bytes.
            let (index, offset) = if i < 21 { (0, 0) } else { (1, 21) };
            // The length CRC is checked before the length is trusted, so a flipped length byte is
            // a length CRC error, never a truncation or a misframed next record.
            let in_header = i - offset < HEADER_LEN;
            match err {
                RecordError::LengthCrc { index: n, offset: o, .. } if in_header => {
                    assert_eq!((n, o), (index, offset), "byte {i}")
                }
                RecordError::DataCrc { index: n, offset: o, .. } if !in_header => {
                    assert_eq!((n, o), (index, offset), "byte {i}")
                }
                other => panic!("byte {i}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn data_corruption_reports_data_crc() {
        let mut file = encode_record(b"hello");
        file[12] ^= 0xFF;
        assert!(matches!(read_records(&file), Err(RecordError::DataCrc { index: 0, offset: 0, len: 5, .. })));
    }

    #[test]
    fn every_truncation_is_detected() {
        let mut file = encode_record(b"first");
        file.extend_from_slice(&encode_record(b"second"));
        for cut in 1..file.len() {
            if cut == 21 {
                // Exactly one whole record.
                assert_eq!(read_records(&file[..cut]).unwrap(), vec![b"first".to_vec()]);
                continue;
            }
            let err = read_records(&file[..cut]).unwrap_err();
            assert!(matches!(err, RecordError::Truncated { .. }), "cut at {cut}: {err:?}");
        }
    }

    #[test]
    fn huge_length_is_truncation_not_panic() {
        // A length with a valid CRC that points far past the end of the input.
        let len = u64::MAX.to_le_bytes();
        let mut file = len.to_vec();
        file.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        file.extend_from_slice(b"abc");
        let err = read_records(&file).unwrap_err();
        assert_eq!(
            err,
            RecordError::Truncated { index: 0, offset: 0, section: Section::Data, needed: u64::MAX, available: 3 }
        );
    }
}
