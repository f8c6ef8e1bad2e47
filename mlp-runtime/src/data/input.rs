//! One data stream (a plain file, a gzip file, or a member of a zip archive), read as a
//! header followed by a body whose size the header claims.
//!
//! Invariant: nothing here allocates more than the bytes actually delivered by the stream,
//! bounded by [`Limits::max_bytes`]. A claim is checked against the limit before anything
//! is allocated; a plain file's claim is also checked against the file's length first;
//! buffers for streams of unknown length grow only as bytes arrive, and reading stops one
//! byte past the claim (counting, without storing, up to the limit to report the size).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{DataError, Limits};

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most a deflate stream can expand: 1032 output bytes per input byte (a 258-byte
/// match coded in two bits, at best); used to bound buffer sizes, never to accept data.
pub(crate) const MAX_DEFLATE_RATIO: u64 = 1032;

/// Initial buffer size when the stream's length is unknown.
const UNKNOWN_LENGTH_CAPACITY: u64 = 64 * 1024;

/// How the bytes reach us, which decides how read errors are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Bytes as stored.
    Plain,
    /// Decompressed from gzip.
    Gzip,
    /// Decompressed from a zip archive's member.
    ZipMember,
}

/// What is known about the stream's length before reading it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Length {
    /// Exactly this many bytes (a plain file's size).
    Exact(u64),
    /// At most this many bytes (bounded by a compressed size).
    AtMost(u64),
    /// Unknown.
    Unknown,
}

/// A stream being read as header then body.
pub(crate) struct Input<'a> {
    path: PathBuf,
    reader: Box<dyn Read + 'a>,
    encoding: Encoding,
    length: Length,
    /// Bytes consumed so far (the header).
    consumed: u64,
}

impl<'a> Input<'a> {
    /// Opens a file, decompressing it if it starts with the gzip magic bytes (whatever its
    /// name), so `train-images-idx3-ubyte` and `train-images-idx3-ubyte.gz` both work.
    pub(crate) fn open(path: &Path) -> Result<Input<'static>, DataError> {
        let (file, size) = open_file(path)?;
        if size == 0 {
            return Err(DataError::Empty {
                path: path.to_owned(),
            });
        }
        Input::sniff(BufReader::new(file), path, Some(size))
    }

    /// Reads from any reader (decompressing gzip, detected by its magic bytes); `path` names
    /// the data in error messages; `size` is the raw stream's length if known.
    pub(crate) fn from_reader<R: Read + 'a>(
        reader: R,
        path: &Path,
        size: Option<u64>,
    ) -> Result<Input<'a>, DataError> {
        Input::sniff(BufReader::new(reader), path, size)
    }

    fn sniff<R: BufRead + 'a>(
        mut reader: R,
        path: &Path,
        size: Option<u64>,
    ) -> Result<Input<'a>, DataError> {
        let head = reader.fill_buf().map_err(|e| DataError::io(path, e))?;
        if head.is_empty() {
            return Err(DataError::Empty {
                path: path.to_owned(),
            });
        }
        let gzipped = head.starts_with(&GZIP_MAGIC);
        Ok(if gzipped {
            Input {
                path: path.to_owned(),
                reader: Box::new(MultiGzDecoder::new(reader)),
                encoding: Encoding::Gzip,
                length: size.map_or(Length::Unknown, |n| {
                    Length::AtMost(n.saturating_mul(MAX_DEFLATE_RATIO))
                }),
                consumed: 0,
            }
        } else {
            Input {
                path: path.to_owned(),
                reader: Box::new(reader),
                encoding: Encoding::Plain,
                length: size.map_or(Length::Unknown, Length::Exact),
                consumed: 0,
            }
        })
    }

    /// Wraps an already-decompressing reader (a zip member).
    pub(crate) fn member<R: Read + 'a>(reader: R, path: PathBuf, length: Length) -> Input<'a> {
        Input {
            path,
            reader: Box::new(reader),
            encoding: Encoding::ZipMember,
            length,
            consumed: 0,
        }
    }

    /// The name used in error messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    fn read_error(&self, source: io::Error) -> DataError {
        let path = self.path.clone();
        match self.encoding {
            Encoding::Plain => DataError::Io { path, source },
            Encoding::Gzip => DataError::Gzip { path, source },
            Encoding::ZipMember => DataError::Zip {
                path,
                source: zip::result::ZipError::Io(source),
            },
        }
    }

    /// Fills `buf` with the next header bytes; `header_len` is the whole header's length,
    /// for the message if the stream ends first.
    ///
    /// # Errors
    /// [`DataError::Empty`] if the stream holds nothing at all, [`DataError::TruncatedHeader`]
    /// if it ends inside `buf`, or a read error.
    pub(crate) fn header(&mut self, buf: &mut [u8], header_len: u64) -> Result<(), DataError> {
        let got = read_full(&mut self.reader, buf).map_err(|e| self.read_error(e))?;
        let found = self.consumed + got as u64;
        if found == 0 {
            return Err(DataError::Empty {
                path: self.path.clone(),
            });
        }
        if got < buf.len() {
            return Err(DataError::TruncatedHeader {
                path: self.path.clone(),
                needed: header_len,
                found,
            });
        }
        self.consumed = found;
        Ok(())
    }

    /// Reads the body the header claims: exactly `claimed` bytes, which must be all that
    /// is left. `claim` says in words what the header claims (`60000 images of 28x28`).
    ///
    /// # Errors
    /// [`DataError::OverLimit`] (before allocating), [`DataError::SizeMismatch`] if the
    /// stream holds fewer or more bytes, [`DataError::DecompressedOverLimit`] if it goes on
    /// past the limit, or a read error.
    pub(crate) fn body(
        &mut self,
        claim: &str,
        claimed: u128,
        limits: Limits,
    ) -> Result<Vec<u8>, DataError> {
        let limit = limits.max_bytes;
        let within_limit = u64::try_from(claimed)
            .ok()
            .filter(|&n| n <= limit)
            .and_then(|n| usize::try_from(n).ok().map(|_| n));
        let Some(claimed) = within_limit else {
            return Err(DataError::OverLimit {
                path: self.path.clone(),
                claim: claim.to_owned(),
                claimed,
                limit,
            });
        };
        let (path, header) = (self.path.clone(), self.consumed);
        let mismatch = |found: u64| DataError::SizeMismatch {
            path: path.clone(),
            claim: claim.to_owned(),
            claimed,
            found,
            header,
        };
        let capacity = match self.length {
            Length::Exact(size) => {
                let left = size.saturating_sub(self.consumed);
                if left != claimed {
                    return Err(mismatch(left));
                }
                claimed
            }
            Length::AtMost(bound) => claimed.min(bound),
            Length::Unknown => claimed.min(UNKNOWN_LENGTH_CAPACITY),
        };
        // `capacity <= claimed`, which fits in usize (checked above).
        let mut body = Vec::with_capacity(capacity as usize);
        (&mut self.reader)
            .take(claimed + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.read_error(e))?;
        let got = body.len() as u64;
        if got < claimed {
            return Err(mismatch(got));
        }
        if got > claimed {
            // Count, without storing, how much more there is, up to the limit.
            let extra = io::copy(
                &mut (&mut self.reader).take(limit.saturating_sub(got) + 1),
                &mut io::sink(),
            )
            .map_err(|e| self.read_error(e))?;
            let found = got + extra;
            if found > limit {
                return Err(DataError::DecompressedOverLimit {
                    path: self.path.clone(),
                    limit,
                });
            }
            return Err(mismatch(found));
        }
        self.consumed += got;
        Ok(body)
    }
}

impl Input<'_> {
    /// Reads the body the header claims as [`Input::body`] does (the same checks, in the
    /// same order, with the same errors), but hands it to `sink` in chunks instead of
    /// collecting it: every chunk but the last holds [`BODY_CHUNK`] bytes (a multiple of
    /// every element size), so a sink that converts elements never sees one split. `start`
    /// makes the sink's state once the claim has passed its checks, told how many bytes to
    /// expect at most (what [`Input::body`] would allocate); the state is returned at the
    /// end. Nothing is allocated here beyond one chunk.
    ///
    /// # Errors
    /// As [`Input::body`], and whatever `sink` returns (reading stops there).
    pub(crate) fn body_chunks<S>(
        &mut self,
        claim: &str,
        claimed: u128,
        limits: Limits,
        start: impl FnOnce(u64) -> S,
        mut sink: impl FnMut(&mut S, &[u8]) -> Result<(), DataError>,
    ) -> Result<S, DataError> {
        let limit = limits.max_bytes;
        let within_limit = u64::try_from(claimed)
            .ok()
            .filter(|&n| n <= limit)
            .and_then(|n| usize::try_from(n).ok().map(|_| n));
        let Some(claimed) = within_limit else {
            return Err(DataError::OverLimit {
                path: self.path.clone(),
                claim: claim.to_owned(),
                claimed,
                limit,
            });
        };
        let (path, header) = (self.path.clone(), self.consumed);
        let mismatch = |found: u64| DataError::SizeMismatch {
            path: path.clone(),
            claim: claim.to_owned(),
            claimed,
            found,
            header,
        };
        let capacity = match self.length {
            Length::Exact(size) => {
                let left = size.saturating_sub(self.consumed);
                if left != claimed {
                    return Err(mismatch(left));
                }
                claimed
            }
            Length::AtMost(bound) => claimed.min(bound),
            Length::Unknown => claimed.min(UNKNOWN_LENGTH_CAPACITY),
        };
        let mut state = start(capacity);
        let mut chunk = vec![0; BODY_CHUNK.min((claimed as usize).saturating_add(1))];
        let mut got = 0u64;
        loop {
            // One byte past the claim at most, to tell "more" from "exactly".
            let want = (claimed + 1 - got).min(chunk.len() as u64) as usize;
            let n =
                read_full(&mut self.reader, &mut chunk[..want]).map_err(|e| self.read_error(e))?;
            got += n as u64;
            let keep = n - (got.saturating_sub(claimed) as usize);
            if keep > 0 {
                sink(&mut state, &chunk[..keep])?;
            }
            if n < want || got > claimed {
                break;
            }
        }
        if got < claimed {
            return Err(mismatch(got));
        }
        if got > claimed {
            let extra = io::copy(
                &mut (&mut self.reader).take(limit.saturating_sub(got) + 1),
                &mut io::sink(),
            )
            .map_err(|e| self.read_error(e))?;
            let found = got + extra;
            if found > limit {
                return Err(DataError::DecompressedOverLimit {
                    path: self.path.clone(),
                    limit,
                });
            }
            return Err(mismatch(found));
        }
        self.consumed += got;
        Ok(state)
    }
}

/// Size of the chunks [`Input::body_chunks`] hands on: 64 KiB, a multiple of every element
/// size (1 to 8 bytes).
pub(crate) const BODY_CHUNK: usize = 64 * 1024;

/// Opens a file for reading and returns its length; a folder is refused here (Linux would
/// open it and fail on the first read).
///
/// # Errors
/// [`DataError::Io`] naming the path.
pub(crate) fn open_file(path: &Path) -> Result<(File, u64), DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let metadata = file.metadata().map_err(|e| DataError::io(path, e))?;
    if metadata.is_dir() {
        return Err(DataError::io(
            path,
            io::Error::new(io::ErrorKind::IsADirectory, "is a folder, not a file"),
        ));
    }
    Ok((file, metadata.len()))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
