//! One run per checkpoint folder: an advisory lock on [`LOCK_FILE`] in the folder, held
//! for as long as a run writes there.
//!
//! The lock is `flock(2)` (through [`std::fs::File::try_lock`]), which the kernel releases
//! when the last descriptor of the open file closes, so a run that crashes or is killed
//! never leaves the folder locked; the file itself stays (removing it on exit would let a
//! third run lock a new file while a second still waits on the old one). The holder writes
//! its process id into the file so that a refused run can name it; the id is a hint for
//! the message only, never what decides who holds the folder.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{CheckpointError, CheckpointErrorKind};

/// Name of the lock file in a checkpoint folder.
pub const LOCK_FILE: &str = ".lock";

/// A held lock on a checkpoint folder; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    /// Kept open: closing it releases the lock.
    _file: File,
}

impl DirLock {
    /// Locks the folder `dir` (which must exist) for this process, creating its
    /// [`LOCK_FILE`] if needed and writing this process's id into it. A folder whose lock
    /// file cannot be written (a read-only folder) is still locked if the file exists,
    /// without the id.
    ///
    /// # Errors
    /// [`CheckpointErrorKind::Locked`] naming `dir` and, when it recorded one, the holder's
    /// process id, when another process (or another [`DirLock`] in this one) holds the
    /// folder; [`CheckpointErrorKind::Io`] naming the lock file when it can be neither
    /// created nor opened.
    pub fn acquire(dir: &Path) -> Result<DirLock, CheckpointError> {
        let path = dir.join(LOCK_FILE);
        let (mut file, writable) = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Ok(file) => (file, true),
            Err(e) if is_read_only(&e) => match File::open(&path) {
                Ok(file) => (file, false),
                Err(_) => return Err(CheckpointError::new(&path, e)),
            },
            Err(e) => return Err(CheckpointError::new(&path, e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(CheckpointError::new(
                    dir,
                    CheckpointErrorKind::Locked { pid: holder(&path) },
                ))
            }
            Err(TryLockError::Error(e)) => return Err(CheckpointError::new(&path, e)),
        }
        if writable {
            // Best effort: the id only improves another run's message, and a full disk
            // must not keep this run from holding the folder.
            let _ = file
                .set_len(0)
                .and_then(|()| writeln!(file, "{}", std::process::id()));
        }
        Ok(DirLock {
            dir: dir.to_owned(),
            _file: file,
        })
    }

    /// Checks that no run holds the folder `dir`, without taking it (for a run that only
    /// reads from it, such as one resuming from another folder than it writes to). A
    /// folder without a [`LOCK_FILE`] has never been written by a run that locks, and is
    /// free; nothing is created in `dir`.
    ///
    /// # Errors
    /// [`CheckpointErrorKind::Locked`] naming `dir` (and the holder's pid, when recorded)
    /// when a run holds it; [`CheckpointErrorKind::Io`] naming the lock file when it exists
    /// but cannot be opened or locked.
    pub fn ensure_free(dir: &Path) -> Result<(), CheckpointError> {
        let path = dir.join(LOCK_FILE);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(CheckpointError::new(&path, e)),
        };
        match file.try_lock_shared() {
            // Released when `file` closes, at the end of this function.
            Ok(()) => Ok(()),
            Err(TryLockError::WouldBlock) => Err(CheckpointError::new(
                dir,
                CheckpointErrorKind::Locked { pid: holder(&path) },
            )),
            Err(TryLockError::Error(e)) => Err(CheckpointError::new(&path, e)),
        }
    }

    /// The locked folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Whether opening for writing failed because the folder or file is not writable.
fn is_read_only(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied
    )
}

/// The process id the holder of the lock file at `path` wrote, if readable.
fn holder(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let refused = DirLock::acquire(dir.path()).unwrap_err();
        assert_eq!(refused.path, dir.path());
        assert!(
            matches!(refused.kind, CheckpointErrorKind::Locked { pid: Some(p) } if p == std::process::id()),
            "{refused}"
        );
        assert!(refused
            .to_string()
            .contains(&format!("pid {}", std::process::id())));
        assert!(matches!(
            DirLock::ensure_free(dir.path()).unwrap_err().kind,
            CheckpointErrorKind::Locked { .. }
        ));
        drop(first);
        DirLock::ensure_free(dir.path()).unwrap();
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_folder_without_a_lock_file_is_free_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        DirLock::ensure_free(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
