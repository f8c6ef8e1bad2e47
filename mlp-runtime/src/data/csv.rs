//! Users' own tabular data: CSV and TSV files (plain, or gzipped: detected from the first
//! bytes) of numbers, one sample per row, read into an `f32` feature matrix and the target
//! column(s) (numbers, or text labels turned into class indices).
//!
//! Which columns are what is told by [`CsvOptions`]: by default the last column is the
//! target and every other column a feature. Rows may be skipped before the header or the
//! data ([`CsvOptions::skip_rows`]: scikit-learn's bundled files start with a line of
//! metadata such as `150,4,setosa,versicolor,virginica`).
//!
//! Cells: surrounding spaces are ignored; a number is anything `str::parse::<f32>` reads
//! (`3`, `-0.5`, `1e-3`, `.5`); an empty cell, `NA`, `N/A` or `null` (any case) is a
//! missing value, an error unless [`CsvOptions::drop_missing`] drops the row; `nan`, `inf`
//! and numbers beyond `f32`'s range are refused (a NaN would poison training without a
//! word). A single target column with any cell that is not a number is read as text
//! labels: its distinct values sorted (as strings: `"10"` before `"2"`), each cell the index
//! of its value.
//!
//! Invariants: a file larger than [`Limits::max_bytes`] is refused before reading (a stream
//! is cut there); nothing is allocated from a claim in the file (scikit-learn's row count
//! is not trusted): the arrays grow as rows arrive. The cells are parsed straight into one
//! `Vec<f32>` through one reused [`csv::ByteRecord`], so memory stays about the size of
//! the `f32` data (plus one `u32` per row and up to [`MAX_LABELS`] distinct texts for a
//! single target column). Every error names the place as `file:line:column` (1-based line
//! as in the file, 1-based column) and the column's header name.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use flate2::read::MultiGzDecoder;
use ndarray::{Array1, Array2};

use super::input::open_file;
use super::{DataError, Limits};

/// The most distinct values a column of text labels may hold.
pub const MAX_LABELS: usize = 65_536;

/// The most characters of a cell an error message shows.
const CELL_SHOWN: usize = 40;

/// The two bytes every gzip stream starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Read buffer size (the `csv` reader's and the decompressor's).
const BUFFER: usize = 64 * 1024;

/// A column of a CSV file, by its header name or its 0-based index.
///
/// Parsed from text (a command-line argument) with [`str::parse`]: a number is an index,
/// anything else a name.
///
/// ```
/// use mlp_runtime::data::ColumnRef;
///
/// assert_eq!("MEDV".parse::<ColumnRef>(), Ok(ColumnRef::Name("MEDV".to_owned())));
/// assert_eq!("4".parse::<ColumnRef>(), Ok(ColumnRef::Index(4)));
/// assert!("".parse::<ColumnRef>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnRef {
    /// The column whose header cell holds this name (surrounding spaces ignored).
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
}

impl FromStr for ColumnRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "a column is named by its header name or its 0-based index, not an empty string"
                    .to_owned(),
            );
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return text
                .parse()
                .map(Self::Index)
                .map_err(|_| format!("column index {text} is too large"));
        }
        Ok(Self::Name(text.to_owned()))
    }
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Index(index) => write!(f, "{index}"),
        }
    }
}

impl From<&str> for ColumnRef {
    /// A name (even if it looks like a number; [`str::parse`] reads numbers as indices).
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<usize> for ColumnRef {
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

/// How to read a CSV file: its delimiter, header, rows to skip and which columns are what.
///
/// ```
/// use mlp_runtime::data::{ColumnRef, CsvOptions};
///
/// // scikit-learn's boston_house_prices.csv: a metadata line, then a header.
/// let boston = CsvOptions {
///     skip_rows: 1,
///     target: vec![ColumnRef::Name("MEDV".to_owned())],
///     ..CsvOptions::default()
/// };
/// // iris.csv: a metadata line, no header, the class in the last column (the default).
/// let iris = CsvOptions { skip_rows: 1, has_header: false, ..CsvOptions::default() };
/// assert_eq!(iris.delimiter, b',');
/// # let _ = boston;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// The byte between cells. Default `b','`; TSV files use `b'\t'` (see
    /// [`CsvOptions::for_path`]).
    pub delimiter: u8,
    /// Whether the first row (after the skipped ones) names the columns. Default: true.
    pub has_header: bool,
    /// Rows (records) skipped before the header or the data, whatever they hold. Default: 0.
    pub skip_rows: usize,
    /// The target columns. Default (empty): the last column.
    pub target: Vec<ColumnRef>,
    /// The feature columns, in the order wanted. Default (`None`): every column that is not
    /// a target, in the file's order.
    pub features: Option<Vec<ColumnRef>>,
    /// Whether a row with a missing value (in a column read) is dropped and counted
    /// ([`CsvTable::dropped_rows`]) rather than refused. Default: false.
    pub drop_missing: bool,
    /// Whether the file has no targets: every column (or `features`) is a feature, and
    /// the table's targets are `Numbers` with no columns (inputs to predict on). `target`
    /// must then be empty. Default: false.
    pub features_only: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            has_header: true,
            skip_rows: 0,
            target: Vec::new(),
            features: None,
            drop_missing: false,
            features_only: false,
        }
    }
}

impl CsvOptions {
    /// The defaults, with a tab delimiter when the file is named `*.tsv` or `*.tab`
    /// (optionally followed by `.gz`), a comma otherwise.
    ///
    /// ```
    /// use mlp_runtime::data::CsvOptions;
    ///
    /// assert_eq!(CsvOptions::for_path("data.TSV".as_ref()).delimiter, b'\t');
    /// assert_eq!(CsvOptions::for_path("data.tsv.gz".as_ref()).delimiter, b'\t');
    /// assert_eq!(CsvOptions::for_path("data.csv".as_ref()).delimiter, b',');
    /// ```
    #[must_use]
    pub fn for_path(path: &Path) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = Path::new(&name);
        let name = if name
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
        {
            Path::new(name.file_stem().unwrap_or_default())
        } else {
            name
        };
        let tab = name
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv") || e.eq_ignore_ascii_case("tab"));
        Self {
            delimiter: if tab { b'\t' } else { b',' },
            ..Self::default()
        }
    }
}

/// A CSV file read into numbers.
///
/// Invariants: `features` has `feature_names.len()` columns and one row per sample;
/// the targets have as many rows, and [`CsvTargets::Numbers`] has `target_names.len()`
/// columns (text labels come from a single target column).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// One row per sample, one column per feature, in the order of
    /// [`CsvOptions::features`] (the file's order by default).
    pub features: Array2<f32>,
    /// Each feature's name: its header cell, or its 0-based index as text without a header.
    pub feature_names: Vec<String>,
    /// The target column(s).
    pub targets: CsvTargets,
    /// Each target's name (as for features).
    pub target_names: Vec<String>,
    /// Rows dropped for a missing value ([`CsvOptions::drop_missing`]).
    pub dropped_rows: usize,
}

impl CsvTable {
    /// Number of samples (rows read, not counting dropped ones).
    #[must_use]
    pub fn rows(&self) -> usize {
        self.features.nrows()
    }
}

/// The targets of a [`CsvTable`].
#[derive(Debug, Clone, PartialEq)]
pub enum CsvTargets {
    /// Every target cell is a number: one row per sample, one column per target.
    Numbers(Array2<f32>),
    /// A single target column with text in it: each sample's class index into `names`.
    Labels {
        /// One index per sample, each `< names.len()`.
        indices: Array1<u32>,
        /// The column's distinct values, sorted.
        names: Vec<String>,
    },
}

/// Reads a CSV (or TSV, with `opts.delimiter = b'\t'`) file, plain or gzipped.
///
/// ```no_run
/// use mlp_runtime::data::{read_csv, CsvOptions, CsvTargets, Limits};
///
/// let opts = CsvOptions { skip_rows: 1, has_header: false, ..CsvOptions::default() };
/// let iris = read_csv("iris.csv".as_ref(), &opts, Limits::default())?;
/// assert_eq!(iris.features.ncols(), 4);
/// if let CsvTargets::Numbers(y) = &iris.targets {
///     println!("{} samples, first class {}", iris.rows(), y[[0, 0]]);
/// }
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// [`DataError::Io`] for the file; [`DataError::FileOverLimit`] when it is larger than
/// `limits.max_bytes` (or decompresses to more); the column errors
/// [`DataError::CsvUnknownColumn`] (with the closest header name),
/// [`DataError::CsvColumnOutOfRange`], [`DataError::CsvColumns`],
/// [`DataError::CsvNoFeatures`]; [`DataError::CsvNoRows`]; the row and cell errors
/// [`DataError::CsvRagged`], [`DataError::CsvNotANumber`], [`DataError::CsvNonFinite`],
/// [`DataError::CsvMissing`], [`DataError::CsvNotUtf8`], [`DataError::CsvTooManyLabels`];
/// [`DataError::Gzip`] for a bad gzip stream.
pub fn read_csv(path: &Path, opts: &CsvOptions, limits: Limits) -> Result<CsvTable, DataError> {
    let (file, size) = open_file(path)?;
    if size > limits.max_bytes {
        return Err(DataError::FileOverLimit {
            path: path.to_owned(),
            size: Some(size),
            limit: limits.max_bytes,
        });
    }
    read_csv_from(file, path, opts, limits)
}

/// Reads CSV from any reader (gzipped or not), as [`read_csv`] reads a file; `name` stands
/// for the data in error messages. For fuzzing and for data that is not in a file.
///
/// ```
/// use mlp_runtime::data::{read_csv_from, CsvOptions, CsvTargets, Limits};
///
/// let text = "x,y,species\n1,2,cat\n3,4,dog\n5,6,cat\n";
/// let table = read_csv_from(text.as_bytes(), "pets.csv".as_ref(), &CsvOptions::default(), Limits::default())?;
/// assert_eq!(table.features.dim(), (3, 2));
/// assert_eq!(table.feature_names, ["x", "y"]);
/// let CsvTargets::Labels { indices, names } = &table.targets else { unreachable!() };
/// assert_eq!(names, &["cat", "dog"]);
/// assert_eq!(indices.to_vec(), [0, 1, 0]);
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// As [`read_csv`].
pub fn read_csv_from<R: Read>(
    reader: R,
    name: &Path,
    opts: &CsvOptions,
    limits: Limits,
) -> Result<CsvTable, DataError> {
    let mut buffered = BufReader::with_capacity(BUFFER, reader);
    let head = buffered.fill_buf().map_err(|e| DataError::io(name, e))?;
    let gzipped = head.starts_with(&GZIP_MAGIC);
    let source: Box<dyn Read + '_> = if gzipped {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let reader = csv::ReaderBuilder::new()
        .delimiter(opts.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(BUFFER)
        .from_reader(Bounded {
            inner: source,
            left: limits.max_bytes,
        });
    let mut rows = Rows {
        path: name,
        reader,
        record: csv::ByteRecord::new(),
        gzipped,
        limit: limits.max_bytes,
    };
    read_table(&mut rows, opts)
}

/// A reader that fails with [`io::ErrorKind::FileTooLarge`] rather than deliver more than
/// `left` bytes.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut probe = [0; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "more bytes than the limit",
                )),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The records of one file, read one at a time into one reused [`csv::ByteRecord`].
struct Rows<'a, R> {
    path: &'a Path,
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    gzipped: bool,
    limit: u64,
}

impl<R: Read> Rows<'_, R> {
    /// Reads the next record; false at the end.
    fn next(&mut self) -> Result<bool, DataError> {
        self.reader
            .read_byte_record(&mut self.record)
            .map_err(|error| self.error(error))
    }

    /// The current record's first line in the file (1-based).
    fn line(&self) -> u64 {
        self.record.position().map_or(0, csv::Position::line)
    }

    fn error(&self, error: csv::Error) -> DataError {
        let path = self.path.to_owned();
        match error.into_kind() {
            csv::ErrorKind::Io(source) if source.kind() == io::ErrorKind::FileTooLarge => {
                DataError::FileOverLimit {
                    path,
                    size: None,
                    limit: self.limit,
                }
            }
            csv::ErrorKind::Io(source) if self.gzipped => DataError::Gzip { path, source },
            csv::ErrorKind::Io(source) => DataError::Io { path, source },
            // Not produced for byte records of a flexible reader; kept as an I/O error.
            other => DataError::Io {
                path,
                source: io::Error::other(format!("{other:?}")),
            },
        }
    }
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Not read.
    Skip,
    /// Feature number `n` (its place in a row of the feature matrix).
    Feature(usize),
    /// Target number `n`.
    Target(usize),
}

/// What a cell holds.
enum Cell {
    Number(f32),
    Missing,
    NonFinite,
    Text,
}

/// Classifies a cell (already trimmed).
fn classify(cell: &[u8]) -> Cell {
    match parse_f32(cell) {
        Some(value) if value.is_finite() => Cell::Number(value),
        Some(_) => Cell::NonFinite,
        None if is_missing(cell) => Cell::Missing,
        None => Cell::Text,
    }
}

/// The number a cell holds, if it is one (NaN and infinities included): what
/// `str::parse::<f32>` reads, read from the bytes (a cell that is not UTF-8 is not a number
/// either way).
fn parse_f32(cell: &[u8]) -> Option<f32> {
    fast_float2::parse(cell).ok()
}

/// Whether a cell marks a missing value: empty, `NA`, `N/A` or `null`, in any case.
fn is_missing(cell: &[u8]) -> bool {
    cell.is_empty()
        || [&b"na"[..], b"n/a", b"null"]
            .iter()
            .any(|marker| cell.eq_ignore_ascii_case(marker))
}

/// A cell's text for a message: at most [`CELL_SHOWN`] characters, control characters
/// escaped.
fn shown(cell: &[u8]) -> String {
    let text = String::from_utf8_lossy(cell);
    let mut out: String = text
        .chars()
        .take(CELL_SHOWN)
        .flat_map(|c| {
            let escape = c.is_control() || c == '`';
            let escaped: Vec<char> = if escape {
                c.escape_debug().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if text.chars().count() > CELL_SHOWN {
        out.push('…');
    }
    out
}

/// The state of a single target column that may turn out to hold text labels: its
/// distinct texts, interned, while there are at most [`MAX_LABELS`] of them.
#[derive(Default)]
struct Labels {
    /// Whether a cell of text has been seen (the column is labels, not numbers).
    text: bool,
    /// Whether there were too many distinct texts to keep (the column can only be numbers).
    overflow: bool,
    /// Text → id (order of first appearance).
    ids: HashMap<Box<[u8]>, u32>,
    /// Id → text.
    texts: Vec<Box<[u8]>>,
    /// Each kept row's id.
    rows: Vec<u32>,
}

impl Labels {
    /// The id of `cell`, interning it; `None` if there are already [`MAX_LABELS`] texts.
    fn intern(&mut self, cell: &[u8]) -> Option<u32> {
        if let Some(&id) = self.ids.get(cell) {
            return Some(id);
        }
        if self.texts.len() >= MAX_LABELS {
            return None;
        }
        let id = self.texts.len() as u32;
        self.ids.insert(cell.into(), id);
        self.texts.push(cell.into());
        Some(id)
    }

    /// Stops interning (too many distinct numbers for a label column).
    fn give_up(&mut self) {
        self.overflow = true;
        self.ids = HashMap::new();
        self.texts = Vec::new();
        self.rows = Vec::new();
    }
}

/// Where a cell is, for its error.
struct At<'a> {
    path: &'a Path,
    line: u64,
    column: usize,
    name: Option<String>,
}

/// Everything decided before the data: the columns and their roles.
struct Layout {
    /// One per column of the file.
    roles: Vec<Role>,
    features: usize,
    targets: usize,
    feature_names: Vec<String>,
    target_names: Vec<String>,
    /// The header's names, if any.
    header: Option<Vec<String>>,
}

impl Layout {
    fn at<'a>(&self, path: &'a Path, line: u64, column: usize) -> At<'a> {
        At {
            path,
            line,
            column: column + 1,
            // An empty header cell names nothing: the message gives the number alone.
            name: self
                .header
                .as_ref()
                .and_then(|h| h.get(column))
                .filter(|name| !name.is_empty())
                .cloned(),
        }
    }
}

fn read_table<R: Read>(rows: &mut Rows<'_, R>, opts: &CsvOptions) -> Result<CsvTable, DataError> {
    let path = rows.path;
    let mut skipped = 0;
    while skipped < opts.skip_rows {
        if !rows.next()? {
            return Err(DataError::CsvNoRows {
                path: path.to_owned(),
                skipped,
                header: false,
                dropped: 0,
            });
        }
        skipped += 1;
    }
    let header = if opts.has_header {
        if !rows.next()? {
            return Err(DataError::CsvNoRows {
                path: path.to_owned(),
                skipped,
                header: false,
                dropped: 0,
            });
        }
        let names: Vec<String> = rows
            .record
            .iter()
            .map(|cell| String::from_utf8_lossy(cell.trim_ascii()).into_owned())
            .collect();
        Some((names, rows.line()))
    } else {
        None
    };
    let have_row = rows.next()?;
    let (columns, columns_line) = match &header {
        Some((names, line)) => (names.len(), *line),
        None if have_row => (rows.record.len(), rows.line()),
        None => {
            return Err(DataError::CsvNoRows {
                path: path.to_owned(),
                skipped,
                header: false,
                dropped: 0,
            })
        }
    };
    let layout = layout(
        path,
        opts,
        header.map(|(names, _)| names),
        columns,
        columns_line,
    )?;
    if !have_row {
        return Err(DataError::CsvNoRows {
            path: path.to_owned(),
            skipped,
            header: opts.has_header,
            dropped: 0,
        });
    }
    read_rows(rows, opts, layout)
}

/// Resolves the column choice of `opts` against the file's columns.
fn layout(
    path: &Path,
    opts: &CsvOptions,
    header: Option<Vec<String>>,
    columns: usize,
    line: u64,
) -> Result<Layout, DataError> {
    let resolve = |column: &ColumnRef| resolve(path, column, header.as_deref(), columns, line);
    let describe = |index: usize| match &header {
        Some(names) => format!("`{}` (column {})", names[index], index + 1),
        None => format!("{index} (column {})", index + 1),
    };
    let targets: Vec<usize> = if opts.features_only {
        if let Some(first) = opts.target.first() {
            return Err(DataError::CsvColumns {
                path: path.to_owned(),
                problem: format!("target {first} given for a file read as features only"),
            });
        }
        Vec::new()
    } else if opts.target.is_empty() {
        // A record holds at least one field; `max` keeps an impossible 0 from wrapping.
        vec![columns.max(1) - 1]
    } else {
        opts.target.iter().map(resolve).collect::<Result<_, _>>()?
    };
    if let Some(twice) = first_repeat(&targets) {
        return Err(DataError::CsvColumns {
            path: path.to_owned(),
            problem: format!(
                "column {} is named twice among the targets",
                describe(twice)
            ),
        });
    }
    let features: Vec<usize> = match &opts.features {
        None => (0..columns).filter(|c| !targets.contains(c)).collect(),
        Some(list) => {
            let features: Vec<usize> = list.iter().map(resolve).collect::<Result<_, _>>()?;
            if let Some(twice) = first_repeat(&features) {
                return Err(DataError::CsvColumns {
                    path: path.to_owned(),
                    problem: format!(
                        "column {} is named twice among the features",
                        describe(twice)
                    ),
                });
            }
            if let Some(&both) = features.iter().find(|c| targets.contains(c)) {
                return Err(DataError::CsvColumns {
                    path: path.to_owned(),
                    problem: format!("column {} is both a feature and a target", describe(both)),
                });
            }
            features
        }
    };
    if features.is_empty() {
        return Err(DataError::CsvNoFeatures {
            path: path.to_owned(),
            columns,
            targets: targets.len(),
        });
    }
    let mut roles = vec![Role::Skip; columns];
    for (slot, &column) in features.iter().enumerate() {
        roles[column] = Role::Feature(slot);
    }
    for (slot, &column) in targets.iter().enumerate() {
        roles[column] = Role::Target(slot);
    }
    let name = |column: &usize| match &header {
        Some(names) => names[*column].clone(),
        None => column.to_string(),
    };
    Ok(Layout {
        roles,
        features: features.len(),
        targets: targets.len(),
        feature_names: features.iter().map(name).collect(),
        target_names: targets.iter().map(name).collect(),
        header,
    })
}

/// The first value that appears twice.
fn first_repeat(columns: &[usize]) -> Option<usize> {
    columns
        .iter()
        .enumerate()
        .find(|(i, c)| columns[..*i].contains(c))
        .map(|(_, &c)| c)
}

/// The 0-based index of a column reference.
fn resolve(
    path: &Path,
    column: &ColumnRef,
    header: Option<&[String]>,
    columns: usize,
    line: u64,
) -> Result<usize, DataError> {
    match column {
        ColumnRef::Index(index) => {
            if *index < columns {
                Ok(*index)
            } else {
                Err(DataError::CsvColumnOutOfRange {
                    path: path.to_owned(),
                    line,
                    index: *index,
                    columns,
                })
            }
        }
        ColumnRef::Name(name) => {
            let Some(names) = header else {
                return Err(DataError::CsvColumns {
                    path: path.to_owned(),
                    problem: format!(
                        "column `{name}` is named, but the file is read without a header \
                         (has_header is false): name columns by their 0-based index"
                    ),
                });
            };
            let wanted = name.trim();
            let found: Vec<usize> = (0..names.len()).filter(|&i| names[i] == wanted).collect();
            match found[..] {
                [index] => Ok(index),
                [] => Err(DataError::CsvUnknownColumn {
                    path: path.to_owned(),
                    line,
                    column: wanted.to_owned(),
                    suggestion: closest(wanted, names).map(str::to_owned),
                    columns: names.to_vec(),
                }),
                [first, second, ..] => Err(DataError::CsvColumns {
                    path: path.to_owned(),
                    problem: format!(
                        "the header names two columns `{wanted}` (columns {} and {}): name the \
                         one meant by its 0-based index",
                        first + 1,
                        second + 1
                    ),
                }),
            }
        }
    }
}

/// The candidate closest to `word` if one is close enough: the same word in another case,
/// or an edit distance of at most a third of the word's length (at least 1), as the spec
/// compiler's "did you mean" (`mlp_spec`'s `did_you_mean`, which is private to it).
fn closest<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&lower, &candidate.to_lowercase());
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Damerau–Levenshtein distance (optimal string alignment) over chars: insertions,
/// deletions, substitutions and swaps of neighbours each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Whether a row was kept or dropped for a missing value.
enum Kept {
    Yes,
    Dropped,
}

/// The data rows, the first already in `rows.record`.
fn read_rows<R: Read>(
    rows: &mut Rows<'_, R>,
    opts: &CsvOptions,
    layout: Layout,
) -> Result<CsvTable, DataError> {
    let path = rows.path;
    let columns = layout.roles.len();
    let single = layout.targets == 1;
    let mut features: Vec<f32> = Vec::new();
    let mut numbers: Vec<f32> = Vec::new();
    let mut labels = Labels::default();
    let mut row_features = vec![0f32; layout.features];
    let mut row_targets = vec![0f32; layout.targets];
    let mut dropped = 0;
    loop {
        let line = rows.line();
        if rows.record.len() != columns {
            return Err(DataError::CsvRagged {
                path: path.to_owned(),
                line,
                fields: rows.record.len(),
                expected: columns,
                header: layout.header.is_some(),
            });
        }
        let mut label = None;
        let mut kept = Kept::Yes;
        for (column, (cell, &role)) in rows.record.iter().zip(&layout.roles).enumerate() {
            let slot = match role {
                Role::Skip => continue,
                Role::Feature(slot) | Role::Target(slot) => slot,
            };
            let cell = cell.trim_ascii();
            let is_target = matches!(role, Role::Target(_));
            if is_target && single && (labels.text || !labels.overflow) {
                // The one target column, which may be labels: numbers are interned too
                // while there are few of them, in case text shows up later.
                match target_cell(cell, &mut labels, &mut row_targets[0]) {
                    Ok(Some(id)) => label = Some(id),
                    Ok(None) => {}
                    Err(problem) => {
                        let at = layout.at(path, line, column);
                        match cell_error(at, cell, problem, false, opts.drop_missing)? {
                            Kept::Yes => {}
                            Kept::Dropped => {
                                kept = Kept::Dropped;
                                break;
                            }
                        }
                    }
                }
                continue;
            }
            let problem = match classify(cell) {
                Cell::Number(value) => {
                    if is_target {
                        row_targets[slot] = value;
                    } else {
                        row_features[slot] = value;
                    }
                    continue;
                }
                Cell::Missing => Problem::Missing,
                Cell::NonFinite => Problem::NonFinite,
                Cell::Text if is_target && single => Problem::TooManyLabels,
                Cell::Text => Problem::NotANumber,
            };
            let at = layout.at(path, line, column);
            match cell_error(at, cell, problem, is_target, opts.drop_missing)? {
                Kept::Yes => {}
                Kept::Dropped => {
                    kept = Kept::Dropped;
                    break;
                }
            }
        }
        match kept {
            Kept::Dropped => dropped += 1,
            Kept::Yes => {
                features.extend_from_slice(&row_features);
                if !labels.text {
                    numbers.extend_from_slice(&row_targets);
                }
                if let Some(id) = label {
                    labels.rows.push(id);
                }
            }
        }
        if !rows.next()? {
            break;
        }
    }
    let count = features.len() / layout.features;
    if count == 0 {
        return Err(DataError::CsvNoRows {
            path: path.to_owned(),
            skipped: opts.skip_rows,
            header: layout.header.is_some(),
            dropped,
        });
    }
    features.shrink_to_fit();
    let invalid = |e: ndarray::ShapeError| DataError::InvalidDataset {
        reason: format!("{}: {e}", path.display()),
    };
    let features = Array2::from_shape_vec((count, layout.features), features).map_err(invalid)?;
    let targets = if labels.text {
        // Only the labels of kept rows (a dropped row may have interned one).
        let mut used = vec![false; labels.texts.len()];
        for &id in &labels.rows {
            used[id as usize] = true;
        }
        let mut order: Vec<usize> = (0..labels.texts.len()).filter(|&id| used[id]).collect();
        order.sort_by(|&a, &b| labels.texts[a].cmp(&labels.texts[b]));
        let mut rank = vec![0u32; labels.texts.len()];
        for (sorted, &id) in order.iter().enumerate() {
            rank[id] = sorted as u32;
        }
        let indices = labels.rows.iter().map(|&id| rank[id as usize]).collect();
        let names = order
            .iter()
            .map(|&id| String::from_utf8_lossy(&labels.texts[id]).into_owned())
            .collect();
        CsvTargets::Labels {
            indices: Array1::from_vec(indices),
            names,
        }
    } else {
        numbers.shrink_to_fit();
        CsvTargets::Numbers(
            Array2::from_shape_vec((count, layout.targets), numbers).map_err(invalid)?,
        )
    };
    Ok(CsvTable {
        features,
        feature_names: layout.feature_names,
        targets,
        target_names: layout.target_names,
        dropped_rows: dropped,
    })
}

/// What is wrong with a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Missing,
    NonFinite,
    NotANumber,
    NotUtf8,
    TooManyLabels,
}

/// Reads the cell of the single target column: a number into `number` while the column is
/// numbers, and its label id (interned) while labels are kept. Switches the column to
/// labels at its first cell of text.
fn target_cell(cell: &[u8], labels: &mut Labels, number: &mut f32) -> Result<Option<u32>, Problem> {
    if labels.text {
        if is_missing(cell) {
            return Err(Problem::Missing);
        }
        if parse_f32(cell).is_some_and(|v| !v.is_finite()) {
            return Err(Problem::NonFinite);
        }
        if !labels.ids.contains_key(cell) && std::str::from_utf8(cell).is_err() {
            return Err(Problem::NotUtf8);
        }
        return labels.intern(cell).map(Some).ok_or(Problem::TooManyLabels);
    }
    match classify(cell) {
        Cell::Number(value) => {
            *number = value;
            if let Some(id) = labels.intern(cell) {
                Ok(Some(id))
            } else {
                labels.give_up();
                Ok(None)
            }
        }
        Cell::Missing => Err(Problem::Missing),
        Cell::NonFinite => Err(Problem::NonFinite),
        Cell::Text => {
            if std::str::from_utf8(cell).is_err() {
                return Err(Problem::NotUtf8);
            }
            labels.text = true;
            labels.intern(cell).map(Some).ok_or(Problem::TooManyLabels)
        }
    }
}

/// The error for a cell, or [`Kept::Dropped`] for a missing value when rows with missing
/// values are dropped.
fn cell_error(
    at: At<'_>,
    cell: &[u8],
    problem: Problem,
    target: bool,
    drop_missing: bool,
) -> Result<Kept, DataError> {
    let At {
        path,
        line,
        column,
        name,
    } = at;
    let path = path.to_owned();
    Err(match problem {
        Problem::Missing if drop_missing => return Ok(Kept::Dropped),
        Problem::Missing => DataError::CsvMissing {
            path,
            line,
            column,
            name,
            cell: shown(cell),
        },
        Problem::NonFinite => DataError::CsvNonFinite {
            path,
            line,
            column,
            name,
            cell: shown(cell),
        },
        Problem::NotANumber => DataError::CsvNotANumber {
            path,
            line,
            column,
            name,
            cell: shown(cell),
            target,
        },
        Problem::NotUtf8 => DataError::CsvNotUtf8 {
            path,
            line,
            column,
            name,
        },
        Problem::TooManyLabels => DataError::CsvTooManyLabels {
            path,
            line,
            column,
            name,
            limit: MAX_LABELS,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance, shown, ColumnRef};

    #[test]
    fn column_refs_parse_numbers_as_indices() {
        assert_eq!("0".parse(), Ok(ColumnRef::Index(0)));
        assert_eq!(" 12 ".parse(), Ok(ColumnRef::Index(12)));
        assert_eq!("MEDV".parse(), Ok(ColumnRef::Name("MEDV".to_owned())));
        assert_eq!("-1".parse(), Ok(ColumnRef::Name("-1".to_owned())));
        assert!("99999999999999999999999".parse::<ColumnRef>().is_err());
        assert!("  ".parse::<ColumnRef>().is_err());
        assert_eq!(ColumnRef::Index(3).to_string(), "3");
        assert_eq!(ColumnRef::from("x").to_string(), "x");
    }

    #[test]
    fn closest_names_ignore_case_and_small_typos() {
        let names: Vec<String> = ["CRIM", "MEDV", "petal_length"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(closest("medv", &names), Some("MEDV"));
        assert_eq!(closest("MEVD", &names), Some("MEDV"));
        assert_eq!(closest("petal_lenght", &names), Some("petal_length"));
        assert_eq!(closest("price", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn cells_are_shown_cut_and_escaped() {
        assert_eq!(shown(b"abc"), "abc");
        assert_eq!(shown(b"a\nb"), "a\\nb");
        let long = "x".repeat(50);
        assert_eq!(shown(long.as_bytes()), format!("{}…", "x".repeat(40)));
        assert_eq!(shown(b"\xff"), "\u{fffd}");
    }
}
