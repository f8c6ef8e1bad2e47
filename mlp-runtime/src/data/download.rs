//! Downloading a dataset's files into a folder, each verified by its sha256.
//!
//! Invariant: a file appears under its final name only complete and verified. Each
//! download streams into a temporary file in the same folder (so the final rename is
//! atomic), hashed on the way; on a checksum mismatch, a short or over-long body, or any
//! error, the temporary file is removed and the next mirror is tried. A process killed
//! mid-download can leave a `.NAME.PID.N.part` file behind, never a wrong `NAME`.
//!
//! The HTTP client (ureq with rustls) and the hashing are behind the crate's `download`
//! feature (on by default). Without it, [`Remote`] and the MNIST constants remain, and
//! [`download`] returns [`DataError::DownloadDisabled`].

use std::path::Path;
use std::time::Duration;

use super::{DataError, Limits};

/// Public mirrors of the original MNIST `.gz` files, tried in order.
pub const MNIST_MIRRORS: [&str; 2] = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
];

/// The original MNIST files and their sha256 (of the `.gz` bytes, as distributed since
/// 1998; the same files torchvision verifies by MD5).
pub const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

/// A file to download and the sha256 it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name, both on the mirror (appended to its base URL) and in the target folder.
    pub name: String,
    /// Expected sha256 of the file's bytes, in hex.
    pub sha256: String,
}

/// Where to download a dataset from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Base URLs, tried in order for each file; a file's URL is the base, a `/` if the base
    /// lacks one, and the file's name. Default: [`MNIST_MIRRORS`].
    pub mirrors: Vec<String>,
    /// The files to fetch. Default: [`MNIST_FILES`].
    pub files: Vec<RemoteFile>,
    /// Longest wait for a connection or for any single read. Default: 30 s.
    pub timeout: Duration,
}

impl Remote {
    /// The original MNIST files from the public mirrors.
    #[must_use]
    pub fn mnist() -> Self {
        Self {
            mirrors: MNIST_MIRRORS.iter().map(|&m| m.to_owned()).collect(),
            files: MNIST_FILES
                .iter()
                .map(|&(name, sha256)| RemoteFile {
                    name: name.to_owned(),
                    sha256: sha256.to_owned(),
                })
                .collect(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Downloads every file of `remote` into `dir` (created if needed), skipping files already
/// there with the right checksum. Prints `Downloading data from URL` to stderr before each
/// download, as Keras does.
///
/// # Errors
/// [`DataError::Download`] naming the file and, for each mirror, what went wrong
/// (unreachable, HTTP error, checksum mismatch, more than `limits.max_bytes`);
/// [`DataError::Io`] if `dir` cannot be created or written;
/// [`DataError::DownloadDisabled`] when the crate was built without its `download` feature.
pub fn download(remote: &Remote, dir: &Path, limits: Limits) -> Result<(), DataError> {
    #[cfg(feature = "download")]
    {
        http::download(remote, dir, limits)
    }
    #[cfg(not(feature = "download"))]
    {
        let _ = (remote, dir, limits);
        Err(DataError::DownloadDisabled)
    }
}

/// The HTTP side: fetching, hashing, the temporary `.part` files.
#[cfg(feature = "download")]
mod http {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read, Write};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};

    use sha2::{Digest, Sha256};

    use super::{DataError, Limits, Remote, RemoteFile};

    /// See [`super::download`].
    pub(super) fn download(remote: &Remote, dir: &Path, limits: Limits) -> Result<(), DataError> {
        fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(remote.timeout))
            .timeout_per_read(Some(remote.timeout))
            .user_agent(concat!("mlp/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        for file in &remote.files {
            let target = dir.join(&file.name);
            if target.is_file() && sha256_of_file(&target)? == file.sha256.to_ascii_lowercase() {
                continue;
            }
            let mut attempts = Vec::new();
            let mut done = false;
            for mirror in &remote.mirrors {
                let url = if mirror.ends_with('/') {
                    format!("{mirror}{}", file.name)
                } else {
                    format!("{mirror}/{}", file.name)
                };
                eprintln!("Downloading data from {url}");
                match fetch(&agent, &url, dir, file, limits) {
                    Ok(()) => {
                        done = true;
                        break;
                    }
                    Err(Failure::Remote(problem)) => attempts.push((url, problem)),
                    Err(Failure::Local(error)) => return Err(error),
                }
            }
            if !done {
                return Err(DataError::Download {
                    file: file.name.clone(),
                    attempts,
                });
            }
        }
        Ok(())
    }

    /// Why one download attempt failed.
    enum Failure {
        /// The mirror's fault: try the next one.
        Remote(String),
        /// Ours (the folder cannot be written): stop.
        Local(DataError),
    }

    /// Downloads one file from one URL into `dir`, verified.
    fn fetch(
        agent: &ureq::Agent,
        url: &str,
        dir: &Path,
        file: &RemoteFile,
        limits: Limits,
    ) -> Result<(), Failure> {
        let response = agent
            .get(url)
            .call()
            .map_err(|e| Failure::Remote(e.to_string()))?;
        let mut body = response.into_body().into_reader();
        let mut part = PartFile::create(dir, &file.name).map_err(Failure::Local)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Remote(format!("download cut short: {e}"))),
            };
            total += n as u64;
            if total > limits.max_bytes {
                return Err(Failure::Remote(format!(
                    "more than the limit of {} bytes",
                    limits.max_bytes
                )));
            }
            hasher.update(&buf[..n]);
            part.write_all(&buf[..n]).map_err(Failure::Local)?;
        }
        let found = format!("{:x}", hasher.finalize());
        let expected = file.sha256.to_ascii_lowercase();
        if found != expected {
            return Err(Failure::Remote(format!(
                "checksum mismatch: expected sha256 {expected}, got {found} ({total} bytes); the file was not kept"
            )));
        }
        part.persist(&dir.join(&file.name)).map_err(Failure::Local)
    }

    /// A temporary file beside its final name; removed on drop unless persisted.
    struct PartFile {
        path: PathBuf,
        file: Option<File>,
    }

    /// Distinguishes the temporary files of one process.
    static PART_COUNTER: AtomicU64 = AtomicU64::new(0);

    impl PartFile {
        fn create(dir: &Path, name: &str) -> Result<Self, DataError> {
            loop {
                let n = PART_COUNTER.fetch_add(1, Ordering::Relaxed);
                let path = dir.join(format!(".{name}.{}.{n}.part", std::process::id()));
                match OpenOptions::new().write(true).create_new(true).open(&path) {
                    Ok(file) => {
                        return Ok(Self {
                            path,
                            file: Some(file),
                        })
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(DataError::io(&path, e)),
                }
            }
        }

        fn write_all(&mut self, bytes: &[u8]) -> Result<(), DataError> {
            match &mut self.file {
                Some(file) => file
                    .write_all(bytes)
                    .map_err(|e| DataError::io(&self.path, e)),
                None => Ok(()),
            }
        }

        /// Flushes the file to disk and renames it to `target`, then syncs the folder so the
        /// rename survives a crash (best effort: not every platform can sync a folder).
        fn persist(mut self, target: &Path) -> Result<(), DataError> {
            if let Some(file) = self.file.take() {
                file.sync_all().map_err(|e| DataError::io(&self.path, e))?;
            }
            fs::rename(&self.path, target).map_err(|e| DataError::io(target, e))?;
            // Renamed: nothing left to remove on drop.
            self.path = PathBuf::new();
            if let Some(parent) = target.parent() {
                if let Ok(dir) = File::open(parent) {
                    let _ = dir.sync_all();
                }
            }
            Ok(())
        }
    }

    impl Drop for PartFile {
        fn drop(&mut self) {
            drop(self.file.take());
            if !self.path.as_os_str().is_empty() {
                let _ = fs::remove_file(&self.path);
            }
        }
    }

    /// The sha256 of a file's bytes, in lower-case hex.
    fn sha256_of_file(path: &Path) -> Result<String, DataError> {
        let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher).map_err(|e| DataError::io(path, e))?;
        Ok(format!("{:x}", hasher.finalize()))
    }
}
