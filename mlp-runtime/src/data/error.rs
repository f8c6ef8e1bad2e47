//! [`DataError`]: everything that can go wrong while finding, downloading or reading a
//! dataset, each message naming the file and the problem in a person's words.

use std::io;
use std::path::{Path, PathBuf};

/// Why a dataset could not be loaded.
///
/// Every variant that concerns one file carries its path (for a member of an `.npz` archive,
/// the archive's path joined with the member's name, e.g. `data/mnist.npz/x_train.npy`), and
/// its message starts with that path, so the CLI can print it as a one-line cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The operating system refused to open, read, write or rename a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },

    /// The file holds no bytes at all (or a gzip stream that decompresses to nothing).
    #[error("{}: the file is empty", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },

    /// The file ends before its header does.
    #[error("{}: the file ends after {found} bytes, inside its {needed}-byte header", path.display())]
    TruncatedHeader {
        /// The file.
        path: PathBuf,
        /// Bytes the header needs.
        needed: u64,
        /// Bytes the file holds.
        found: u64,
    },

    /// The first four bytes are not the magic number of the expected kind of file.
    #[error(
        "{}: magic number is {found:#010x} ({}), expected {expected:#010x} ({})",
        path.display(),
        describe_magic(*found),
        describe_magic(*expected)
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found (first four bytes, big-endian).
        found: u32,
        /// The magic number expected.
        expected: u32,
    },

    /// The header is readable but describes something this reader does not accept (a
    /// zero-sized dimension, an `.npy` header that does not parse, Fortran order, …).
    #[error("{}: {problem}", path.display())]
    BadHeader {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },

    /// An `.npy` member's element type is not unsigned bytes.
    #[error("{}: element type is {found}, expected unsigned bytes ('|u1', numpy uint8)", path.display())]
    WrongDtype {
        /// The member (`archive.npz/x_train.npy`).
        path: PathBuf,
        /// The dtype the header declares, as written there (e.g. `'<f4'`).
        found: String,
    },

    /// The header's claimed size and the bytes that follow it disagree.
    #[error("{}: header says {claim} ({claimed} bytes) but the file holds {found} bytes after its {header}-byte header", path.display())]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// What the header claims, in words (`60000 images of 28x28`).
        claim: String,
        /// Bytes the claim needs after the header.
        claimed: u64,
        /// Bytes found after the header (decompressed, for a gzip file).
        found: u64,
        /// Length of the header in bytes.
        header: u64,
    },

    /// The header claims more data than [`Limits::max_bytes`](super::Limits::max_bytes)
    /// allows; nothing was allocated.
    #[error("{}: header says {claim} ({claimed} bytes), more than the limit of {limit} bytes", path.display())]
    OverLimit {
        /// The file.
        path: PathBuf,
        /// What the header claims, in words.
        claim: String,
        /// Bytes the claim needs (saturated at `u128::MAX`).
        claimed: u128,
        /// The limit in force.
        limit: u64,
    },

    /// A compressed stream decompresses to more than the limit (a gzip bomb, or a wrong
    /// limit); reading stopped at the limit.
    #[error("{}: decompresses to more than the limit of {limit} bytes", path.display())]
    DecompressedOverLimit {
        /// The file.
        path: PathBuf,
        /// The limit in force.
        limit: u64,
    },

    /// A gzip stream is corrupt or cut short.
    #[error("{}: corrupt or truncated gzip data ({source})", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        source: io::Error,
    },

    /// A zip archive (`mnist.npz`) cannot be read.
    #[error("{}: not a readable zip archive ({source})", path.display())]
    Zip {
        /// The archive, or `archive.npz/member.npy` for an error inside one member.
        path: PathBuf,
        /// What the zip reader said.
        source: zip::result::ZipError,
    },

    /// An `.npz` archive lacks one of the members a Keras `mnist.npz` holds.
    #[error("{}: has no member `{member}` (Keras's mnist.npz holds x_train.npy, y_train.npy, x_test.npy and y_test.npy)", path.display())]
    MissingMember {
        /// The archive.
        path: PathBuf,
        /// The missing member's name.
        member: String,
    },

    /// The image file and the label file hold different numbers of samples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// The label file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },

    /// A label is not a class index.
    #[error("{}: label {label} of sample {index} is not a class (expected 0..={})", path.display(), classes.saturating_sub(1))]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// Index of the first offending sample.
        index: usize,
        /// Its label.
        label: u64,
        /// Number of classes.
        classes: usize,
    },

    /// A folder holds some of the four IDX files of a dataset but not all of them.
    #[error("{}: missing {} (an IDX dataset needs its four files, each plain or .gz)", dir.display(), missing.join(", "))]
    MissingFiles {
        /// The folder.
        dir: PathBuf,
        /// The files not found, by their canonical names.
        missing: Vec<String>,
    },

    /// The dataset path names a file that is not a Keras `.npz` (a folder was expected).
    #[error(
        "`{}` is a file, not a folder: name a folder holding MNIST (the four IDX files, a \
         mnist/ folder with them, or mnist.npz), or a Keras `.npz` file itself",
        path.display()
    )]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },

    /// No dataset was found anywhere it was looked for (and no download was attempted, or it
    /// failed).
    #[error("{}", not_found_message(searched, *explicit, download.as_deref()))]
    NotFound {
        /// Every place looked at, in order.
        searched: Vec<PathBuf>,
        /// Whether the search was limited to a folder the user named (`--data DIR`).
        explicit: bool,
        /// Why the download into the cache failed, if one was attempted.
        download: Option<Box<DataError>>,
    },

    /// A download was needed, but this build has no HTTP client (mlp-runtime without its
    /// `download` feature).
    #[error(
        "this build cannot download (mlp-runtime was built without its `download` feature); \
         put the dataset in a folder and name it"
    )]
    DownloadDisabled,

    /// Every mirror failed to deliver a file with the expected checksum.
    #[error("could not download {file}: {}", attempts_list(attempts))]
    Download {
        /// The file's name.
        file: String,
        /// Each URL tried and what went wrong there.
        attempts: Vec<(String, String)>,
    },

    /// An in-memory dataset is inconsistent (see [`Dataset::new`](super::Dataset::new)).
    #[error("invalid dataset: {reason}")]
    InvalidDataset {
        /// What is wrong.
        reason: String,
    },

    /// A validation split that would leave one side empty, or a fraction outside (0, 1).
    #[error("validation_split={fraction} cannot split {samples} samples into a training and a validation set: either side would be empty")]
    BadSplit {
        /// The fraction asked for.
        fraction: f64,
        /// Samples in the dataset.
        samples: usize,
    },
}

impl DataError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// A person's words for a magic number.
fn describe_magic(magic: u32) -> &'static str {
    match magic {
        0x0000_0801 => "IDX labels: unsigned bytes, 1 dimension",
        0x0000_0803 => "IDX images: unsigned bytes, 3 dimensions",
        0x0000_0800..=0x0000_08ff => "IDX unsigned bytes, another number of dimensions",
        0x0000_0900..=0x0000_0eff => "IDX of another element type",
        0x504b_0304 => "a zip archive",
        0x7f45_4c46 => "an executable",
        _ => "not an IDX file",
    }
}

fn attempts_list(attempts: &[(String, String)]) -> String {
    if attempts.is_empty() {
        return "no mirror to try".to_owned();
    }
    let tries: Vec<String> = attempts
        .iter()
        .map(|(url, problem)| format!("{url}: {problem}"))
        .collect();
    tries.join("; ")
}

fn not_found_message(searched: &[PathBuf], explicit: bool, download: Option<&DataError>) -> String {
    let places: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
    let looked = if places.is_empty() {
        String::new()
    } else {
        format!(
            " (looked for the four IDX files or mnist.npz in {})",
            places.join(", ")
        )
    };
    let next = match download {
        Some(error) => format!("the download failed too: {error}"),
        None if explicit => {
            "the folder given should hold the IDX files, a mnist/ folder with them, or mnist.npz"
                .to_owned()
        }
        None => "pass --data DIR or set MLP_DATA to a folder holding mnist/".to_owned(),
    };
    format!("MNIST not found{looked}; {next}")
}
