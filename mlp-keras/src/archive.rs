//! The zip archive around the three members: read within [`Limits`], written the same way
//! every time (stored, not deflated, as Keras writes it; a fixed timestamp, so the same
//! model gives the same bytes).

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::{ExportError, KerasErrorKind, Limits};

/// The `metadata.json` member.
pub(crate) const METADATA: &str = "metadata.json";
/// The `config.json` member.
pub(crate) const CONFIG: &str = "config.json";
/// The `model.weights.h5` member.
pub(crate) const WEIGHTS: &str = "model.weights.h5";

/// The three members' bytes.
#[derive(Debug)]
pub(crate) struct Members {
    /// `metadata.json`, when present (Keras itself never reads it).
    pub(crate) metadata: Option<Vec<u8>>,
    /// `config.json`.
    pub(crate) config: Vec<u8>,
    /// `model.weights.h5`.
    pub(crate) weights: Vec<u8>,
}

/// Reads the members of a `.keras` archive, each within its limit (a member's declared
/// size is checked first; what is read is bounded whatever it declares, and its CRC is
/// checked by the zip reader).
pub(crate) fn read(bytes: &[u8], limits: Limits) -> Result<Members, KerasErrorKind> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|e| KerasErrorKind::Archive(e.to_string()))?;
    let config = member(&mut archive, CONFIG, limits.max_json_bytes)?
        .ok_or_else(|| missing(&archive, CONFIG))?;
    let weights = member(&mut archive, WEIGHTS, limits.max_bytes)?
        .ok_or_else(|| missing(&archive, WEIGHTS))?;
    let metadata = member(&mut archive, METADATA, limits.max_json_bytes)?;
    Ok(Members {
        metadata,
        config,
        weights,
    })
}

fn missing(archive: &ZipArchive<Cursor<&[u8]>>, member: &'static str) -> KerasErrorKind {
    let mut present: Vec<String> = archive
        .file_names_raw()
        .map(|raw| String::from_utf8_lossy(raw).into_owned())
        .collect();
    present.sort();
    KerasErrorKind::Missing { member, present }
}

/// One member's bytes (`None` when absent), at most `limit` of them.
fn member(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    name: &'static str,
    limit: u64,
) -> Result<Option<Vec<u8>>, KerasErrorKind> {
    if archive.index_for_name(name).is_none() {
        return Ok(None);
    }
    let bad = |e: zip::result::ZipError| KerasErrorKind::Archive(format!("member `{name}`: {e}"));
    let file = archive.by_name(name).map_err(bad)?;
    let too_large = |size| KerasErrorKind::TooLarge {
        what: format!("member `{name}`"),
        size,
        limit,
    };
    if file.size() > limit {
        return Err(too_large(file.size()));
    }
    // Grown as the data arrives (never preallocated from the declared size), and never
    // past the limit whatever the header declares.
    let mut out = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| KerasErrorKind::Archive(format!("member `{name}`: {e}")))?;
    if out.len() as u64 > limit {
        return Err(too_large(out.len() as u64));
    }
    Ok(Some(out))
}

/// A zip archive of `members`, in order, stored (uncompressed) with the zip format's
/// earliest timestamp (1980-01-01 00:00).
pub(crate) fn write(members: &[(&str, &[u8])]) -> Result<Vec<u8>, ExportError> {
    let encode = |e: &dyn std::fmt::Display| ExportError::Encode {
        what: "the zip archive",
        message: e.to_string(),
    };
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in members {
        // ZIP64 only where a member needs it, as Python's zipfile does.
        let large = bytes.len() as u64 >= u64::from(u32::MAX);
        zip.start_file(*name, options.large_file(large))
            .map_err(|e| encode(&e))?;
        zip.write_all(bytes).map_err(|e| encode(&e))?;
    }
    Ok(zip.finish().map_err(|e| encode(&e))?.into_inner())
}
