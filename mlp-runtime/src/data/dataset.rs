//! [`Dataset`]: features (u8 images or f32 values, any sample shape) and targets (class
//! indices or f32 rows), with the allocation-free batch gathers `fit` uses.
//!
//! Invariants, checked by [`Dataset::new`] and kept by every method: the features have one
//! row per target, `product(sample_shape)` columns, and only finite values; class targets
//! are `< classes` with `classes ≥ 1` (and as many names as classes when named); value
//! targets are finite.

use std::ops::Range;
use std::path::Path;

use ndarray::{s, Array, Array1, Array2, Array3, ArrayView2, Axis, Slice};

use super::{NpyArray, NpyData};

use super::{DataError, Limits};
use crate::model::Targets;

/// The features of a dataset, one row per sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Raw bytes, as images are stored (MNIST): kept as u8 and converted to f32 (without
    /// scaling) only when a batch is gathered, which is why MNIST training reads a quarter
    /// of the bytes an f32 copy would.
    U8(Array2<u8>),
    /// Floating-point values (tabular data, `NumPy` floats, anything not u8).
    F32(Array2<f32>),
}

impl Features {
    /// Number of samples.
    #[must_use]
    pub fn nrows(&self) -> usize {
        match self {
            Features::U8(a) => a.nrows(),
            Features::F32(a) => a.nrows(),
        }
    }

    /// Number of features per sample.
    #[must_use]
    pub fn ncols(&self) -> usize {
        match self {
            Features::U8(a) => a.ncols(),
            Features::F32(a) => a.ncols(),
        }
    }

    /// The features as f32 (a copy; u8 values are converted without scaling).
    #[must_use]
    pub fn to_f32(&self) -> Array2<f32> {
        match self {
            Features::U8(a) => a.mapv(f32::from),
            Features::F32(a) => a.clone(),
        }
    }

    fn slice(&self, range: Range<usize>) -> Features {
        match self {
            Features::U8(a) => Features::U8(a.slice(s![range, ..]).to_owned()),
            Features::F32(a) => Features::F32(a.slice(s![range, ..]).to_owned()),
        }
    }

    /// Copies row `index` into `dst` as f32.
    #[inline]
    fn copy_row(&self, index: usize, dst: &mut [f32]) {
        match self {
            Features::U8(a) => {
                let row = a.row(index);
                if let Some(src) = row.to_slice() {
                    crate::kernels::convert::u8_to_f32(src, dst);
                } else {
                    for (d, &v) in dst.iter_mut().zip(row.iter()) {
                        *d = f32::from(v);
                    }
                }
            }
            Features::F32(a) => {
                let row = a.row(index);
                if let Some(src) = row.to_slice() {
                    dst.copy_from_slice(src);
                } else {
                    for (d, &v) in dst.iter_mut().zip(row.iter()) {
                        *d = v;
                    }
                }
            }
        }
    }

    /// Asks the CPU to start loading row `index` into its caches.
    #[inline]
    fn prefetch_row(&self, index: usize) {
        match self {
            Features::U8(a) => {
                if let Some(src) = a.row(index).to_slice() {
                    crate::kernels::convert::prefetch(src);
                }
            }
            Features::F32(a) => {
                if let Some(src) = a.row(index).to_slice() {
                    crate::kernels::convert::prefetch(src);
                }
            }
        }
    }
}

/// The targets of a dataset, one per sample.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSet {
    /// Class indices (sparse labels), each `< classes`; for the cross-entropies, and for a
    /// single-unit output (the index is the 0/1 target).
    Classes {
        /// One class index per sample.
        labels: Array1<u32>,
        /// Number of classes.
        classes: usize,
        /// The class names, `classes` of them, when the data named its classes (string
        /// labels of a CSV column, sorted): `labels[i]` is `names[labels[i]]`.
        names: Option<Vec<String>>,
    },
    /// `k` f32 values per sample: regression and multi-output targets, 0/1 or probability
    /// targets of binary and multi-label models, one-hot or probability rows for
    /// `categorical_crossentropy`.
    Values(Array2<f32>),
}

impl TargetSet {
    /// Class targets without names.
    #[must_use]
    pub fn classes(labels: Array1<u32>, classes: usize) -> TargetSet {
        TargetSet::Classes {
            labels,
            classes,
            names: None,
        }
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            TargetSet::Classes { labels, .. } => labels.len(),
            TargetSet::Values(v) => v.nrows(),
        }
    }

    /// Whether there are no targets.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What kind of targets these are, in words, for messages (`"class indices (3
    /// classes)"`, `"1 value per sample"`).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            TargetSet::Classes { classes, .. } => format!("class indices ({classes} classes)"),
            TargetSet::Values(v) if v.ncols() == 1 => "1 value per sample".to_owned(),
            TargetSet::Values(v) => format!("{} values per sample", v.ncols()),
        }
    }

    /// Class targets from one column of whole numbers `≥ 0` (as `NumPy` or CSV give integer
    /// labels), with at least `min_classes` classes (`max + 1` if more); `None` for any
    /// other targets. Class targets are returned as they are.
    #[must_use]
    pub fn to_classes(&self, min_classes: usize) -> Option<TargetSet> {
        match self {
            TargetSet::Classes { .. } => Some(self.clone()),
            TargetSet::Values(v) if v.ncols() == 1 => {
                let whole = |t: f32| t >= 0.0 && t.fract() == 0.0 && t < 16_777_216.0;
                if !v.iter().all(|&t| whole(t)) {
                    return None;
                }
                let labels: Array1<u32> = v.column(0).mapv(|t| t as u32);
                let max = labels.iter().max().map_or(0, |&m| m as usize + 1);
                Some(TargetSet::classes(labels, max.max(min_classes)))
            }
            TargetSet::Values(_) => None,
        }
    }

    fn slice(&self, range: Range<usize>) -> TargetSet {
        match self {
            TargetSet::Classes {
                labels,
                classes,
                names,
            } => TargetSet::Classes {
                labels: labels.slice(s![range]).to_owned(),
                classes: *classes,
                names: names.clone(),
            },
            TargetSet::Values(v) => TargetSet::Values(v.slice(s![range, ..]).to_owned()),
        }
    }
}

/// Reused storage for one batch of targets (see [`Dataset::gather_targets`]), sized once
/// for the largest batch so that gathering allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct TargetBuffer {
    classes: Vec<u32>,
    values: Vec<f32>,
}

impl TargetBuffer {
    /// Storage for batches of up to `batch` samples of `data`'s targets.
    #[must_use]
    pub fn new(data: &Dataset, batch: usize) -> TargetBuffer {
        match &data.targets {
            TargetSet::Classes { .. } => TargetBuffer {
                classes: vec![0; batch],
                values: Vec::new(),
            },
            TargetSet::Values(v) => TargetBuffer {
                classes: Vec::new(),
                values: vec![0.0; batch * v.ncols()],
            },
        }
    }
}

/// A dataset: features of any sample shape and their targets (see the module docs for the
/// invariants).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One row per sample, `product(sample_shape)` columns.
    pub features: Features,
    /// Shape of one sample (`[28, 28]` for MNIST, `[13]` for a table of 13 columns).
    pub sample_shape: Vec<usize>,
    /// One target per sample.
    pub targets: TargetSet,
}

impl Dataset {
    /// Builds a dataset from parts, checking the invariants (module docs).
    ///
    /// # Errors
    /// [`DataError::InvalidDataset`] naming the first broken invariant (and, for a
    /// non-finite value or an out-of-range label, its sample and column).
    pub fn new(
        features: Features,
        sample_shape: Vec<usize>,
        targets: TargetSet,
    ) -> Result<Self, DataError> {
        let invalid = |reason: String| Err(DataError::InvalidDataset { reason });
        let size = sample_shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if size != Some(features.ncols()) {
            return invalid(format!(
                "the features have {} columns but the sample shape {sample_shape:?} holds {}",
                features.ncols(),
                size.map_or_else(|| "too many".to_owned(), |f| f.to_string())
            ));
        }
        if features.nrows() != targets.len() {
            return invalid(format!(
                "{} feature rows but {} targets",
                features.nrows(),
                targets.len()
            ));
        }
        if let Features::F32(x) = &features {
            if let Some(((r, c), v)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
                return invalid(format!("feature {c} of sample {r} is {v}"));
            }
        }
        match &targets {
            TargetSet::Classes {
                labels,
                classes,
                names,
            } => {
                if *classes == 0 {
                    return invalid("0 classes".to_owned());
                }
                if let Some(names) = names {
                    if names.len() != *classes {
                        return invalid(format!(
                            "{} class names for {classes} classes",
                            names.len()
                        ));
                    }
                }
                if let Some((index, &label)) = labels
                    .iter()
                    .enumerate()
                    .find(|(_, &l)| l as usize >= *classes)
                {
                    return invalid(format!(
                        "label {label} of sample {index} is not a class (expected 0..={})",
                        classes - 1
                    ));
                }
            }
            TargetSet::Values(v) => {
                if let Some(((r, c), t)) = v.indexed_iter().find(|(_, t)| !t.is_finite()) {
                    return invalid(format!("target {c} of sample {r} is {t}"));
                }
            }
        }
        Ok(Self {
            features,
            sample_shape,
            targets,
        })
    }

    /// A classification set of u8 features (`[samples, product(sample_shape)]`, images)
    /// and u8 class indices `< classes`.
    ///
    /// # Errors
    /// As [`Dataset::new`].
    // By value, as every constructor takes its arrays (the labels are widened to u32).
    #[allow(clippy::needless_pass_by_value)]
    pub fn from_u8(
        images: Array2<u8>,
        sample_shape: Vec<usize>,
        labels: Array1<u8>,
        classes: usize,
    ) -> Result<Self, DataError> {
        Self::new(
            Features::U8(images),
            sample_shape,
            TargetSet::classes(labels.mapv(u32::from), classes),
        )
    }

    /// The features, when they are stored as u8 (images).
    #[must_use]
    pub fn images(&self) -> Option<&Array2<u8>> {
        match &self.features {
            Features::U8(a) => Some(a),
            Features::F32(_) => None,
        }
    }

    /// A dataset of f32 features `x` (`[samples, features]`) and targets `y`.
    ///
    /// ```
    /// use mlp_runtime::data::{Dataset, TargetSet};
    /// use ndarray::array;
    ///
    /// let x = array![[0.5f32, 1.0], [2.0, -1.0], [0.0, 0.0]];
    /// // Regression: one value per sample.
    /// let y = TargetSet::Values(array![[1.5f32], [0.0], [2.0]]);
    /// let data = Dataset::from_arrays(x.view(), y)?;
    /// assert_eq!((data.len(), data.features()), (3, 2));
    /// // Classification: class indices.
    /// let y = TargetSet::classes(array![0u32, 2, 1], 3);
    /// let data = Dataset::from_arrays(x.view(), y)?;
    /// assert_eq!(data.classes(), Some(3));
    /// # Ok::<(), mlp_runtime::data::DataError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Dataset::new`].
    pub fn from_arrays(x: ArrayView2<'_, f32>, y: TargetSet) -> Result<Self, DataError> {
        let shape = vec![x.ncols()];
        Self::new(Features::F32(x.to_owned()), shape, y)
    }

    /// Builds a dataset from `(count, rows, columns)` u8 images and their u8 labels, as
    /// read from the two named files; errors name those files.
    ///
    /// # Errors
    /// [`DataError::CountMismatch`] if the counts differ, [`DataError::LabelOutOfRange`]
    /// for the first label `>= classes`, [`DataError::InvalidDataset`] if `classes` is 0.
    // By value, as every constructor takes its arrays (the labels are widened to u32).
    #[allow(clippy::needless_pass_by_value)]
    pub fn from_images(
        images: Array3<u8>,
        labels: Array1<u8>,
        classes: usize,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Self, DataError> {
        let (count, rows, cols) = images.dim();
        if count != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: images_path.to_owned(),
                labels_path: labels_path.to_owned(),
                images: count,
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= classes)
        {
            return Err(DataError::LabelOutOfRange {
                path: labels_path.to_owned(),
                index,
                label: u64::from(label),
                classes,
            });
        }
        let images = images
            .into_shape_with_order((count, rows * cols))
            .map_err(|e| DataError::InvalidDataset {
                reason: format!("{}: {e}", images_path.display()),
            })?;
        let labels = labels.mapv(u32::from);
        Self::new(
            Features::U8(images),
            vec![rows, cols],
            TargetSet::classes(labels, classes),
        )
    }

    /// A dataset from a features array (`[samples, …]`) and a targets array (`[samples]` or
    /// `[samples, k]`): u8 features stay u8, others become f32; integer targets become class
    /// indices, float targets values. The paths name the arrays in messages.
    ///
    /// # Errors
    /// [`DataError::InvalidDataset`] for a 0-d features array, targets of another rank or
    /// count, a negative integer target; then those of [`Dataset::new`].
    pub fn from_npy_arrays(
        x_path: &Path,
        x: NpyArray,
        y_path: &Path,
        y: NpyArray,
    ) -> Result<Dataset, DataError> {
        let invalid = |path: &Path, reason: String| DataError::InvalidDataset {
            reason: format!("{}: {reason}", path.display()),
        };
        let Some((&samples, sample_shape)) = x.shape.split_first() else {
            return Err(invalid(
                x_path,
                "a 0-d array holds no samples; features are [samples, …]".to_owned(),
            ));
        };
        let features: usize = sample_shape.iter().product();
        let sample_shape = if sample_shape.is_empty() {
            vec![1]
        } else {
            sample_shape.to_vec()
        };
        let reshape = |e: ndarray::ShapeError| invalid(x_path, e.to_string());
        let features = match x.data {
            NpyData::U8(v) => {
                Features::U8(Array2::from_shape_vec((samples, features), v).map_err(reshape)?)
            }
            NpyData::Int(v) => Features::F32(
                Array2::from_shape_vec(
                    (samples, features),
                    v.into_iter().map(|i| i as f32).collect(),
                )
                .map_err(reshape)?,
            ),
            NpyData::F32(v) => {
                Features::F32(Array2::from_shape_vec((samples, features), v).map_err(reshape)?)
            }
        };
        let (rows, width) = match y.shape[..] {
            [n] => (n, 1),
            [n, k] => (n, k),
            _ => {
                return Err(invalid(
                    y_path,
                    format!(
                        "targets are [samples] or [samples, k], found shape {:?}",
                        y.shape
                    ),
                ))
            }
        };
        if rows != samples {
            return Err(invalid(
                y_path,
                format!(
                    "{rows} targets for the {samples} samples of {}",
                    x_path.display()
                ),
            ));
        }
        let ints_as_classes = |v: &[i64]| -> Result<TargetSet, DataError> {
            if let Some((i, &bad)) = v
                .iter()
                .enumerate()
                .find(|(_, &c)| !(0..i64::from(u32::MAX)).contains(&c))
            {
                return Err(invalid(
                    y_path,
                    format!("target {bad} of sample {i} is not a class index (≥ 0)"),
                ));
            }
            let labels: Array1<u32> = v.iter().map(|&c| c as u32).collect();
            let classes = labels.iter().max().map_or(1, |&m| m as usize + 1);
            Ok(TargetSet::classes(labels, classes))
        };
        let targets = match y.data {
            NpyData::U8(v) if width == 1 => {
                ints_as_classes(&v.iter().map(|&b| i64::from(b)).collect::<Vec<_>>())?
            }
            NpyData::Int(v) if width == 1 => ints_as_classes(&v)?,
            NpyData::U8(v) => TargetSet::Values(
                Array2::from_shape_vec((rows, width), v.into_iter().map(f32::from).collect())
                    .map_err(|e| invalid(y_path, e.to_string()))?,
            ),
            NpyData::Int(v) => TargetSet::Values(
                Array2::from_shape_vec((rows, width), v.into_iter().map(|i| i as f32).collect())
                    .map_err(|e| invalid(y_path, e.to_string()))?,
            ),
            NpyData::F32(v) => TargetSet::Values(
                Array2::from_shape_vec((rows, width), v)
                    .map_err(|e| invalid(y_path, e.to_string()))?,
            ),
        };
        Dataset::new(features, sample_shape, targets)
    }

    /// A dataset from a CSV table ([`super::read_csv`]): its features, and its targets as
    /// values, or as named classes for a string column.
    ///
    /// # Errors
    /// As [`Dataset::new`].
    pub fn from_csv_table(table: super::CsvTable) -> Result<Dataset, DataError> {
        let targets = match table.targets {
            super::CsvTargets::Numbers(values) => TargetSet::Values(values),
            super::CsvTargets::Labels { indices, names } => TargetSet::Classes {
                labels: indices,
                classes: names.len(),
                names: Some(names),
            },
        };
        let shape = vec![table.features.ncols()];
        Dataset::new(Features::F32(table.features), shape, targets)
    }

    /// Reads a CSV/TSV file ([`super::read_csv`] under the default [`Limits`]) into a
    /// dataset.
    ///
    /// ```no_run
    /// use mlp_runtime::data::{CsvOptions, Dataset};
    /// use std::path::Path;
    ///
    /// // scikit-learn's iris.csv: one metadata line, no header, the class last.
    /// let opts = CsvOptions { skip_rows: 1, has_header: false, ..CsvOptions::default() };
    /// let iris = Dataset::from_csv(Path::new("iris.csv"), &opts)?;
    /// assert_eq!(iris.features(), 4);
    /// # Ok::<(), mlp_runtime::data::DataError>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`super::read_csv`], then of [`Dataset::from_csv_table`].
    pub fn from_csv(path: &Path, opts: &super::CsvOptions) -> Result<Dataset, DataError> {
        Dataset::from_csv_table(super::read_csv(path, opts, Limits::default())?)
    }

    /// Reads a `.npz` with Keras's member names under the default [`Limits`]: `x_train`
    /// and `y_train`, and `x_test` and `y_test` when the archive has them (the second
    /// set, for validation).
    ///
    /// # Errors
    /// Those of [`super::read_npz_arrays`] (a missing `x_train`/`y_train` lists the members
    /// present), then of [`Dataset::from_npy_arrays`].
    pub fn from_npz(path: &Path) -> Result<(Dataset, Option<Dataset>), DataError> {
        // Members are named as the archive reader names them: `archive.npz/x_train.npy`.
        let name = |m: &str| path.join(format!("{m}.npy"));
        let pair = |x: &str, y: &str| -> Result<Dataset, DataError> {
            let mut arrays = super::read_npz_arrays(path, &[x, y], Limits::default())?;
            let (Some(ys), Some(xs)) = (arrays.pop(), arrays.pop()) else {
                return Err(DataError::InvalidDataset {
                    reason: format!("{}: the archive's arrays could not be read", path.display()),
                });
            };
            Dataset::from_npy_arrays(&name(x), xs, &name(y), ys)
        };
        let train = pair("x_train", "y_train")?;
        let test = match pair("x_test", "y_test") {
            Ok(test) => Some(test),
            Err(DataError::MissingMember { .. }) => None,
            Err(e) => return Err(e),
        };
        Ok((train, test))
    }

    /// Reads an IDX image file and an IDX label file (each plain or gzipped) into a
    /// dataset of `classes` classes.
    ///
    /// # Errors
    /// Any error of [`read_idx_images_with`](super::read_idx_images_with) and
    /// [`read_idx_labels_with`](super::read_idx_labels_with), then those of
    /// [`Dataset::from_images`].
    pub fn from_idx(
        images_path: &Path,
        labels_path: &Path,
        classes: usize,
        limits: Limits,
    ) -> Result<Self, DataError> {
        let labels = super::read_idx_labels_with(labels_path, limits)?;
        let images = super::read_idx_images_with(images_path, limits)?;
        Self::from_images(images, labels, classes, images_path, labels_path)
    }

    /// The dataset with its targets in the form `model`'s loss reads: a column of whole
    /// numbers becomes class indices for `sparse_categorical_crossentropy`
    /// ([`TargetSet::to_classes`], at least as many classes as output units); anything
    /// else is returned unchanged, for [`crate::train::check_targets`] to judge.
    #[must_use]
    pub fn with_targets_for(mut self, model: &mlp_spec::ir::Model) -> Dataset {
        if let mlp_spec::ir::Loss::SparseCategoricalCrossentropy { .. } = model.train.loss {
            if let Some(classes) = self.targets.to_classes(model.output_size()) {
                self.targets = classes;
            }
        }
        self
    }

    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether the set holds no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features of one sample.
    #[must_use]
    pub fn features(&self) -> usize {
        self.features.ncols()
    }

    /// Number of classes, for class targets.
    #[must_use]
    pub fn classes(&self) -> Option<usize> {
        match &self.targets {
            TargetSet::Classes { classes, .. } => Some(*classes),
            TargetSet::Values(_) => None,
        }
    }

    /// The class names, when the data named its classes.
    #[must_use]
    pub fn class_names(&self) -> Option<&[String]> {
        match &self.targets {
            TargetSet::Classes { names, .. } => names.as_deref(),
            TargetSet::Values(_) => None,
        }
    }

    /// The class index of every sample, for class targets.
    #[must_use]
    pub fn labels(&self) -> Option<&Array1<u32>> {
        match &self.targets {
            TargetSet::Classes { labels, .. } => Some(labels),
            TargetSet::Values(_) => None,
        }
    }

    /// How many samples of each class there are (`classes` entries); empty for value
    /// targets.
    #[must_use]
    pub fn label_counts(&self) -> Vec<usize> {
        match &self.targets {
            TargetSet::Classes {
                labels, classes, ..
            } => {
                let mut counts = vec![0; *classes];
                for &label in labels {
                    if let Some(count) = counts.get_mut(label as usize) {
                        *count += 1;
                    }
                }
                counts
            }
            TargetSet::Values(_) => Vec::new(),
        }
    }

    /// Copies the features of the samples `indices` into `out` as f32, row after row:
    /// `indices.len() * features()` floats (u8 features as raw 0..255 values), the rest of
    /// `out` untouched. Allocates nothing.
    ///
    /// Panics if `out` is shorter than `indices.len() * features()` or an index is
    /// `>= len()`: both are bugs of the caller, which sizes `out` for its largest batch and
    /// draws indices from `0..len()`.
    pub fn gather_batch(&self, indices: &[usize], out: &mut [f32]) {
        let features = self.features();
        // Rows are independent: with kernel threads on, each gathers a block of them.
        crate::kernels::parallel::for_row_blocks(out, indices.len(), features, &|first, block| {
            let rows = block.len() / features.max(1);
            self.gather_rows(&indices[first..first + rows], block);
        });
    }

    /// Asks the CPU to start loading the features of the samples `indices` into its
    /// caches, so that a later [`Dataset::gather_batch`] of them does not wait for memory.
    /// `fit` calls it for the next batch before each training step: a shuffled batch reads
    /// rows scattered over the whole dataset, which does not fit the last-level cache. No
    /// effect on any result; a no-op off `x86_64`. Out-of-range indices are skipped.
    pub fn prefetch_batch(&self, indices: &[usize]) {
        for &index in indices {
            if index < self.len() {
                self.features.prefetch_row(index);
            }
        }
    }

    /// [`Dataset::gather_batch`] on the calling thread.
    fn gather_rows(&self, indices: &[usize], out: &mut [f32]) {
        // How many samples ahead to prefetch: enough to cover DRAM latency, few enough to
        // stay in L1 (a few 784-byte MNIST rows).
        const AHEAD: usize = 4;
        let features = self.features();
        let out = &mut out[..indices.len() * features];
        if features == 0 {
            return;
        }
        for (r, (&index, dst)) in indices
            .iter()
            .zip(out.chunks_exact_mut(features))
            .enumerate()
        {
            if let Some(&next) = indices.get(r + AHEAD) {
                self.features.prefetch_row(next);
            }
            self.features.copy_row(index, dst);
        }
    }

    /// Copies the targets of the samples `indices` into `buf` (made by
    /// [`TargetBuffer::new`] for this dataset and a batch of at least `indices.len()`) and
    /// returns them as the model takes them. Allocates nothing.
    ///
    /// Panics if `buf` is too short or an index is `>= len()` (caller bugs, as for
    /// [`Dataset::gather_batch`]).
    pub fn gather_targets<'b>(&self, indices: &[usize], buf: &'b mut TargetBuffer) -> Targets<'b> {
        match &self.targets {
            TargetSet::Classes { labels, .. } => {
                let out = &mut buf.classes[..indices.len()];
                for (&index, dst) in indices.iter().zip(out.iter_mut()) {
                    *dst = labels[index];
                }
                Targets::Classes(out)
            }
            TargetSet::Values(v) => {
                let k = v.ncols();
                let out = &mut buf.values[..indices.len() * k];
                if k > 0 {
                    for (&index, dst) in indices.iter().zip(out.chunks_exact_mut(k)) {
                        for (d, &t) in dst.iter_mut().zip(v.row(index)) {
                            *d = t;
                        }
                    }
                }
                Targets::Values(out)
            }
        }
    }

    /// A copy of the samples in `range`, clipped to `0..len()`.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Dataset {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        Dataset {
            features: self.features.slice(start..end),
            sample_shape: self.sample_shape.clone(),
            targets: self.targets.slice(start..end),
        }
    }

    /// Splits off the last `fraction` of the samples, as Keras's `validation_split` does
    /// (before any shuffling): the first `floor(len * (1 - fraction))` samples train, the
    /// rest validate. Returns `(training, validation)`, both copies: with `self`, the
    /// data is held twice; [`Dataset::split_off_last`] splits in place instead.
    ///
    /// # Errors
    /// [`DataError::BadSplit`] if `fraction` is not in (0, 1) or either side would be
    /// empty (Keras refuses the same cases).
    pub fn split_last(&self, fraction: f64) -> Result<(Dataset, Dataset), DataError> {
        let split_at = self.split_point(fraction)?;
        Ok((self.slice(0..split_at), self.slice(split_at..self.len())))
    }

    /// [`Dataset::split_last`] in place: copies the validation samples (the last
    /// `fraction`) out and returns them, and truncates `self` to the training samples,
    /// giving the memory of the tail back, so that the two sets together hold the data
    /// once (at the peak, the data and a copy of the tail). The same samples on each side
    /// as [`Dataset::split_last`].
    ///
    /// ```
    /// use mlp_runtime::data::{Dataset, TargetSet};
    /// use ndarray::array;
    ///
    /// let x = array![[0f32], [1.], [2.], [3.], [4.]];
    /// let mut data = Dataset::from_arrays(x.view(), TargetSet::classes(array![0, 1, 0, 1, 0], 2))?;
    /// let validation = data.split_off_last(0.2)?;
    /// assert_eq!((data.len(), validation.len()), (4, 1));
    /// assert_eq!(validation.labels(), Some(&array![0]));
    /// # Ok::<(), mlp_runtime::data::DataError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Dataset::split_last`]; `self` is then left as it was.
    pub fn split_off_last(&mut self, fraction: f64) -> Result<Dataset, DataError> {
        let split_at = self.split_point(fraction)?;
        let validation = self.slice(split_at..self.len());
        let empty = || Array2::default((0, 0));
        self.features = match std::mem::replace(&mut self.features, Features::F32(empty())) {
            Features::U8(a) => Features::U8(truncate_rows(a, split_at)?),
            Features::F32(a) => Features::F32(truncate_rows(a, split_at)?),
        };
        self.targets = match std::mem::replace(&mut self.targets, TargetSet::Values(empty())) {
            TargetSet::Classes {
                labels,
                classes,
                names,
            } => TargetSet::Classes {
                labels: truncate_rows(labels, split_at)?,
                classes,
                names,
            },
            TargetSet::Values(v) => TargetSet::Values(truncate_rows(v, split_at)?),
        };
        Ok(validation)
    }

    /// Where [`Dataset::split_last`] splits: the first validation sample.
    fn split_point(&self, fraction: f64) -> Result<usize, DataError> {
        let samples = self.len();
        // Keras: split_at = int(math.floor(batch_dim * (1.0 - validation_split))).
        let split_at = (samples as f64 * (1.0 - fraction)).floor();
        let valid =
            fraction > 0.0 && fraction < 1.0 && split_at >= 1.0 && split_at < samples as f64;
        if !valid {
            return Err(DataError::BadSplit { fraction, samples });
        }
        Ok(split_at as usize)
    }
}

/// The first `rows` rows (along axis 0) of `a`, clipped to its length, in `a`'s own
/// storage when it is in standard layout (as every reader makes it): the vector is cut and
/// shrunk, which gives a large allocation's tail back to the system without copying the
/// rows kept. Any other layout is copied.
///
/// # Errors
/// None in practice: [`DataError::InvalidDataset`] if the kept elements did not fill the
/// shape, which standard layout rules out.
fn truncate_rows<T: Clone, D: ndarray::Dimension>(
    a: Array<T, D>,
    rows: usize,
) -> Result<Array<T, D>, DataError> {
    let rows = rows.min(a.len_of(Axis(0)));
    if !a.is_standard_layout() {
        return Ok(a.slice_axis(Axis(0), Slice::from(..rows)).to_owned());
    }
    let mut dim = a.raw_dim();
    dim[0] = rows;
    let kept = dim.size();
    // In standard layout the elements are contiguous and in order from `offset` on
    // (`None`: the array is empty, and so is what is kept).
    let (mut data, offset) = a.into_raw_vec_and_offset();
    let offset = offset.unwrap_or(0).min(data.len());
    data.truncate(offset + kept);
    data.drain(..offset);
    data.shrink_to_fit();
    Array::from_shape_vec(dim, data).map_err(|e| DataError::InvalidDataset {
        reason: format!("splitting off the validation samples: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Array1, Array2};

    use super::{DataError, Dataset, Features, TargetSet};

    /// Ten samples: row `i` of the features is `[i, 100 + i]`, its target `i / 2`.
    fn values() -> Dataset {
        let x = Array2::from_shape_fn((10, 2), |(r, c)| (r + 100 * c) as f32);
        let y = Array2::from_shape_fn((10, 1), |(r, _)| r as f32 / 2.0);
        Dataset::from_arrays(x.view(), TargetSet::Values(y)).unwrap()
    }

    /// Ten u8 images of 2 × 2 (image `i` holds `i` in every pixel), classes `i % 3`, named.
    fn images() -> Dataset {
        let x = Array2::from_shape_fn((10, 4), |(r, _)| r as u8);
        let labels = Array1::from_shape_fn(10, |r| (r % 3) as u32);
        let names = Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        let targets = TargetSet::Classes {
            labels,
            classes: 3,
            names,
        };
        Dataset::new(Features::U8(x), vec![2, 2], targets).unwrap()
    }

    /// Splits `data` both ways and checks that both give the same sets, with `train`
    /// training samples.
    fn check_split(data: &Dataset, fraction: f64, train: usize) {
        let (head, tail) = data.split_last(fraction).unwrap();
        let mut in_place = data.clone();
        let validation = in_place.split_off_last(fraction).unwrap();
        assert_eq!(in_place, head, "training part, fraction {fraction}");
        assert_eq!(validation, tail, "validation part, fraction {fraction}");
        assert_eq!(
            (in_place.len(), validation.len()),
            (train, data.len() - train)
        );
        assert_eq!(in_place.sample_shape, data.sample_shape);
        assert_eq!(in_place.class_names(), data.class_names());
    }

    #[test]
    fn splitting_in_place_keeps_the_samples_of_each_side() {
        // floor(10 * (1 - f)) training samples, as Keras computes `split_at`.
        for (fraction, train) in [(0.1, 9), (0.2, 8), (0.25, 7), (0.5, 5), (0.85, 1)] {
            check_split(&values(), fraction, train);
            check_split(&images(), fraction, train);
        }
        // The rows themselves, written out: the first 8 train, the last 2 validate.
        let mut data = values();
        let validation = data.split_off_last(0.2).unwrap();
        assert_eq!(
            validation.features,
            Features::F32(array![[8.0, 108.0], [9.0, 109.0]])
        );
        assert_eq!(validation.targets, TargetSet::Values(array![[4.0], [4.5]]));
        let Features::F32(x) = &data.features else {
            panic!("f32 features")
        };
        assert_eq!(
            x.column(0).to_vec(),
            [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        );
        assert_eq!(
            x.column(1).to_vec(),
            [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0]
        );
        let mut data = images();
        let validation = data.split_off_last(0.3).unwrap();
        assert_eq!(validation.labels(), Some(&array![1, 2, 0]));
        assert_eq!(
            validation.images().map(|x| x.column(3).to_vec()),
            Some(vec![7, 8, 9])
        );
        assert_eq!(data.labels(), Some(&array![0, 1, 2, 0, 1, 2, 0]));
    }

    #[test]
    fn splitting_in_place_copes_with_any_layout_and_no_columns() {
        // Column-major features (a transposed array): copied rather than cut.
        let x = Array2::from_shape_fn((2, 10), |(c, r)| (r * 10 + c) as f32).reversed_axes();
        assert!(!x.is_standard_layout());
        let y = TargetSet::Values(Array2::from_shape_fn((10, 1), |(r, _)| r as f32));
        let data = Dataset::new(Features::F32(x), vec![2], y).unwrap();
        check_split(&data, 0.2, 8);
        // Samples with no features at all.
        let x = Array2::<f32>::zeros((10, 0));
        let data =
            Dataset::from_arrays(x.view(), TargetSet::classes(Array1::zeros(10), 1)).unwrap();
        check_split(&data, 0.5, 5);
    }

    #[test]
    fn a_refused_split_leaves_the_data_as_it_was() {
        // 10 * (1 - 0.9) is 0.999…, so no sample would train (Keras refuses it too).
        for fraction in [0.0, 1.0, -0.5, 0.9, f64::NAN] {
            let mut data = values();
            let error = data.split_off_last(fraction).unwrap_err();
            assert!(
                matches!(error, DataError::BadSplit { samples: 10, .. }),
                "{fraction}: {error}"
            );
            assert_eq!(data, values(), "{fraction}");
        }
    }
}
