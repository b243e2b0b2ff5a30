//! Writes TensorBoard event files: scalars per epoch and text (the resolved run configuration),
//! readable by `tensorboard --logdir` and its Python `EventAccumulator`.
//!
//! An event file is a sequence of TFRecords ([`record`]), each holding one serialized
//! `tensorflow.Event` protobuf ([`proto`]). The messages are hand-written `prost` structs, so
//! building needs no `protoc` and no build script.
//!
//! ```no_run
//! # fn main() -> Result<(), tensorboard::TensorboardError> {
//! use tensorboard::EventWriter;
//! let mut w = EventWriter::create("runs/r1".as_ref(), 1_700_000_000.0, "host")?;
//! w.text("config", 0, &tensorboard::markdown_code_block("lr = 0.01\n", "toml"), 1_700_000_000.0)?;
//! w.scalar("loss/train", 1, 0.25, 1_700_000_010.5)?;
//! w.flush()?;
//! # Ok(()) }
//! ```

pub mod error;
pub mod proto;
pub mod record;
pub mod writer;

pub use error::TensorboardError;
pub use record::{masked_crc32c, read_records, RecordError};
pub use writer::{file_name, markdown_code_block, read_event_file, EventWriter, FILE_VERSION, TEXT_PLUGIN};
