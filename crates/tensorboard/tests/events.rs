//! Writes event files through the public API and reads them back: decoding with prost checks
//! every field, hand-assembled wire bytes pin the field numbers (a round trip through the same
//! structs could not catch a wrong one), and damaged files must fail with their path named.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use prost::Message;
use tensorboard::proto::{event, summary, DataType, Event};
use tensorboard::{file_name, read_event_file, read_records, EventWriter, TensorboardError, FILE_VERSION};

const T0: f64 = 1_700_000_123.75;

fn only_file(dir: &Path) -> std::path::PathBuf {
    let entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries.into_iter().next().unwrap()
}

/// The single summary value of an event, or a failure naming what was there instead.
fn single_value(event: &Event) -> &summary::Value {
    match &event.what {
        Some(event::What::Summary(s)) => {
            assert_eq!(s.value.len(), 1);
            &s.value[0]
        }
        other => panic!("expected a summary, got {other:?}"),
    }
}

#[test]
fn file_name_format() {
    assert_eq!(file_name(T0, "node7"), "events.out.tfevents.1700000123.node7");
    assert_eq!(file_name(0.0, "h"), "events.out.tfevents.0.h");
    assert_eq!(file_name(f64::NAN, "h"), "events.out.tfevents.0.h");
    assert_eq!(file_name(5.0, "a/b\\c"), "events.out.tfevents.5.a_b_c");
}

#[test]
fn writes_and_decodes_every_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested/run_a");
    let mut w = EventWriter::create(&dir, T0, "host1").unwrap();
    assert_eq!(w.path(), dir.join("events.out.tfevents.1700000123.host1"));
    let config = "[model]\nlatent_dim = 8  # ünïcode ✓\n";
    w.text("config", 0, config, T0 + 0.5).unwrap();
    w.scalar("loss/train", 1, 0.125, T0 + 1.0).unwrap();
    w.scalar("loss/val", 1, -3.5e-7, T0 + 1.25).unwrap();
    w.scalar("loss/train", 2, f32::MAX, T0 + 2.0).unwrap();
    w.scalar("loss/train", i64::MAX, f32::NEG_INFINITY, T0 + 3.0).unwrap();
    w.flush().unwrap();
    let path = w.path().to_path_buf();
    drop(w);
    assert_eq!(only_file(&dir), path);

    let events = read_event_file(&path).unwrap();
    assert_eq!(events.len(), 6);

    assert_eq!(events[0], Event { wall_time: T0, step: 0, what: Some(event::What::FileVersion(FILE_VERSION.into())) });
    assert_eq!(FILE_VERSION, "brain.Event:2");

    let text = &events[1];
    assert_eq!((text.wall_time, text.step), (T0 + 0.5, 0));
    let v = single_value(text);
    assert_eq!(v.tag, "config");
    let plugin = v.metadata.as_ref().unwrap().plugin_data.as_ref().unwrap();
    assert_eq!(plugin.plugin_name, "text");
    assert!(plugin.content.is_empty());
    let Some(summary::value::Value::Tensor(t)) = &v.value else { panic!("{v:?}") };
    assert_eq!(t.dtype, DataType::DtString as i32);
    assert_eq!(t.dtype, 7);
    assert!(t.tensor_shape.as_ref().unwrap().dim.is_empty(), "scalar shape []");
    assert_eq!(t.string_val, vec![config.as_bytes().to_vec()]);

    let scalars: Vec<(f64, i64, &str, f32)> = events[2..]
        .iter()
        .map(|e| {
            let v = single_value(e);
            assert!(v.metadata.is_none());
            let Some(summary::value::Value::SimpleValue(x)) = v.value else { panic!("{v:?}") };
            (e.wall_time, e.step, v.tag.as_str(), x)
        })
        .collect();
    assert_eq!(
        scalars,
        vec![
            (T0 + 1.0, 1, "loss/train", 0.125),
            (T0 + 1.25, 1, "loss/val", -3.5e-7),
            (T0 + 2.0, 2, "loss/train", f32::MAX),
            (T0 + 3.0, i64::MAX, "loss/train", f32::NEG_INFINITY),
        ]
    );
}

#[test]
fn nan_scalar_is_written_as_nan() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(tmp.path(), T0, "h").unwrap();
    w.scalar("x", 3, f32::NAN, T0).unwrap();
    w.flush().unwrap();
    let events = read_event_file(w.path()).unwrap();
    let Some(summary::value::Value::SimpleValue(x)) = single_value(&events[1]).value else { panic!() };
    assert!(x.is_nan());
}

/// Protobuf wire bytes assembled by hand from the field numbers of TensorFlow's `.proto` files,
/// compared with the bytes on disk. Fields appear in field-number order, as prost (and the
/// reference implementations) serialize them.
#[test]
fn wire_bytes_match_tensorflow_field_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(tmp.path(), 2.0, "h").unwrap();
    w.scalar("ab", 3, 1.5, 4.0).unwrap();
    w.text("t", 5, "hi", 6.0).unwrap();
    w.flush().unwrap();
    let records = read_records(&fs::read(w.path()).unwrap()).unwrap();
    assert_eq!(records.len(), 3);

    let fixed64 = |x: f64| x.to_le_bytes().to_vec();
    // Event.wall_time = 1 (wire type 1, fixed64): key 0x09. Event.file_version = 3 (string): 0x1a.
    let mut version = vec![0x09];
    version.extend(fixed64(2.0));
    version.extend([0x1a, 13]);
    version.extend(b"brain.Event:2");
    assert_eq!(records[0], version);

    // Summary.Value: tag = 1 (0x0a), simple_value = 2 (wire type 5, fixed32): 0x15.
    let mut value = vec![0x0a, 2, b'a', b'b', 0x15];
    value.extend(1.5f32.to_le_bytes());
    // Summary.value = 1 (0x0a); Event: wall_time 0x09, step = 2 (varint) 0x10, summary = 5 (0x2a).
    let mut scalar = vec![0x09];
    scalar.extend(fixed64(4.0));
    scalar.extend([0x10, 3, 0x2a, value.len() as u8 + 2, 0x0a, value.len() as u8]);
    scalar.extend(&value);
    assert_eq!(records[1], scalar);

    // TensorProto: dtype = 1 (varint) DT_STRING = 7: 0x08 0x07; tensor_shape = 2 (empty message)
    // 0x12 0x00; string_val = 8 (bytes) 0x42.
    let tensor = [0x08, 7, 0x12, 0, 0x42, 2, b'h', b'i'];
    // SummaryMetadata.plugin_data = 1 (0x0a) { plugin_name = 1 (0x0a) "text" }; content is empty
    // and therefore absent.
    let metadata = [0x0a, 6, 0x0a, 4, b't', b'e', b'x', b't'];
    // Summary.Value: tag = 1, tensor = 8 (0x42), metadata = 9 (0x4a).
    let mut value = vec![0x0a, 1, b't', 0x42, tensor.len() as u8];
    value.extend(tensor);
    value.extend([0x4a, metadata.len() as u8]);
    value.extend(metadata);
    let mut text = vec![0x09];
    text.extend(fixed64(6.0));
    text.extend([0x10, 5, 0x2a, value.len() as u8 + 2, 0x0a, value.len() as u8]);
    text.extend(&value);
    assert_eq!(records[2], text);

    // And prost agrees with the hand-made bytes.
    assert_eq!(Event::decode(text.as_slice()).unwrap(), read_event_file(w.path()).unwrap()[2]);
}

#[test]
fn file_version_record_is_on_disk_after_create() {
    // A reader that opens the file before the first epoch ends sees a valid one-record file.
    let tmp = tempfile::tempdir().unwrap();
    let w = EventWriter::create(tmp.path(), T0, "h").unwrap();
    let events = read_event_file(w.path()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].what, Some(event::What::FileVersion("brain.Event:2".into())));
}

#[test]
fn truncated_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(tmp.path(), T0, "h").unwrap();
    w.scalar("x", 1, 1.0, T0).unwrap();
    w.flush().unwrap();
    let path = w.path().to_path_buf();
    drop(w);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let err = read_event_file(&path).unwrap_err();
    assert!(matches!(err, TensorboardError::Record { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("record 1") && msg.contains("truncated"), "{msg}");
}

#[test]
fn corrupted_byte_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(tmp.path(), T0, "h").unwrap();
    w.scalar("loss", 1, 1.0, T0).unwrap();
    w.flush().unwrap();
    let path = w.path().to_path_buf();
    drop(w);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 6; // inside the scalar's f32
    bytes[last] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let err = read_event_file(&path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()) && msg.contains("CRC"), "{msg}");
}

#[test]
fn undecodable_record_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("events.out.tfevents.0.h");
    // Well framed, but 0xff is not a valid protobuf key.
    fs::write(&path, tensorboard::record::encode_record(&[0xff])).unwrap();
    let err = read_event_file(&path).unwrap_err();
    assert!(matches!(err, TensorboardError::Decode { index: 0, .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("nope");
    let err = read_event_file(&path).unwrap_err();
    assert!(matches!(err, TensorboardError::Read { .. }));
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn existing_file_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let first = EventWriter::create(tmp.path(), T0, "h").unwrap();
    let before = fs::read(first.path()).unwrap();
    let err = EventWriter::create(tmp.path(), T0, "h").unwrap_err();
    assert!(matches!(err, TensorboardError::Create { .. }), "{err:?}");
    assert!(err.to_string().contains(&first.path().display().to_string()), "{err}");
    assert_eq!(fs::read(first.path()).unwrap(), before);
}

#[test]
fn directory_that_is_a_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("file");
    fs::write(&blocker, b"x").unwrap();
    let dir = blocker.join("run");
    let err = EventWriter::create(&dir, T0, "h").unwrap_err();
    assert!(matches!(err, TensorboardError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
}
