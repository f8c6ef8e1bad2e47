//! Writing files atomically: the one writer behind checkpoints, the CLI's outputs (History
//! CSV/JSON, `results.md`, plots, `mlp bench --json`) and `mlp fmt`.
//!
//! Every writer here follows the same steps: create a temporary file
//! `.<file name>.<random>.tmp` in the target's folder, write it, `fsync` it, rename it over
//! the target, `fsync` the folder.
//!
//! # Invariants
//! - A reader of the target sees the old file or the new one, never a torn one, even after a
//!   crash: the rename is the only step that touches the target.
//! - On any error before the rename the temporary file is removed and the target is left as
//!   it was (absent or old). Only a failing `fsync` of the folder comes after the rename:
//!   the new file is then in place, but its rename may not yet be durable.
//! - Permissions are those [`std::fs::write`] would give: a replaced file keeps its mode; a
//!   new file gets `0o666` less the process's umask (`rw-r--r--` under umask `022`), not
//!   the private mode of temporary files.
//! - A symbolic link is written through: the file it points to is replaced, the link stays.
//! - Every error names the target's path.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// An atomic write that failed, with the file it was for.
#[derive(Debug, Error)]
#[error("cannot write `{}`: {source}", path.display())]
pub struct WriteError {
    /// The target file (as given, before any symbolic link is followed).
    pub path: PathBuf,
    /// The I/O error of the step that failed.
    #[source]
    pub source: io::Error,
}

impl WriteError {
    /// An error writing `path`.
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> Self {
        WriteError {
            path: path.into(),
            source,
        }
    }
}

/// Writes `bytes` to `path` atomically (see the module docs).
///
/// # Errors
/// [`WriteError`] naming `path` when the folder does not exist or is not writable, or any
/// step fails; the previous file at `path`, if any, is then left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |file| {
        file.write_all(bytes)
            .map_err(|source| WriteError::new(path, source))
    })
}

/// Writes the file at `path` atomically with `fill`, which gets the open temporary file
/// (empty, positioned at its start). The file is committed only if `fill` returns `Ok`.
///
/// # Errors
/// The error of `fill`, or a [`WriteError`] naming `path` (converted into `E`) when a step
/// of the writer fails; the previous file at `path`, if any, is then left as it was and no
/// temporary file remains.
pub fn write_atomic_with<E>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<WriteError>,
{
    let mut temp = Temp::create(path, "tmp")?;
    fill(temp.file.as_file_mut())?;
    temp.commit()?;
    Ok(())
}

/// Writes the file at `path` atomically with `fill`, which gets the path of the empty
/// temporary file, ending in `.<extension>`, and may replace its content by path (for
/// encoders that open the file themselves and pick its format from its extension, as image
/// encoders do). The file is committed only if `fill` returns `Ok`.
///
/// # Errors
/// As [`write_atomic_with`].
pub fn write_atomic_by_path<E>(
    path: &Path,
    extension: &str,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<WriteError>,
{
    let temp = Temp::create(path, extension)?;
    fill(temp.file.path())?;
    temp.commit()?;
    Ok(())
}

/// A temporary file beside its target; removed on drop unless committed.
struct Temp<'p> {
    /// The target as given (for errors).
    path: &'p Path,
    /// The file actually replaced: `path`, or the file a symbolic link at `path` points to.
    target: PathBuf,
    /// The folder of `target`.
    dir: PathBuf,
    file: tempfile::NamedTempFile,
}

impl<'p> Temp<'p> {
    /// Creates `.<name>.<random>.<extension>` beside the file `path` resolves to, with the
    /// permissions the written file must end up with.
    fn create(path: &'p Path, extension: &str) -> Result<Temp<'p>, WriteError> {
        let failed = |source| WriteError::new(path, source);
        let target = resolve(path).map_err(failed)?;
        let name = target.file_name().ok_or_else(|| {
            failed(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path does not name a file",
            ))
        })?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let suffix = format!(".{extension}");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix);
        let existing = fs::metadata(&target).ok().map(|m| m.permissions());
        if let Some(mode) = new_file_mode() {
            // Applied at creation, so the umask masks it as for any new file.
            builder.permissions(mode);
        }
        let file = builder.tempfile_in(&dir).map_err(failed)?;
        if let Some(permissions) = existing {
            // Not masked by the umask: the replaced file's mode exactly.
            fs::set_permissions(file.path(), permissions).map_err(failed)?;
        }
        Ok(Temp {
            path,
            target,
            dir,
            file,
        })
    }

    /// `fsync` of the file, rename over the target, `fsync` of the folder.
    fn commit(self) -> Result<(), WriteError> {
        let failed = |source| WriteError::new(self.path, source);
        // Reopened by path: a `fill` by path may have replaced the file's content through
        // another handle (or another inode of the same name).
        File::open(self.file.path())
            .and_then(|f| f.sync_all())
            .map_err(failed)?;
        self.file
            .persist(&self.target)
            .map_err(|e| failed(e.error))?;
        sync_dir(&self.dir).map_err(failed)
    }
}

/// The file a write to `path` replaces: `path` itself, or, when it is a symbolic link, the
/// file it points to (which must then exist).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_owned()),
    }
}

/// The mode requested for a new file (`rw-rw-rw-`, less the umask), `None` off Unix.
#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)] // `None` off Unix.
fn new_file_mode() -> Option<fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(fs::Permissions::from_mode(0o666))
}

/// The mode requested for a new file (`rw-rw-rw-`, less the umask), `None` off Unix.
#[cfg(not(unix))]
fn new_file_mode() -> Option<fs::Permissions> {
    None
}

/// `fsync` of a folder, so a rename in it is durable (a no-op where folders cannot be
/// opened as files).
fn sync_dir(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}
