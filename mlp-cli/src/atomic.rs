//! Writing files atomically: the content goes to a temporary file in the target's folder,
//! which is renamed over the target only once it is complete. A failure part-way leaves the
//! target as it was (absent or old) and removes the temporary file.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::OutputError;

/// Writes `bytes` to `path` atomically.
///
/// # Errors
///
/// [`OutputError::Write`] if the folder does not exist or the file cannot be written.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    with_temp_file(path, "tmp", |temp| {
        let mut file = fs::OpenOptions::new().write(true).open(temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    })
    .map_err(|source| OutputError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The permissions the written file gets: the replaced file's, or for a new file
/// `rw-r--r--` on Unix, where temporary files are created private to the user; `None`
/// elsewhere (keep the temporary file's).
#[cfg_attr(unix, allow(clippy::unnecessary_wraps))] // `None` is only returned off Unix.
fn permissions(path: &Path) -> Option<fs::Permissions> {
    if let Ok(metadata) = fs::metadata(path) {
        return Some(metadata.permissions());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(fs::Permissions::from_mode(0o644))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Creates an empty temporary file named `.<file name>.<random>.<extension>` beside `path`,
/// lets `fill` write it (by path, for writers such as image encoders that pick the format
/// from the extension), then renames it to `path`. The temporary file is removed if `fill`
/// or the rename fails.
///
/// # Errors
///
/// The error of `fill`, or of creating or renaming the temporary file.
pub fn with_temp_file<E>(
    path: &Path,
    extension: &str,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<std::io::Error>,
{
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(&format!(".{extension}"))
        .tempfile_in(directory)?;
    fill(temp.path())?;
    if let Some(permissions) = permissions(path) {
        fs::set_permissions(temp.path(), permissions)?;
    }
    temp.persist(path).map_err(|error| E::from(error.error))?;
    Ok(())
}
