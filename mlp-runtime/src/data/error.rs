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

    /// An `.npz` archive lacks a member asked for (one of the four a Keras `mnist.npz`
    /// holds, or one named to [`read_npz_arrays`](super::read_npz_arrays)).
    #[error("{}: has no member `{member}` ({})", path.display(), members_list(present, member))]
    MissingMember {
        /// The archive.
        path: PathBuf,
        /// The missing member's name.
        member: String,
        /// The members the archive holds, sorted.
        present: Vec<String>,
    },

    /// An array's element type is not one the `.npy` reader converts (object arrays,
    /// strings, complex numbers, dates, 16-byte floats, …).
    #[error("{}: element type {found} is not read: {reason}", path.display())]
    UnsupportedDtype {
        /// The file (or `archive.npz/member.npy`).
        path: PathBuf,
        /// The dtype the header declares, as written there (e.g. `'|O'`).
        found: String,
        /// Why it is not read, in words.
        reason: String,
    },

    /// An element of a binary array cannot be held as what it is read into: a NaN or
    /// infinite float, a `float64` beyond `f32`'s range, a `uint64` above `i64::MAX`.
    #[error("{}: element {index} is {problem}", path.display())]
    BadElement {
        /// The file (or `archive.npz/member.npy`).
        path: PathBuf,
        /// The element's multi-index, as `[i, j]`.
        index: String,
        /// Its value and what is wrong with it, in words.
        problem: String,
    },

    /// A text file is larger than [`Limits::max_bytes`](super::Limits::max_bytes) allows
    /// (checked against the file's size before reading; a stream is cut at the limit).
    #[error("{}: the file holds {}, more than the limit of {limit} bytes", path.display(), size.map_or_else(|| "more".to_owned(), |n| format!("{n} bytes")))]
    FileOverLimit {
        /// The file.
        path: PathBuf,
        /// Its size, when known before reading (`None` for a stream cut at the limit).
        size: Option<u64>,
        /// The limit in force.
        limit: u64,
    },

    /// A CSV row holds another number of fields than the header (or the first row).
    #[error("{}:{line}:{}: row has {fields} fields, expected {expected} (as many as the {})", path.display(), fields.min(expected) + 1, if *header { "header" } else { "first row" })]
    CsvRagged {
        /// The file.
        path: PathBuf,
        /// The row's line in the file (1-based).
        line: u64,
        /// Fields in the row.
        fields: usize,
        /// Fields in the header or the first data row.
        expected: usize,
        /// Whether `expected` comes from a header.
        header: bool,
    },

    /// A CSV cell that must be a number is not one.
    #[error("{}:{line}:{column}: `{cell}` in {} is not a number{}", path.display(), column_words(*column, name.as_deref()), if *target { " (text labels are read only when the target is a single column)" } else { " (every feature must be a number; a column of text labels can only be the target)" })]
    CsvNotANumber {
        /// The file.
        path: PathBuf,
        /// The row's line in the file (1-based).
        line: u64,
        /// The column's number (1-based).
        column: usize,
        /// The column's name in the header, if the file has one.
        name: Option<String>,
        /// The cell's text (cut to 40 characters).
        cell: String,
        /// Whether the column is a target (one of several) rather than a feature.
        target: bool,
    },

    /// A CSV cell holds NaN, an infinity or a number beyond `f32`'s range.
    #[error("{}:{line}:{column}: `{cell}` in {} is not a finite number (NaN, infinities and numbers beyond f32's range are refused; write an empty cell or NA for a missing value)", path.display(), column_words(*column, name.as_deref()))]
    CsvNonFinite {
        /// The file.
        path: PathBuf,
        /// The row's line in the file (1-based).
        line: u64,
        /// The column's number (1-based).
        column: usize,
        /// The column's name in the header, if the file has one.
        name: Option<String>,
        /// The cell's text (cut to 40 characters).
        cell: String,
    },

    /// A CSV cell is missing (empty, `NA`, `N/A` or `null`) and rows with missing values
    /// are not dropped.
    #[error("{}:{line}:{column}: {} has a missing value ({}); drop_missing drops rows with missing values", path.display(), column_words(*column, name.as_deref()), if cell.is_empty() { "an empty cell".to_owned() } else { format!("`{cell}`") })]
    CsvMissing {
        /// The file.
        path: PathBuf,
        /// The row's line in the file (1-based).
        line: u64,
        /// The column's number (1-based).
        column: usize,
        /// The column's name in the header, if the file has one.
        name: Option<String>,
        /// The cell's text: empty, or the marker found (`NA`).
        cell: String,
    },

    /// A CSV text label is not UTF-8.
    #[error("{}:{line}:{column}: the label in {} is not UTF-8 text", path.display(), column_words(*column, name.as_deref()))]
    CsvNotUtf8 {
        /// The file.
        path: PathBuf,
        /// The row's line in the file (1-based).
        line: u64,
        /// The column's number (1-based).
        column: usize,
        /// The column's name in the header, if the file has one.
        name: Option<String>,
    },

    /// A CSV target column of text has more distinct values than class labels may.
    #[error("{}:{line}:{column}: {} holds text and more than {limit} distinct values, too many for class labels", path.display(), column_words(*column, name.as_deref()))]
    CsvTooManyLabels {
        /// The file.
        path: PathBuf,
        /// The line of the first cell of text (1-based).
        line: u64,
        /// The column's number (1-based).
        column: usize,
        /// The column's name in the header, if the file has one.
        name: Option<String>,
        /// The most distinct labels read.
        limit: usize,
    },

    /// A CSV file has no data rows (it is empty, holds only a header or skipped rows, or
    /// every row had a missing value and was dropped).
    #[error("{}: no data rows ({})", path.display(), no_rows_reason(*skipped, *header, *dropped))]
    CsvNoRows {
        /// The file.
        path: PathBuf,
        /// Rows skipped before the header (`skip_rows`) that were there.
        skipped: usize,
        /// Whether a header was read.
        header: bool,
        /// Rows dropped for a missing value.
        dropped: usize,
    },

    /// A CSV column named by a name that is not in the header.
    #[error("{}:{line}: no column named `{column}` in the header{}; the columns are {}", path.display(), suggestion.as_ref().map_or_else(String::new, |s| format!(" (did you mean `{s}`?)")), names_list(columns))]
    CsvUnknownColumn {
        /// The file.
        path: PathBuf,
        /// The header's line (1-based).
        line: u64,
        /// The name asked for.
        column: String,
        /// The header's closest name, if one is close.
        suggestion: Option<String>,
        /// The header's names.
        columns: Vec<String>,
    },

    /// A CSV column named by an index past the last column.
    #[error("{}:{line}: column index {index} is out of range: the file has {columns} columns (indices 0 to {})", path.display(), columns.saturating_sub(1))]
    CsvColumnOutOfRange {
        /// The file.
        path: PathBuf,
        /// The line that set the number of columns (the header or the first row).
        line: u64,
        /// The 0-based index asked for.
        index: usize,
        /// Columns in the file.
        columns: usize,
    },

    /// The column choice of a CSV read is inconsistent: a column named twice, both a
    /// feature and a target, a name without a header, a name the header holds twice.
    #[error("{}: {problem}", path.display())]
    CsvColumns {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },

    /// Every column of a CSV file is a target (or ignored): no feature is left.
    #[error("{}: no feature columns left: the file has {columns} column{} and {targets} {} the target{}", path.display(), if *columns == 1 { "" } else { "s" }, if *targets == 1 { "is" } else { "are" }, if *targets == 1 { "" } else { "s" })]
    CsvNoFeatures {
        /// The file.
        path: PathBuf,
        /// Columns in the file.
        columns: usize,
        /// Columns chosen as targets.
        targets: usize,
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

/// ``column `MEDV` `` with a header, `column 14` without.
fn column_words(column: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("column `{name}`"),
        None => format!("column {column}"),
    }
}

/// The most names an error message lists.
const LISTED_NAMES: usize = 40;

/// `a, b, c`, cut after [`LISTED_NAMES`] with how many more there are.
fn names_list(names: &[String]) -> String {
    let listed = names
        .iter()
        .take(LISTED_NAMES)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match names.len().checked_sub(LISTED_NAMES) {
        Some(more) if more > 0 => format!("{listed} and {more} more"),
        _ => listed,
    }
}

fn members_list(present: &[String], member: &str) -> String {
    let mut text = if present.is_empty() {
        "the archive holds no member".to_owned()
    } else {
        format!("it holds {}", names_list(present))
    };
    if super::MNIST_NPZ_MEMBERS.contains(&member) {
        text.push_str(
            "; Keras's mnist.npz holds x_train.npy, y_train.npy, x_test.npy and y_test.npy",
        );
    }
    text
}

fn no_rows_reason(skipped: usize, header: bool, dropped: usize) -> String {
    if dropped > 0 {
        let rows = if dropped == 1 { "row" } else { "rows" };
        return format!(
            "the {dropped} {rows} each had a missing value and drop_missing dropped them"
        );
    }
    match (skipped, header) {
        (0, false) => "the file is empty".to_owned(),
        (0, true) => "the file holds only a header".to_owned(),
        (1, false) => "the file holds only the 1 skipped row".to_owned(),
        (1, true) => "the file holds only the 1 skipped row and a header".to_owned(),
        (n, false) => format!("the file holds only the {n} skipped rows"),
        (n, true) => format!("the file holds only the {n} skipped rows and a header"),
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
