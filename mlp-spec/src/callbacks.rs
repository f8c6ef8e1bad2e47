//! The callbacks and class weights of the IR (`train { callbacks = […] class_weight = … }`),
//! with Keras 3's arguments and defaults.

use serde::{Deserialize, Serialize};

/// Whether a monitored quantity should go down or up (Keras `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// `auto`: up for quantities whose name contains `acc`, `auc`, `precision` or
    /// `recall`… (Keras's rule: see [`Mode::higher_is_better`]), down otherwise.
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// Whether higher is better for `monitor` under this mode. `auto` follows Keras 3's
    /// `MonitorCallback._set_monitor_op`: `max` when the name (with any `val_` prefix
    /// removed) is a metric Keras maximises (`accuracy`, `auc`, `precision`, `recall`, and
    /// any name containing `acc`), `min` otherwise (`loss`, errors).
    #[must_use]
    pub fn higher_is_better(self, monitor: &str) -> bool {
        match self {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => {
                let name = monitor.strip_prefix("val_").unwrap_or(monitor);
                name != "loss"
                    && (name.contains("acc")
                        || name.starts_with("auc")
                        || name.starts_with("precision")
                        || name.starts_with("recall"))
            }
        }
    }
}

/// A Keras callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Callback {
    /// `EarlyStopping`.
    EarlyStopping {
        /// The quantity watched (default `val_loss`).
        monitor: String,
        /// The least change that counts as an improvement (default 0).
        min_delta: f64,
        /// Epochs without improvement before stopping (default 0).
        patience: usize,
        /// `auto`, `min` or `max`.
        mode: Mode,
        /// A value the quantity must beat (default none).
        baseline: Option<f64>,
        /// Restore the weights of the best epoch when stopping (default false).
        restore_best_weights: bool,
        /// Epochs to wait before watching at all (default 0).
        start_from_epoch: usize,
    },
    /// `ReduceLROnPlateau`.
    ReduceLrOnPlateau {
        /// The quantity watched (default `val_loss`).
        monitor: String,
        /// Factor the rate is multiplied by (default 0.1, < 1).
        factor: f64,
        /// Epochs without improvement before reducing (default 10).
        patience: usize,
        /// `auto`, `min` or `max`.
        mode: Mode,
        /// The least change that counts as an improvement (default 1e-4).
        min_delta: f64,
        /// Epochs to wait after a reduction (default 0).
        cooldown: usize,
        /// The lowest rate (default 0).
        min_lr: f64,
    },
    /// `ModelCheckpoint`: a checkpoint file per epoch (or per improvement).
    ModelCheckpoint {
        /// The file path, with Keras's `{epoch}` / `{val_loss:.4f}` fields.
        path: String,
        /// The quantity compared with `save_best_only` (default `val_loss`).
        monitor: String,
        /// Only write when `monitor` improves (default false).
        save_best_only: bool,
        /// Write the weights only, without optimiser state (default false).
        save_weights_only: bool,
        /// `auto`, `min` or `max`.
        mode: Mode,
    },
    /// `CSVLogger`: one row per epoch.
    CsvLogger {
        /// The file.
        filename: String,
        /// The field separator (default `,`).
        separator: String,
        /// Append to an existing file (default false).
        append: bool,
    },
    /// `TensorBoard`: event files under `log_dir/train` and `log_dir/validation`.
    TensorBoard {
        /// The folder (default `logs`).
        log_dir: String,
    },
    /// `TerminateOnNaN`: stop when the loss is NaN or infinite.
    TerminateOnNan,
}

impl Callback {
    /// Keras's class name (`EarlyStopping`, …).
    #[must_use]
    pub fn keras_class(&self) -> &'static str {
        match self {
            Callback::EarlyStopping { .. } => "EarlyStopping",
            Callback::ReduceLrOnPlateau { .. } => "ReduceLROnPlateau",
            Callback::ModelCheckpoint { .. } => "ModelCheckpoint",
            Callback::CsvLogger { .. } => "CSVLogger",
            Callback::TensorBoard { .. } => "TensorBoard",
            Callback::TerminateOnNan => "TerminateOnNaN",
        }
    }

    /// The quantity the callback watches, if it watches one.
    #[must_use]
    pub fn monitor(&self) -> Option<&str> {
        match self {
            Callback::EarlyStopping { monitor, .. }
            | Callback::ReduceLrOnPlateau { monitor, .. }
            | Callback::ModelCheckpoint { monitor, .. } => Some(monitor),
            Callback::CsvLogger { .. }
            | Callback::TensorBoard { .. }
            | Callback::TerminateOnNan => None,
        }
    }
}

/// Keras's `class_weight`: each sample's loss multiplied by its class's weight (Keras 3
/// `class_weight_to_sample_weights`: the class of a value row is its argmax, or its rounded
/// value when it has one column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ClassWeight {
    /// `{class: weight, …}`; a class not listed weighs 1, as in Keras.
    Map(Vec<(u32, f64)>),
    /// `balanced`: `n_samples / (n_classes · count(class))` over the training data, as
    /// scikit-learn's `compute_class_weight("balanced")`.
    Balanced,
}
