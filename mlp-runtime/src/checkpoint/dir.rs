//! A folder of per-epoch checkpoints: written after every epoch, the last `keep` kept
//! (`--keep`), the newest found to resume from.

use super::save::write;
use super::state::Snapshot;
use super::{load, CheckpointError, CheckpointInfo, DirLock, EXTENSION};
use crate::model::Model;
use crate::train::Progress;
use std::fs;
use std::path::{Path, PathBuf};

/// A folder of per-epoch checkpoints, `epoch-0001.safetensors`, … (Keras's
/// `ModelCheckpoint` + `BackupAndRestore`): as a [`Progress`] hook it writes one after every
/// epoch and keeps the last `keep`; [`CheckpointDir::latest`] finds the one to resume from.
///
/// With `OnNan::Continue`, an epoch whose model holds a NaN or an infinity is not written,
/// so the newest checkpoint stays the last good one.
///
/// It holds the folder's [`DirLock`] for its lifetime: a second `CheckpointDir` on the same
/// folder, in this process or another, is refused while this one lives.
#[derive(Debug)]
pub struct CheckpointDir {
    dir: PathBuf,
    keep: usize,
    skipped: usize,
    _lock: DirLock,
}

impl CheckpointDir {
    /// A checkpoint folder at `dir` (created if missing) keeping the last `keep` (at least
    /// one) checkpoints, locked for this run ([`DirLock`]). Temporary files left by an
    /// interrupted write are removed.
    ///
    /// # Errors
    /// [`CheckpointError`] naming `dir` when it cannot be created or listed, or is a file;
    /// [`CheckpointErrorKind::Locked`](super::CheckpointErrorKind::Locked) when another run
    /// holds it.
    pub fn new(dir: impl Into<PathBuf>, keep: usize) -> Result<CheckpointDir, CheckpointError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| CheckpointError::new(&dir, e))?;
        let lock = DirLock::acquire(&dir)?;
        Self::with_lock(lock, keep)
    }

    /// [`CheckpointDir::new`] on a folder already locked by `lock` (taken early, before a
    /// long setup, so a second run is refused at once).
    ///
    /// # Errors
    /// [`CheckpointError`] naming the folder when it cannot be listed.
    pub fn with_lock(lock: DirLock, keep: usize) -> Result<CheckpointDir, CheckpointError> {
        let dir = lock.dir().to_owned();
        let entries = fs::read_dir(&dir).map_err(|e| CheckpointError::new(&dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".epoch-") && name.ends_with(".tmp") {
                // Best effort: a leftover temporary file is harmless, only untidy.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(CheckpointDir {
            dir,
            keep: keep.max(1),
            skipped: 0,
            _lock: lock,
        })
    }

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the checkpoint after `epoch` completed epochs.
    #[must_use]
    pub fn path_for(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("epoch-{epoch:04}.{EXTENSION}"))
    }

    /// Epochs not written because the model held non-finite values.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The checkpoints in `dir` as `(completed epochs, path)`, oldest first.
    ///
    /// # Errors
    /// [`CheckpointError`] naming `dir` when it cannot be listed.
    pub fn list(dir: &Path) -> Result<Vec<(usize, PathBuf)>, CheckpointError> {
        let entries = fs::read_dir(dir).map_err(|e| CheckpointError::new(dir, e))?;
        let mut found: Vec<(usize, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let epoch = name
                    .to_str()?
                    .strip_prefix("epoch-")?
                    .strip_suffix(&format!(".{EXTENSION}"))?
                    .parse()
                    .ok()?;
                Some((epoch, entry.path()))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// The newest checkpoint in `dir`, if any.
    ///
    /// # Errors
    /// As [`CheckpointDir::list`].
    pub fn latest(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
        Ok(Self::list(dir)?.pop().map(|(_, p)| p))
    }

    /// Loads the newest checkpoint of `dir` into `model`; `Ok(None)` when there is none
    /// (start from scratch).
    ///
    /// # Errors
    /// As [`CheckpointDir::list`] and [`load`].
    pub fn resume<M: Model + ?Sized>(
        dir: &Path,
        model: &mut M,
    ) -> Result<Option<CheckpointInfo>, CheckpointError> {
        match Self::latest(dir)? {
            Some(path) => load(model, &path).map(Some),
            None => Ok(None),
        }
    }

    /// Writes `snapshot` as the checkpoint of its epoch, then deletes all but the newest
    /// `keep` checkpoints.
    fn write(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        if snapshot.first_non_finite().is_some() {
            self.skipped += 1;
            return Ok(());
        }
        let epoch = snapshot.training.map_or(0, |t| t.epoch);
        write(snapshot, &self.path_for(epoch))?;
        let all = Self::list(&self.dir)?;
        let excess = all.len().saturating_sub(self.keep);
        for (_, old) in all.into_iter().take(excess) {
            fs::remove_file(&old).map_err(|e| CheckpointError::new(&old, e))?;
        }
        Ok(())
    }
}

impl Progress for CheckpointDir {
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        self.write(snapshot)
    }
}
