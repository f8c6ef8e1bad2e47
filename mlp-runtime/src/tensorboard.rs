//! TensorBoard event files, written the way TensorFlow 2 writes them for Keras's
//! `keras.callbacks.TensorBoard`, so that an mlp run and a Keras run overlay in one
//! TensorBoard.
//!
//! # The format
//! An event file is a sequence of records (TensorFlow's `TFRecord` framing,
//! `tensorflow/core/lib/io/record_writer.cc`):
//!
//! ```text
//! u64 LE   length of data
//! u32 LE   masked crc32c of the 8 length bytes
//! [u8]     data: one serialized `tensorflow.Event` protobuf
//! u32 LE   masked crc32c of data
//! ```
//!
//! with `masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282_ead8` (wrapping). The first
//! event of a file carries `file_version = "brain.Event:2"` (and a `source_metadata`
//! naming the writer), its `wall_time` the whole seconds of the file name. Each scalar is
//! then one event with a `summary` holding one value, exactly as TF2's `tf.summary.scalar`
//! writes it (read from files TensorFlow 2.21 wrote for Keras 3.15):
//!
//! ```text
//! Event { wall_time: f64 (1), step: i64 (2, omitted when 0),
//!         summary (5): Summary { value (1): Value {
//!             tag (1): "epoch_loss",
//!             tensor (8): TensorProto { dtype (1): DT_FLOAT = 1, tensor_shape (2): {} (a
//!                 scalar), tensor_content (4): the f32's 4 little-endian bytes },
//!             metadata (9): SummaryMetadata { plugin_data (1): { plugin_name (1): "scalars" } },
//!         } } }
//! ```
//!
//! The messages are small and fixed, so they are encoded here by hand (fields in
//! field-number order, proto3 defaults omitted, as protobuf serializers do), not with a
//! protobuf library.
//!
//! # Keras's layout
//! [`TensorBoardLog`] lays files out as Keras's callback does (`keras/src/callbacks/
//! tensorboard.py`, `TensorBoard._log_epoch_metrics` and `on_test_end`):
//! - `<log_dir>/train/` gets, at each epoch's end, `epoch_<name>` for every History entry
//!   not starting with `val_`, then `epoch_learning_rate` (the optimiser's current rate,
//!   written every epoch), at `step = epoch` (0-based);
//! - `<log_dir>/validation/` gets `epoch_<name>` for every `val_<name>` entry, at
//!   `step = epoch`, and after each evaluation `evaluation_<name>_vs_iterations` at
//!   `step = ` the optimiser's `iterations`;
//! - file names are `events.out.tfevents.<secs, 10 digits>.<hostname>.<pid>.<n>.v2`,
//!   `<n>` counting the files this process created (TensorFlow's global counter).
//!
//! Keras also writes a `keras` text summary of the model's config to `train/` at step 0
//! (plugin `graph_keras_model`); mlp has no Keras config to write, so it writes none.
//!
//! # Invariants
//! - A record is written whole or not at all into the writer's buffer; the buffer reaches
//!   the file at [`EventWriter::flush`] (once per epoch) and at [`EventWriter::close`].
//!   An event file is an append-only log by design (TensorBoard reads it while training
//!   runs), so it is not written through [`crate::fs`]'s atomic writer; a process killed
//!   mid-write leaves at most one truncated last record, which TensorBoard's reader skips.
//! - An existing file is never overwritten: a name already taken is an error.
//! - Every error names the file or folder it is about; nothing here panics on I/O.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// The `file_version` of the first event of every file (TensorFlow's `kVersionPrefix` +
/// version 2).
pub const FILE_VERSION: &str = "brain.Event:2";

/// The `plugin_name` of scalar summaries (TensorBoard's scalars plugin).
pub const SCALARS_PLUGIN: &str = "scalars";

/// The `source_metadata.writer` of the files written here (TensorFlow writes
/// `tensorflow.core.util.events_writer`).
pub const WRITER_NAME: &str = "mlp";

/// The file-name suffix TF2's `tf.summary.create_file_writer` gives its files.
pub const TF2_SUFFIX: &str = ".v2";

/// The subfolder of the training scalars (Keras's `TensorBoard._train_dir`).
pub const TRAIN_DIR: &str = "train";

/// The subfolder of the validation scalars (Keras's `TensorBoard._val_dir`).
pub const VALIDATION_DIR: &str = "validation";

/// `DT_FLOAT` in TensorFlow's `DataType` enum.
const DT_FLOAT: u64 = 1;

/// Added to the rotated crc by [`masked_crc32c`] (TensorFlow's `kMaskDelta`).
const MASK_DELTA: u32 = 0xa282_ead8;

/// A failure to create or write an event file.
#[derive(Debug, Error)]
pub enum TensorBoardError {
    /// A folder of the log directory could not be created.
    #[error("cannot create the TensorBoard folder `{}`: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// An event file could not be created (an existing file of that name included).
    #[error("cannot create the TensorBoard event file `{}`: {source}", path.display())]
    CreateFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing or flushing an event file failed.
    #[error("cannot write the TensorBoard event file `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// TensorFlow's masked crc32c of `bytes`: the crc32c (Castagnoli), rotated right by 15
/// bits, plus `0xa282ead8` (`tensorflow/core/lib/hash/crc32c.h`, `Mask`).
#[must_use]
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Appends one record (length, masked crc of the length, `data`, masked crc of `data`).
fn frame_record(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Protobuf wire-format encoding of the few fields used here.
mod proto {
    /// Wire type of varints.
    const VARINT: u64 = 0;
    /// Wire type of 64-bit fixed-width fields (double).
    const FIXED64: u64 = 1;
    /// Wire type of length-delimited fields (strings, bytes, messages).
    const LEN: u64 = 2;

    pub(super) fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn key(field: u64, wire_type: u64, out: &mut Vec<u8>) {
        varint((field << 3) | wire_type, out);
    }

    /// A varint field (`int64` as its two's complement, as protobuf does), omitted when
    /// 0 (proto3).
    pub(super) fn uint(field: u64, v: u64, out: &mut Vec<u8>) {
        if v != 0 {
            key(field, VARINT, out);
            varint(v, out);
        }
    }

    /// A `double` field, omitted when +0.0 (proto3).
    pub(super) fn double(field: u64, v: f64, out: &mut Vec<u8>) {
        if v.to_bits() != 0 {
            key(field, FIXED64, out);
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A length-delimited field, written even when empty (for sub-messages whose
    /// presence matters, such as a scalar's empty `tensor_shape`).
    pub(super) fn bytes(field: u64, v: &[u8], out: &mut Vec<u8>) {
        key(field, LEN, out);
        varint(v.len() as u64, out);
        out.extend_from_slice(v);
    }
}

/// The serialized first event: `wall_time`, `file_version`, `source_metadata`.
fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut source_metadata = Vec::new();
    proto::bytes(1, WRITER_NAME.as_bytes(), &mut source_metadata);
    let mut event = Vec::new();
    proto::double(1, wall_time, &mut event);
    proto::bytes(3, FILE_VERSION.as_bytes(), &mut event);
    proto::bytes(10, &source_metadata, &mut event);
    event
}

/// The serialized event of one scalar, as TF2's `tf.summary.scalar` writes it.
fn scalar_event(tag: &str, step: i64, value: f32, wall_time: f64) -> Vec<u8> {
    let mut tensor = Vec::new();
    proto::uint(1, DT_FLOAT, &mut tensor);
    proto::bytes(2, &[], &mut tensor);
    proto::bytes(4, &value.to_le_bytes(), &mut tensor);
    let mut plugin_data = Vec::new();
    proto::bytes(1, SCALARS_PLUGIN.as_bytes(), &mut plugin_data);
    let mut metadata = Vec::new();
    proto::bytes(1, &plugin_data, &mut metadata);
    let mut value_msg = Vec::new();
    proto::bytes(1, tag.as_bytes(), &mut value_msg);
    proto::bytes(8, &tensor, &mut value_msg);
    proto::bytes(9, &metadata, &mut value_msg);
    let mut summary = Vec::new();
    proto::bytes(1, &value_msg, &mut summary);
    let mut event = Vec::new();
    proto::double(1, wall_time, &mut event);
    proto::uint(2, step as u64, &mut event);
    proto::bytes(5, &summary, &mut event);
    event
}

/// The parts of an event file's name,
/// `events.out.tfevents.<secs>.<hostname>.<pid>.<index><suffix>` (TensorFlow's
/// `EventsWriter::InitIfNeeded`, `secs` zero-padded to 10 digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFileName {
    /// Whole seconds since the Unix epoch when the file is created; also the `wall_time`
    /// of its first event.
    pub secs: u64,
    /// The machine's host name.
    pub hostname: String,
    /// The process id.
    pub pid: u32,
    /// The number of event files this process created before this one.
    pub index: u64,
    /// Appended after the index: [`TF2_SUFFIX`] (`.v2`) for TF2-style files.
    pub suffix: String,
}

/// The per-process count of event files created, TensorFlow's global file counter.
static NEXT_FILE_INDEX: AtomicU64 = AtomicU64::new(0);

impl EventFileName {
    /// The name of a new file created now by this process: the current time, this host and
    /// process, the next value of the process's file counter, and the `.v2` suffix.
    #[must_use]
    pub fn now() -> EventFileName {
        EventFileName {
            secs: unix_time().trunc() as u64,
            hostname: hostname(),
            pid: std::process::id(),
            index: NEXT_FILE_INDEX.fetch_add(1, Ordering::Relaxed),
            suffix: TF2_SUFFIX.to_owned(),
        }
    }

    /// The file name.
    #[must_use]
    pub fn file_name(&self) -> String {
        format!(
            "events.out.tfevents.{:010}.{}.{}.{}{}",
            self.secs, self.hostname, self.pid, self.index, self.suffix
        )
    }
}

/// Seconds since the Unix epoch now, as the `wall_time` of an event (0 if the clock is
/// before 1970).
#[must_use]
pub fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The host name as TensorFlow puts it in file names (`gethostname`): read from the
/// kernel where it can be, else `localhost`.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// One event file being written: a `file_version` event, then scalars.
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
    /// One record's bytes, reused.
    record: Vec<u8>,
}

impl EventWriter {
    /// Creates `dir` (and its parents) if needed, then the file `name` in it, and writes
    /// the first event (`file_version`, at `wall_time = name.secs`).
    ///
    /// # Errors
    /// [`TensorBoardError::CreateDir`] when `dir` cannot be created (e.g. it is a file);
    /// [`TensorBoardError::CreateFile`] when the file exists or cannot be created;
    /// [`TensorBoardError::Write`] when the first event cannot be written.
    pub fn create(dir: &Path, name: &EventFileName) -> Result<EventWriter, TensorBoardError> {
        fs::create_dir_all(dir).map_err(|source| TensorBoardError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(name.file_name());
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| TensorBoardError::CreateFile {
                path: path.clone(),
                source,
            })?;
        let mut writer = EventWriter {
            path,
            file: BufWriter::new(file),
            record: Vec::with_capacity(128),
        };
        writer.write_event(&file_version_event(name.secs as f64))?;
        writer.flush()?;
        Ok(writer)
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one scalar summary (`tag` at `step`, with `wall_time` in seconds since the
    /// Unix epoch) into the buffer; [`EventWriter::flush`] sends it to the file.
    ///
    /// # Errors
    /// [`TensorBoardError::Write`] naming the file when the buffer cannot be written out.
    pub fn add_scalar(
        &mut self,
        tag: &str,
        step: i64,
        value: f32,
        wall_time: f64,
    ) -> Result<(), TensorBoardError> {
        self.write_event(&scalar_event(tag, step, value, wall_time))
    }

    fn write_event(&mut self, event: &[u8]) -> Result<(), TensorBoardError> {
        self.record.clear();
        frame_record(event, &mut self.record);
        let path = &self.path;
        self.file
            .write_all(&self.record)
            .map_err(|source| TensorBoardError::Write {
                path: path.clone(),
                source,
            })
    }

    /// Sends the buffered events to the file.
    ///
    /// # Errors
    /// [`TensorBoardError::Write`] naming the file.
    pub fn flush(&mut self) -> Result<(), TensorBoardError> {
        self.file.flush().map_err(|source| TensorBoardError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Flushes and closes the file, reporting what dropping it would not.
    ///
    /// # Errors
    /// [`TensorBoardError::Write`] naming the file.
    pub fn close(mut self) -> Result<(), TensorBoardError> {
        self.flush()?;
        self.file
            .get_ref()
            .sync_all()
            .map_err(|source| TensorBoardError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// How [`TensorBoardLog`] names its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNaming {
    /// The host name in the file names.
    pub hostname: String,
    /// The process id in the file names.
    pub pid: u32,
    /// The index of the first file; each further file takes the next. `None`: the
    /// process's file counter, as TensorFlow does ([`EventFileName::now`]).
    pub first_index: Option<u64>,
    /// The suffix of the file names ([`TF2_SUFFIX`]).
    pub suffix: String,
}

impl FileNaming {
    /// This host and process, the process's file counter, the `.v2` suffix.
    #[must_use]
    pub fn current() -> FileNaming {
        FileNaming {
            hostname: hostname(),
            pid: std::process::id(),
            first_index: None,
            suffix: TF2_SUFFIX.to_owned(),
        }
    }

    fn name(&mut self, wall_time: f64) -> EventFileName {
        let index = match &mut self.first_index {
            Some(next) => {
                let index = *next;
                *next += 1;
                index
            }
            None => NEXT_FILE_INDEX.fetch_add(1, Ordering::Relaxed),
        };
        EventFileName {
            secs: if wall_time > 0.0 {
                wall_time.trunc() as u64
            } else {
                0
            },
            hostname: self.hostname.clone(),
            pid: self.pid,
            index,
            suffix: self.suffix.clone(),
        }
    }
}

/// A Keras-layout TensorBoard log folder: `train/` and `validation/` event files, scalars
/// named and stepped as `keras.callbacks.TensorBoard` names them (see the module docs).
#[derive(Debug)]
pub struct TensorBoardLog {
    log_dir: PathBuf,
    naming: FileNaming,
    train: EventWriter,
    /// Created at the first validation scalar, as Keras creates its writer at the first
    /// evaluation.
    validation: Option<EventWriter>,
    /// `epoch_<name>` tags, reused.
    tag: String,
}

impl TensorBoardLog {
    /// Creates `log_dir/train/` and its event file (Keras creates the training writer
    /// when training begins), named by `naming` at `wall_time` (seconds since the Unix
    /// epoch; [`unix_time`] for now).
    ///
    /// # Errors
    /// As [`EventWriter::create`].
    pub fn create(
        log_dir: &Path,
        mut naming: FileNaming,
        wall_time: f64,
    ) -> Result<TensorBoardLog, TensorBoardError> {
        let name = naming.name(wall_time);
        let train = EventWriter::create(&log_dir.join(TRAIN_DIR), &name)?;
        Ok(TensorBoardLog {
            log_dir: log_dir.to_owned(),
            naming,
            train,
            validation: None,
            tag: String::new(),
        })
    }

    /// The training event file.
    #[must_use]
    pub fn train_path(&self) -> &Path {
        self.train.path()
    }

    /// The validation event file, once created.
    #[must_use]
    pub fn validation_path(&self) -> Option<&Path> {
        self.validation.as_ref().map(EventWriter::path)
    }

    fn validation_writer(&mut self, wall_time: f64) -> Result<&mut EventWriter, TensorBoardError> {
        let writer = if let Some(writer) = self.validation.take() {
            writer
        } else {
            let name = self.naming.name(wall_time);
            EventWriter::create(&self.log_dir.join(VALIDATION_DIR), &name)?
        };
        Ok(self.validation.insert(writer))
    }

    /// After an evaluation during training (Keras's `on_test_end`): writes
    /// `evaluation_<name>_vs_iterations` to `validation/` for each `(name, value)` of the
    /// evaluation's results (`loss`, `accuracy`, …, without the `val_` prefix), at
    /// `step = iterations` (the optimiser's step count).
    ///
    /// # Errors
    /// As [`EventWriter::create`] and [`EventWriter::add_scalar`].
    pub fn log_evaluation(
        &mut self,
        iterations: i64,
        results: &[(&str, f32)],
        wall_time: f64,
    ) -> Result<(), TensorBoardError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut tag = std::mem::take(&mut self.tag);
        let writer = self.validation_writer(wall_time)?;
        for &(name, value) in results {
            tag.clear();
            tag.push_str("evaluation_");
            tag.push_str(name);
            tag.push_str("_vs_iterations");
            writer.add_scalar(&tag, iterations, value, wall_time)?;
        }
        self.tag = tag;
        Ok(())
    }

    /// At the end of epoch `epoch` (0-based), as Keras's `_log_epoch_metrics`: writes
    /// `epoch_<name>` to `train/` for each History entry of `logs` not starting with
    /// `val_`, in order, then `epoch_learning_rate` = `learning_rate` (replacing a
    /// `learning_rate` entry of `logs` in its place, as Keras's dict update does); and
    /// `epoch_<name>` to `validation/` for each `val_<name>` entry; all at `step = epoch`.
    /// Then flushes both files.
    ///
    /// # Errors
    /// As [`EventWriter::create`], [`EventWriter::add_scalar`] and
    /// [`EventWriter::flush`].
    pub fn log_epoch(
        &mut self,
        epoch: i64,
        logs: &[(&str, f32)],
        learning_rate: f32,
        wall_time: f64,
    ) -> Result<(), TensorBoardError> {
        let mut tag = std::mem::take(&mut self.tag);
        let mut wrote_rate = false;
        for &(name, value) in logs {
            if name.starts_with("val_") {
                continue;
            }
            let value = if name == "learning_rate" {
                wrote_rate = true;
                learning_rate
            } else {
                value
            };
            epoch_tag(&mut tag, name);
            self.train.add_scalar(&tag, epoch, value, wall_time)?;
        }
        if !wrote_rate {
            epoch_tag(&mut tag, "learning_rate");
            self.train
                .add_scalar(&tag, epoch, learning_rate, wall_time)?;
        }
        self.train.flush()?;
        if logs.iter().any(|(name, _)| name.starts_with("val_")) {
            let writer = self.validation_writer(wall_time)?;
            for &(name, value) in logs {
                if let Some(name) = name.strip_prefix("val_") {
                    epoch_tag(&mut tag, name);
                    writer.add_scalar(&tag, epoch, value, wall_time)?;
                }
            }
            writer.flush()?;
        }
        self.tag = tag;
        Ok(())
    }

    /// Flushes and closes both files (Keras closes its writers when training ends).
    ///
    /// # Errors
    /// [`TensorBoardError::Write`] naming the file that failed.
    pub fn close(self) -> Result<(), TensorBoardError> {
        self.train.close()?;
        if let Some(validation) = self.validation {
            validation.close()?;
        }
        Ok(())
    }
}

/// Sets `tag` to `epoch_<name>`.
fn epoch_tag(tag: &mut String, name: &str) {
    tag.clear();
    tag.push_str("epoch_");
    tag.push_str(name);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard crc32c check value: crc32c("123456789") = 0xe3069283 (RFC 3720,
    /// B.4), masked by hand: rotr(0xe3069283, 15) = 0x2507c60d, + 0xa282ead8 = 0xc78ab0e5.
    #[test]
    fn masked_crc_of_the_check_string() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
    }

    /// The first 12 bytes of an event file TensorFlow 2.21 wrote for Keras 3.15's
    /// TensorBoard callback: the first record's length (62: `wall_time`, `brain.Event:2`,
    /// `source_metadata { writer: "tensorflow.core.util.events_writer" }`) and its masked
    /// crc32c, as TensorFlow computed it.
    #[test]
    fn masked_crc_of_a_length_matches_tensorflow() {
        let tf_header: [u8; 12] = [
            0x3e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd9, 0xd2, 0x40, 0xe7,
        ];
        let len: [u8; 8] = tf_header[..8].try_into().unwrap();
        assert_eq!(u64::from_le_bytes(len), 62);
        let crc = u32::from_le_bytes(tf_header[8..].try_into().unwrap());
        assert_eq!(masked_crc32c(&len), crc);
    }

    #[test]
    fn varints_as_protobuf_encodes_them() {
        let enc = |v: u64| {
            let mut out = Vec::new();
            proto::varint(v, &mut out);
            out
        };
        // From the protobuf encoding guide: 1 -> 01, 150 -> 96 01, 300 -> ac 02.
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        // int64 -1: ten bytes, ff .. ff 01.
        assert_eq!(
            enc(-1i64 as u64),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    /// The bytes of the `epoch_loss` event TensorFlow wrote in a Keras run's
    /// `validation/` file (step 0, wall time 1796593246.4074421, loss 0x3f92a0b9).
    #[test]
    fn scalar_event_matches_tensorflow_bytes() {
        let tf_event: &[u8] = &[
            0x09, 0x88, 0x13, 0x9a, 0x97, 0x75, 0xc5, 0xda, 0x41, 0x2a, 0x27, 0x0a, 0x25, 0x0a,
            0x0a, b'e', b'p', b'o', b'c', b'h', b'_', b'l', b'o', b's', b's', 0x42, 0x0a, 0x08,
            0x01, 0x12, 0x00, 0x22, 0x04, 0xb9, 0xa0, 0x92, 0x3f, 0x4a, 0x0b, 0x0a, 0x09, 0x0a,
            0x07, b's', b'c', b'a', b'l', b'a', b'r', b's',
        ];
        let wall_time = f64::from_le_bytes(tf_event[1..9].try_into().unwrap());
        let value = f32::from_bits(0x3f92_a0b9);
        assert_eq!(scalar_event("epoch_loss", 0, value, wall_time), tf_event);
    }

    #[test]
    fn file_names_as_tensorflow_names_them() {
        let name = EventFileName {
            secs: 1_796_593_245,
            hostname: "vm".to_owned(),
            pid: 18052,
            index: 0,
            suffix: TF2_SUFFIX.to_owned(),
        };
        assert_eq!(
            name.file_name(),
            "events.out.tfevents.1796593245.vm.18052.0.v2"
        );
        let early = EventFileName { secs: 12, ..name };
        assert_eq!(
            early.file_name(),
            "events.out.tfevents.0000000012.vm.18052.0.v2"
        );
    }

    #[test]
    fn a_log_dir_that_is_a_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("logs");
        fs::write(&file, b"not a folder").unwrap();
        let naming = FileNaming {
            first_index: Some(0),
            ..FileNaming::current()
        };
        let err = TensorBoardLog::create(&file, naming, 1.0).unwrap_err();
        assert!(
            matches!(&err, TensorBoardError::CreateDir { path, .. } if path == &file.join("train")),
            "{err:?}"
        );
        assert!(err.to_string().contains("logs"), "{err}");
    }

    #[test]
    fn an_existing_file_is_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let name = EventFileName {
            secs: 5,
            hostname: "h".to_owned(),
            pid: 1,
            index: 0,
            suffix: TF2_SUFFIX.to_owned(),
        };
        fs::write(tmp.path().join(name.file_name()), b"keep").unwrap();
        let err = EventWriter::create(tmp.path(), &name).unwrap_err();
        assert!(
            matches!(err, TensorBoardError::CreateFile { .. }),
            "{err:?}"
        );
        assert_eq!(
            fs::read(tmp.path().join(name.file_name())).unwrap(),
            b"keep"
        );
    }

    /// Records in a file: each length and data checked against its masked crc.
    fn records(bytes: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            let len_crc = u32::from_le_bytes(rest[8..12].try_into().unwrap());
            assert_eq!(masked_crc32c(&rest[..8]), len_crc);
            let data = &rest[12..12 + len];
            let data_crc = u32::from_le_bytes(rest[12 + len..16 + len].try_into().unwrap());
            assert_eq!(masked_crc32c(data), data_crc);
            out.push(data);
            rest = &rest[16 + len..];
        }
        out
    }

    #[test]
    fn log_epoch_splits_train_and_validation_and_flushes() {
        let tmp = tempfile::tempdir().unwrap();
        let naming = FileNaming {
            hostname: "h".to_owned(),
            pid: 7,
            first_index: Some(3),
            suffix: TF2_SUFFIX.to_owned(),
        };
        let mut log = TensorBoardLog::create(tmp.path(), naming, 100.5).unwrap();
        assert!(log.validation_path().is_none());
        let logs = [
            ("accuracy", 0.5),
            ("loss", 1.25),
            ("val_accuracy", 0.25),
            ("val_loss", 2.0),
        ];
        log.log_epoch(0, &logs, 0.001, 101.0).unwrap();
        // Flushed: readable before close.
        let train = fs::read(log.train_path()).unwrap();
        let validation = fs::read(log.validation_path().unwrap()).unwrap();
        assert_eq!(
            log.train_path().file_name().unwrap(),
            "events.out.tfevents.0000000100.h.7.3.v2"
        );
        assert_eq!(
            log.validation_path().unwrap().file_name().unwrap(),
            "events.out.tfevents.0000000101.h.7.4.v2"
        );
        let train = records(&train);
        assert_eq!(train.len(), 4);
        assert_eq!(train[0], file_version_event(100.0));
        assert_eq!(train[1], scalar_event("epoch_accuracy", 0, 0.5, 101.0));
        assert_eq!(train[2], scalar_event("epoch_loss", 0, 1.25, 101.0));
        assert_eq!(
            train[3],
            scalar_event("epoch_learning_rate", 0, 0.001, 101.0)
        );
        let validation = records(&validation);
        assert_eq!(validation.len(), 3);
        assert_eq!(
            validation[1],
            scalar_event("epoch_accuracy", 0, 0.25, 101.0)
        );
        assert_eq!(validation[2], scalar_event("epoch_loss", 0, 2.0, 101.0));
        log.close().unwrap();
    }

    #[test]
    fn a_logged_learning_rate_is_replaced_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let naming = FileNaming {
            first_index: Some(0),
            ..FileNaming::current()
        };
        let mut log = TensorBoardLog::create(tmp.path(), naming, 1.0).unwrap();
        let logs = [("learning_rate", 0.1), ("loss", 1.0)];
        log.log_epoch(2, &logs, 0.05, 1.0).unwrap();
        let train = fs::read(log.train_path()).unwrap();
        let train = records(&train);
        assert_eq!(train.len(), 3);
        assert_eq!(train[1], scalar_event("epoch_learning_rate", 2, 0.05, 1.0));
        assert_eq!(train[2], scalar_event("epoch_loss", 2, 1.0, 1.0));
        assert!(log.validation_path().is_none());
    }
}
