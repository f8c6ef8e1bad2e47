//! The data flags shared by `mlp train`, `mlp evaluate` and `mlp predict`: `--data PATH`
//! (a folder or file, its format told by extension and magic), `--target`, `--features`,
//! the CSV options, `--validation-data` and `--validation-split`.
//!
//! Formats, in the order `--data` is tried:
//! - a folder, or nothing: MNIST, looked up as before (the four IDX files, `mnist/`,
//!   `mnist.npz`; then `$MLP_DATA/mnist`, the user cache, a download), validated on its
//!   10 000 test images;
//! - `*.csv`, `*.tsv`, `*.txt`, each optionally gzipped (`*.csv.gz`): a table (`--target` columns, `--features`, `--header`,
//!   `--delimiter`, `--skip-rows`, `--drop-missing`); string targets become classes;
//! - `*.npz`: Keras's member names `x_train`, `y_train` and, when present, `x_test`,
//!   `y_test` (the validation set);
//! - `*.npy`: the features, with `--target FILE.npy` holding the targets;
//! - anything else that starts with the IDX magic: IDX features with `--target FILE`.
//!
//! Targets are put in the form the model's loss reads (`Dataset::with_targets_for`): a
//! column of whole numbers becomes class indices for `sparse_categorical_crossentropy`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use mlp_runtime::data::{self, read_csv, read_npy, ColumnRef, CsvOptions, Dataset, Limits};
use mlp_runtime::ir::Model;

use crate::error::CliError;

/// Whether a CSV file's first row (after `--skip-rows`) names the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum HeaderArg {
    /// A header when any cell of the first row is not a number.
    #[default]
    Auto,
    /// The first row is a header.
    Yes,
    /// The first row is data.
    No,
}

/// `--data` and the flags that say how to read it.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// The data: a folder holding MNIST (or a Keras `mnist.npz`), a `.csv`/`.tsv` table, a
    /// `.npz` with Keras's `x_train`/`y_train` (and `x_test`/`y_test`), or a `.npy` of
    /// features [default: MNIST from `$MLP_DATA/mnist`, the user cache, or a download].
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// The targets: CSV column(s) by name or 0-based index, comma-separated [default: the
    /// last column]; for `.npy` or IDX features, the targets' file.
    #[arg(long, value_name = "COL[,COL…]|FILE")]
    pub target: Option<String>,
    /// CSV feature columns by name or index, comma-separated [default: every column but
    /// the targets].
    #[arg(long, value_name = "COL[,COL…]")]
    pub features: Option<String>,
    /// Whether the CSV's first row (after `--skip-rows`) is a header.
    #[arg(long, value_enum, default_value_t = HeaderArg::Auto)]
    pub header: HeaderArg,
    /// The CSV delimiter [default: `,`, or a tab for `.tsv`].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// CSV rows to skip before the header or data (scikit-learn's files start with one
    /// line of metadata).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub skip_rows: usize,
    /// Drop CSV rows with an empty or `NA` cell (says how many) instead of refusing them.
    #[arg(long)]
    pub drop_missing: bool,
    /// Validate on this data (same format flags) instead of MNIST's test set or a split.
    #[arg(long, value_name = "PATH")]
    pub validation_data: Option<PathBuf>,
    /// Hold out the last fraction of the data for validation, before shuffling (Keras's
    /// `validation_split`) [default: the spec's].
    #[arg(long, value_name = "F")]
    pub validation_split: Option<f32>,
}

/// Data read for a model: the training set and, when there is one, the validation set.
#[derive(Debug)]
pub struct Loaded {
    /// The samples to train on (or to evaluate or predict).
    pub train: Dataset,
    /// Validation data: `--validation-data`, MNIST's test set, or a `.npz`'s `x_test`.
    pub validation: Option<Dataset>,
    /// Where the data came from, for messages.
    pub source: String,
    /// Where the training targets came from, for messages: the CSV column and file
    /// (``the targets in column `species` of `iris.csv` ``), the `.npy` file, the `.npz`
    /// member.
    pub targets: String,
    /// The same for the validation set's targets.
    pub validation_targets: Option<String>,
}

/// The format of a data path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mnist,
    Csv,
    Npz,
    Npy,
    Idx,
}

fn kind(path: &Path) -> Kind {
    if path.is_dir() {
        return Kind::Mnist;
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    // A gzipped table (`data.csv.gz`): the CSV reader decompresses it.
    let inner = Path::new(path.file_stem().unwrap_or_default())
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if ext.as_deref() == Some("gz") && matches!(inner.as_deref(), Some("csv" | "tsv" | "txt")) {
        return Kind::Csv;
    }
    match ext.as_deref() {
        Some("csv" | "tsv" | "txt") => Kind::Csv,
        Some("npy") => Kind::Npy,
        Some("npz") => {
            if path.file_name().is_some_and(|n| n == "mnist.npz") {
                Kind::Mnist
            } else {
                Kind::Npz
            }
        }
        _ => {
            // By magic: `\x93NUMPY`, a zip (`PK`), else IDX (or gzip: the IDX reader
            // decompresses).
            let mut head = [0u8; 6];
            let read = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .unwrap_or(0);
            match &head[..read] {
                [0x93, b'N', b'U', b'M', b'P', b'Y'] => Kind::Npy,
                [b'P', b'K', ..] => Kind::Npz,
                _ => Kind::Idx,
            }
        }
    }
}

impl DataArgs {
    /// Reads the data for `model`: `--data` (or MNIST), its validation set, each checked
    /// against the model's input size and its targets put in the form the loss reads.
    ///
    /// # Errors
    /// [`CliError::Data`] naming the file and what is wrong; [`CliError::Usage`] for flags
    /// that do not fit the format.
    pub fn load(&self, model: &Model) -> Result<Loaded, CliError> {
        self.load_with(model, false)
    }

    /// [`DataArgs::load`] for `mlp predict`: a CSV of exactly the model's inputs, with no
    /// `--target` or `--features`, is read as features only (data to predict on). Training
    /// and evaluating read the last column as the target whatever the width, so that a
    /// file of one column too few is refused as such.
    ///
    /// # Errors
    /// As [`DataArgs::load`].
    pub fn load_inputs(&self, model: &Model) -> Result<Loaded, CliError> {
        self.load_with(model, true)
    }

    fn load_with(&self, model: &Model, features_only: bool) -> Result<Loaded, CliError> {
        let path = self.data.as_deref();
        let kind = path.map_or(Kind::Mnist, kind);
        let mut loaded = match kind {
            Kind::Mnist => {
                self.refuse_table_flags("MNIST")?;
                let mnist = data::load_mnist(path)?;
                let source = mnist_source(path);
                Loaded {
                    train: mnist.train,
                    validation: Some(mnist.test),
                    targets: format!("the targets of {source}"),
                    validation_targets: Some(format!("the test targets of {source}")),
                    source,
                }
            }
            Kind::Npz => {
                let path = path.unwrap_or(Path::new(""));
                let (train, validation) = self.read_npz(path)?;
                Loaded {
                    train,
                    targets: npz_member(path, "y_train"),
                    validation_targets: validation.as_ref().map(|_| npz_member(path, "y_test")),
                    validation,
                    source: format!("the samples in `{}`", path.display()),
                }
            }
            Kind::Csv | Kind::Npy | Kind::Idx => {
                let path = path.unwrap_or(Path::new(""));
                let inputs = features_only.then(|| model.input_size());
                let (train, targets) = self.read_one(path, kind, inputs)?;
                Loaded {
                    train,
                    validation: None,
                    source: format!("the samples in `{}`", path.display()),
                    targets,
                    validation_targets: None,
                }
            }
        };
        if let Some(v) = &self.validation_data {
            let k = kind_of_validation(v);
            let (data, targets) = match k {
                Kind::Npz => (self.read_npz(v)?.0, npz_member(v, "y_train")),
                Kind::Mnist => (
                    data::load_mnist(Some(v))?.test,
                    format!("the test targets of {}", mnist_source(Some(v))),
                ),
                _ => self.read_one(v, k, None)?,
            };
            loaded.validation = Some(data);
            loaded.validation_targets = Some(targets);
        }
        loaded.train = loaded.train.with_targets_for(model);
        loaded.validation = loaded.validation.map(|v| v.with_targets_for(model));
        Ok(loaded)
    }

    /// Refuses CSV-only flags for a format that has no columns.
    fn refuse_table_flags(&self, what: &str) -> Result<(), CliError> {
        let table_flag = [
            (self.target.is_some(), "--target"),
            (self.features.is_some(), "--features"),
            (self.header != HeaderArg::Auto, "--header"),
            (self.delimiter.is_some(), "--delimiter"),
            (self.skip_rows != 0, "--skip-rows"),
            (self.drop_missing, "--drop-missing"),
        ]
        .into_iter()
        .find(|(given, _)| *given);
        match table_flag {
            Some((_, flag)) => Err(CliError::Usage(format!(
                "{flag} applies to CSV (and, for --target, .npy or IDX) data, not to {what}"
            ))),
            None => Ok(()),
        }
    }

    /// Reads one data file (a CSV of exactly `inputs` columns without `--target` as
    /// features only), and says where its targets came from.
    fn read_one(
        &self,
        path: &Path,
        kind: Kind,
        inputs: Option<usize>,
    ) -> Result<(Dataset, String), CliError> {
        match kind {
            Kind::Csv => self.read_csv(path, inputs),
            Kind::Npy | Kind::Idx => {
                let features = if kind == Kind::Npy {
                    read_npy(path, Limits::default())?
                } else {
                    data::read_idx(path, Limits::default())?
                };
                let Some(target) = self.target.as_deref() else {
                    return Err(CliError::Usage(format!(
                        "`{}` holds features only: name the targets' file with --target FILE",
                        path.display()
                    )));
                };
                let target_path = Path::new(target);
                let targets = match kind_of_validation(target_path) {
                    Kind::Idx => data::read_idx(target_path, Limits::default())?,
                    _ => read_npy(target_path, Limits::default())?,
                };
                let data = Dataset::from_npy_arrays(path, features, target_path, targets)?;
                Ok((data, format!("the targets in `{}`", target_path.display())))
            }
            Kind::Mnist | Kind::Npz => Err(CliError::Usage(format!(
                "`{}` is not a single data file",
                path.display()
            ))),
        }
    }

    /// Reads a CSV file, and names its target column(s) as the reader's messages do.
    fn read_csv(&self, path: &Path, inputs: Option<usize>) -> Result<(Dataset, String), CliError> {
        let delimiter = match self.delimiter {
            Some(c) if c.is_ascii() => c as u8,
            Some(c) => {
                return Err(CliError::Usage(format!(
                    "--delimiter `{c}`: the delimiter must be one ASCII character"
                )))
            }
            // A tab for `.tsv` (and `.tsv.gz`), else a comma.
            None => CsvOptions::for_path(path).delimiter,
        };
        let columns_of = |text: &str| -> Vec<ColumnRef> {
            text.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(|c| {
                    c.parse::<ColumnRef>()
                        .unwrap_or(ColumnRef::Name(c.to_owned()))
                })
                .collect()
        };
        let (header_like, columns) = first_row(path, self.skip_rows, delimiter);
        let has_header = match self.header {
            HeaderArg::Yes => true,
            HeaderArg::No => false,
            HeaderArg::Auto => header_like,
        };
        // A file of exactly the model's inputs, with no --target: features only (data to
        // predict on).
        let features_only =
            self.target.is_none() && self.features.is_none() && Some(columns) == inputs;
        let opts = CsvOptions {
            delimiter,
            has_header,
            skip_rows: self.skip_rows,
            target: self.target.as_deref().map(columns_of).unwrap_or_default(),
            features: self.features.as_deref().map(columns_of),
            drop_missing: self.drop_missing,
            features_only,
        };
        let table = read_csv(path, &opts, Limits::default())?;
        if table.dropped_rows > 0 {
            eprintln!(
                "note: dropped {} row{} of `{}` with missing cells (--drop-missing)",
                table.dropped_rows,
                if table.dropped_rows == 1 { "" } else { "s" },
                path.display()
            );
        }
        let names: Vec<String> = table
            .target_names
            .iter()
            .map(|name| target_column(name, has_header))
            .collect();
        let targets = if names.is_empty() {
            format!(
                "the rows of `{}` (read as features only, without targets)",
                path.display()
            )
        } else {
            format!(
                "the targets in column{} {} of `{}`",
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                path.display()
            )
        };
        Ok((Dataset::from_csv_table(table)?, targets))
    }

    fn read_npz(&self, path: &Path) -> Result<(Dataset, Option<Dataset>), CliError> {
        self.refuse_table_flags("a .npz archive")?;
        Ok(Dataset::from_npz(path)?)
    }
}

/// How messages name MNIST found in `folder` (or by the lookup).
#[must_use]
pub fn mnist_source(folder: Option<&Path>) -> String {
    folder.map_or_else(
        || "the MNIST found through $MLP_DATA or the cache".to_owned(),
        |p| format!("the images in `{}`", p.display()),
    )
}

/// A `.npz` member's targets for messages, the member named as the archive reader names
/// it: `data.npz/y_train.npy`.
fn npz_member(path: &Path, member: &str) -> String {
    format!(
        "the targets in `{}`",
        path.join(format!("{member}.npy")).display()
    )
}

/// A target column for messages: `` `species` `` by its header cell, or by its 0-based
/// index without a header (as `--target` takes it).
fn target_column(name: &str, header: bool) -> String {
    match name.parse::<usize>() {
        Ok(index) if !header => format!("{index} (counting from 0)"),
        _ => format!("`{name}`"),
    }
}

fn kind_of_validation(path: &Path) -> Kind {
    kind(path)
}

/// Whether the first row after `skip` rows has a cell that is not a number (nor empty):
/// then it names the columns; and how many cells it has. A file that cannot be read gives
/// `(false, 0)`; the reader then reports it.
fn first_row(path: &Path, skip: usize, delimiter: u8) -> (bool, usize) {
    let Ok(file) = std::fs::File::open(path) else {
        return (false, 0);
    };
    let mut file = BufReader::new(file);
    // A gzipped table is looked at decompressed, as the reader reads it.
    let gzipped = file
        .fill_buf()
        .is_ok_and(|head| head.starts_with(&[0x1f, 0x8b]));
    let text: Box<dyn BufRead> = if gzipped {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(file)
    };
    let mut lines = text.lines().skip(skip);
    let Some(Ok(line)) = lines.next() else {
        return (false, 0);
    };
    let cells: Vec<&str> = line.split(char::from(delimiter)).collect();
    let header = cells.iter().any(|cell| {
        let cell = cell.trim().trim_matches('"').trim();
        !cell.is_empty()
            && cell.parse::<f64>().is_err()
            && !matches!(cell, "NA" | "N/A" | "NaN" | "nan" | "null")
    });
    (header, cells.len())
}
