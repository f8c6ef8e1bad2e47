//! Finding MNIST: `--data DIR`, then `$MLP_DATA/mnist`, then the user cache
//! (`$XDG_CACHE_HOME/mlp/mnist` or `~/.cache/mlp/mnist`), then a download into that cache.
//!
//! A folder holds MNIST if it has the four IDX files (each plain or `.gz`, with the
//! `train-images-idx3-ubyte` or `train-images.idx3-ubyte` spelling) or Keras's
//! `mnist.npz`; a path the user named may also be such an `.npz` file itself. A folder
//! that has some of the IDX files but not all is an error, not a
//! reason to look elsewhere, and so is a malformed file: the user meant that data.

use std::path::{Path, PathBuf};

use super::{
    download, read_mnist_npz_with, DataError, Dataset, Limits, Mnist, Remote, MNIST_CLASSES,
};

/// The four IDX files in [`Mnist`] order (train images, train labels, test images, test
/// labels), each with the spellings found in the wild; the first is the canonical name.
const IDX_FILES: [[&str; 2]; 4] = [
    ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
    ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
    ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
    ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
];

/// Extensions tried for each IDX file, in order of preference (plain reads faster).
const IDX_SUFFIXES: [&str; 2] = ["", ".gz"];

/// Keras's single-file MNIST.
const NPZ_FILE: &str = "mnist.npz";

/// Where [`load_mnist_with`] looks for MNIST, and how it reads it.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// A folder the user named (`--data DIR`); it may hold the files itself, a `mnist/`
    /// folder holding them, or `mnist.npz`; or a Keras `.npz` file itself (`--data
    /// mnist.npz`). When set, nothing else is searched and nothing is downloaded. Default:
    /// none.
    pub data_dir: Option<PathBuf>,
    /// The `$MLP_DATA` folder; its `mnist/` subfolder is searched. Default
    /// ([`LoadOptions::from_env`]): the environment variable, if set and non-empty.
    pub mlp_data: Option<PathBuf>,
    /// The cache folder, searched after `$MLP_DATA` and downloaded into. Default:
    /// `$XDG_CACHE_HOME/mlp/mnist` if that variable holds an absolute path, else
    /// `$HOME/.cache/mlp/mnist`; none without either.
    pub cache_dir: Option<PathBuf>,
    /// Where to download MNIST from when it is found nowhere; `None` disables the
    /// download. Default: [`Remote::mnist`] (none without the crate's `download` feature).
    pub remote: Option<Remote>,
    /// Bounds on each file read. Default: [`Limits::default`].
    pub limits: Limits,
}

impl LoadOptions {
    /// The defaults, read from the environment, with `data_dir` as given.
    #[must_use]
    pub fn from_env(data_dir: Option<&Path>) -> Self {
        Self {
            data_dir: data_dir.map(Path::to_owned),
            mlp_data: env_path("MLP_DATA"),
            cache_dir: default_cache_dir(),
            // Without an HTTP client, a missing dataset is reported as not found, naming
            // where to put it, rather than as a failed download.
            remote: cfg!(feature = "download").then(Remote::mnist),
            limits: Limits::default(),
        }
    }
}

/// Loads MNIST from the first place that holds it: `dir` (`--data`), `$MLP_DATA/mnist`,
/// the user cache, or a download into the cache (see [`LoadOptions::from_env`]).
///
/// # Errors
/// See [`load_mnist_with`].
pub fn load_mnist(dir: Option<&Path>) -> Result<Mnist, DataError> {
    load_mnist_with(&LoadOptions::from_env(dir))
}

/// Loads MNIST from the first place in `options` that holds it (see the module docs).
///
/// # Errors
/// [`DataError::NotFound`] listing every place searched (with the download's error, if one
/// was tried); [`DataError::MissingFiles`] for a folder with only some of the IDX files;
/// any error of the readers for a malformed file.
pub fn load_mnist_with(options: &LoadOptions) -> Result<Mnist, DataError> {
    let limits = options.limits;
    let mut searched = Vec::new();
    if let Some(dir) = &options.data_dir {
        if dir.is_file() {
            let npz = dir
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("npz"));
            return if npz {
                read_mnist_npz_with(dir, limits)
            } else {
                Err(DataError::NotAFolder { path: dir.clone() })
            };
        }
        for candidate in [dir.clone(), dir.join("mnist")] {
            if let Some(mnist) = load_from(&candidate, limits)? {
                return Ok(mnist);
            }
            searched.push(candidate);
        }
        return Err(DataError::NotFound {
            searched,
            explicit: true,
            download: None,
        });
    }
    if let Some(root) = &options.mlp_data {
        let dir = root.join("mnist");
        if let Some(mnist) = load_from(&dir, limits)? {
            return Ok(mnist);
        }
        searched.push(dir);
    }
    let Some(cache) = &options.cache_dir else {
        return Err(DataError::NotFound {
            searched,
            explicit: false,
            download: None,
        });
    };
    // Some IDX files but not all: an earlier download stopped half-way; let the download
    // below fetch the rest rather than report them missing.
    let found = find_idx_files(cache);
    let partial = found.iter().any(Option::is_some) && !found.iter().all(Option::is_some);
    if !(partial && options.remote.is_some()) {
        if let Some(mnist) = load_from(cache, limits)? {
            return Ok(mnist);
        }
    }
    searched.push(cache.clone());
    let Some(remote) = &options.remote else {
        return Err(DataError::NotFound {
            searched,
            explicit: false,
            download: None,
        });
    };
    match download(remote, cache, limits) {
        Ok(()) => load_idx_dir_with(cache, limits),
        Err(error) => Err(DataError::NotFound {
            searched,
            explicit: false,
            download: Some(Box::new(error)),
        }),
    }
}

/// Loads the four IDX files of an MNIST-shaped dataset (MNIST, Fashion-MNIST, …) from
/// `dir`, each plain or gzipped, under the default [`Limits`].
///
/// # Errors
/// See [`load_idx_dir_with`].
pub fn load_idx_dir(dir: &Path) -> Result<Mnist, DataError> {
    load_idx_dir_with(dir, Limits::default())
}

/// Loads the four IDX files of an MNIST-shaped dataset from `dir`, each plain or gzipped,
/// with labels checked against 10 classes.
///
/// # Errors
/// [`DataError::MissingFiles`] naming the files not found; any error of
/// [`Dataset::from_idx`].
pub fn load_idx_dir_with(dir: &Path, limits: Limits) -> Result<Mnist, DataError> {
    let found = find_idx_files(dir);
    let [Some(train_images), Some(train_labels), Some(test_images), Some(test_labels)] = found
    else {
        return Err(missing_files(dir, &found));
    };
    Ok(Mnist {
        train: Dataset::from_idx(&train_images, &train_labels, MNIST_CLASSES, limits)?,
        test: Dataset::from_idx(&test_images, &test_labels, MNIST_CLASSES, limits)?,
    })
}

/// MNIST from `dir` if it holds any: the IDX files, else `mnist.npz`.
fn load_from(dir: &Path, limits: Limits) -> Result<Option<Mnist>, DataError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let found = find_idx_files(dir);
    if found.iter().any(Option::is_some) {
        return load_idx_dir_with(dir, limits).map(Some);
    }
    let npz = dir.join(NPZ_FILE);
    if npz.is_file() {
        return read_mnist_npz_with(&npz, limits).map(Some);
    }
    Ok(None)
}

/// The path of each IDX file in `dir`, if present.
fn find_idx_files(dir: &Path) -> [Option<PathBuf>; 4] {
    IDX_FILES.map(|names| {
        names.iter().find_map(|name| {
            IDX_SUFFIXES
                .iter()
                .map(|suffix| dir.join(format!("{name}{suffix}")))
                .find(|path| path.is_file())
        })
    })
}

fn missing_files(dir: &Path, found: &[Option<PathBuf>; 4]) -> DataError {
    let missing = IDX_FILES
        .iter()
        .zip(found)
        .filter(|(_, path)| path.is_none())
        .map(|(names, _)| names[0].to_owned())
        .collect();
    DataError::MissingFiles {
        dir: dir.to_owned(),
        missing,
    }
}

/// An environment variable as a path, if set and non-empty.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// `$XDG_CACHE_HOME/mlp/mnist` (if absolute, as the XDG spec requires), else
/// `$HOME/.cache/mlp/mnist`.
fn default_cache_dir() -> Option<PathBuf> {
    let base = env_path("XDG_CACHE_HOME")
        .filter(|path| path.is_absolute())
        .or_else(|| env_path("HOME").map(|home| home.join(".cache")))?;
    Some(base.join("mlp").join("mnist"))
}
