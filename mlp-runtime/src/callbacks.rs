//! Keras's callbacks, run by [`crate::fit`] at the end of every epoch in the order the
//! `train` block lists them, each with the semantics of its Keras 3 source
//! (`keras/src/callbacks/`):
//!
//! - `early_stopping`: `best` starts unset (a `baseline` is never the first best), an
//!   improving epoch never stops training, an improvement resets the patience only when it
//!   also beats the `baseline`, and `restore_best_weights` restores the best epoch's
//!   weights (parameters and state) when training ends, stopped early or not. Improvement
//!   is `f32(current ∓ min_delta) <>= f32(best)` as Keras compares.
//! - `reduce_lr_on_plateau`: logs `learning_rate` (the rate before this epoch's
//!   reduction), then counts epochs without improvement outside the cooldown and
//!   multiplies the rate by `factor` (not below `min_lr`).
//! - `model_checkpoint`: writes an `mlp` checkpoint (safetensors, atomically) at the path
//!   formatted with `{epoch}` (1-based) and the logged quantities (`{val_loss:.4f}`).
//! - `csv_logger`: Keras's columns (`epoch`, then the logged keys sorted, `val_` columns
//!   added as `NA` without validation data), `\r\n` line ends, 0-based epochs.
//! - `tensorboard`: event files under `log_dir/train` and `log_dir/validation`
//!   ([`crate::tensorboard`]).
//! - `terminate_on_nan`: a non-finite batch loss ends the epoch; it is still validated and
//!   recorded, and training stops without an error.
//!
//! The logs every callback sees are one map, in list order, as Keras's `CallbackList`
//! passes one dict along: a `csv_logger` after a `reduce_lr_on_plateau` has a
//! `learning_rate` column, one before it has none.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use mlp_spec::ir::{Callback, Mode};

use crate::checkpoint::{self, Snapshot, TrainingState};
use crate::model::Model;
use crate::tensorboard::{self, FileNaming, TensorBoardLog};

/// A callback that could not do its work (a file it could not write).
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// A `csv_logger` file could not be written.
    #[error("csv_logger: cannot write `{path}`: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A `model_checkpoint` file could not be written.
    #[error("model_checkpoint: {0}")]
    Checkpoint(#[from] checkpoint::CheckpointError),
    /// A `model_checkpoint` path names a quantity that is not logged.
    #[error(
        "model_checkpoint: the path `{path}` names `{key}`, which is not logged (logged: {logged})"
    )]
    PathKey {
        /// The path pattern.
        path: String,
        /// The unknown field.
        key: String,
        /// The logged keys.
        logged: String,
    },
    /// The `tensorboard` log could not be written.
    #[error("tensorboard: {0}")]
    TensorBoard(#[from] tensorboard::TensorBoardError),
    /// A monitored quantity is missing from the logs (e.g. `val_loss` without validation
    /// data).
    #[error("`{callback}` monitors `{monitor}`, which this run does not log (logged: {logged}); pass validation data or monitor another quantity")]
    Monitor {
        /// The callback.
        callback: &'static str,
        /// The quantity.
        monitor: String,
        /// The logged keys.
        logged: String,
    },
}

/// One epoch's logs: `loss`, every metric, `val_…`, and what callbacks add
/// (`learning_rate`), by Keras key.
pub type Logs = BTreeMap<String, f32>;

/// The improvement test of Keras's `MonitorCallback._is_improvement`.
#[derive(Debug, Clone, Copy)]
struct Monitor {
    higher: bool,
    min_delta: f64,
}

impl Monitor {
    fn new(monitor: &str, mode: Mode, min_delta: f64) -> Monitor {
        Monitor {
            higher: mode.higher_is_better(monitor),
            min_delta: min_delta.abs(),
        }
    }

    /// `monitor_op(current - min_delta, reference)`: the subtraction on Python floats,
    /// the comparison in f32 (`ops.less` / `ops.greater` convert both operands).
    fn improves(self, current: f32, reference: Option<f32>) -> bool {
        let Some(reference) = reference else {
            return true;
        };
        if self.higher {
            ((f64::from(current) - self.min_delta) as f32) > reference
        } else {
            ((f64::from(current) + self.min_delta) as f32) < reference
        }
    }
}

#[derive(Debug)]
struct EarlyStopping {
    monitor: String,
    test: Monitor,
    patience: usize,
    baseline: Option<f32>,
    restore: bool,
    start_from_epoch: usize,
    wait: usize,
    best: Option<f32>,
    best_epoch: usize,
    best_weights: Option<(Vec<f32>, Vec<f32>)>,
    stopped_epoch: usize,
}

#[derive(Debug)]
struct ReduceLr {
    monitor: String,
    test: Monitor,
    factor: f64,
    patience: usize,
    cooldown: usize,
    min_lr: f64,
    wait: usize,
    cooldown_counter: usize,
    best: Option<f32>,
}

#[derive(Debug)]
struct ModelCheckpoint {
    path: String,
    monitor: String,
    test: Monitor,
    best_only: bool,
    weights_only: bool,
    best: Option<f32>,
}

#[derive(Debug)]
struct CsvLogger {
    path: PathBuf,
    separator: String,
    append: bool,
    keys: Option<Vec<String>>,
    /// Whether the header still has to be written.
    header: bool,
}

#[derive(Debug)]
enum Active {
    EarlyStopping(Box<EarlyStopping>),
    ReduceLr(ReduceLr),
    ModelCheckpoint(ModelCheckpoint),
    CsvLogger(CsvLogger),
    TensorBoard(Box<Option<TensorBoardLog>>, PathBuf),
    TerminateOnNan,
}

/// The callbacks of one `fit`, with their state.
#[derive(Debug, Default)]
pub struct Callbacks {
    active: Vec<Active>,
    /// The 0-based epoch an `early_stopping` stopped at, if one did.
    stopped_epoch: Option<usize>,
}

impl Callbacks {
    /// The callbacks `list` describes, in its order, each in its state at the start of
    /// training (Keras's `on_train_begin`).
    #[must_use]
    pub fn new(list: &[Callback]) -> Callbacks {
        let active = list
            .iter()
            .map(|c| match c {
                Callback::EarlyStopping {
                    monitor,
                    min_delta,
                    patience,
                    mode,
                    baseline,
                    restore_best_weights,
                    start_from_epoch,
                } => Active::EarlyStopping(Box::new(EarlyStopping {
                    test: Monitor::new(monitor, *mode, *min_delta),
                    monitor: monitor.clone(),
                    patience: *patience,
                    baseline: baseline.map(|b| b as f32),
                    restore: *restore_best_weights,
                    start_from_epoch: *start_from_epoch,
                    wait: 0,
                    best: None,
                    best_epoch: 0,
                    best_weights: None,
                    stopped_epoch: 0,
                })),
                Callback::ReduceLrOnPlateau {
                    monitor,
                    factor,
                    patience,
                    mode,
                    min_delta,
                    cooldown,
                    min_lr,
                } => Active::ReduceLr(ReduceLr {
                    test: Monitor::new(monitor, *mode, *min_delta),
                    monitor: monitor.clone(),
                    factor: *factor,
                    patience: *patience,
                    cooldown: *cooldown,
                    min_lr: *min_lr,
                    wait: 0,
                    cooldown_counter: 0,
                    best: None,
                }),
                Callback::ModelCheckpoint {
                    path,
                    monitor,
                    save_best_only,
                    save_weights_only,
                    mode,
                } => Active::ModelCheckpoint(ModelCheckpoint {
                    path: path.clone(),
                    test: Monitor::new(monitor, *mode, 0.0),
                    monitor: monitor.clone(),
                    best_only: *save_best_only,
                    weights_only: *save_weights_only,
                    best: None,
                }),
                Callback::CsvLogger {
                    filename,
                    separator,
                    append,
                } => Active::CsvLogger(CsvLogger {
                    path: PathBuf::from(filename),
                    separator: separator.clone(),
                    append: *append,
                    keys: None,
                    header: true,
                }),
                Callback::TensorBoard { log_dir } => {
                    Active::TensorBoard(Box::new(None), PathBuf::from(log_dir))
                }
                Callback::TerminateOnNan => Active::TerminateOnNan,
            })
            .collect();
        Callbacks {
            active,
            stopped_epoch: None,
        }
    }

    /// Whether a `terminate_on_nan` is among them.
    #[must_use]
    pub fn terminate_on_nan(&self) -> bool {
        self.active
            .iter()
            .any(|a| matches!(a, Active::TerminateOnNan))
    }

    /// The 0-based epoch an `early_stopping` stopped training at.
    #[must_use]
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// Opens what the callbacks write (Keras's `on_train_begin`): a `csv_logger` file is
    /// truncated unless `append` (whose existing header is then kept), a `tensorboard`
    /// log's `train/` event file is created.
    ///
    /// # Errors
    /// [`CallbackError`] naming the file that cannot be written.
    pub fn on_train_begin(&mut self) -> Result<(), CallbackError> {
        for a in &mut self.active {
            match a {
                Active::CsvLogger(c) => {
                    let exists_with_data =
                        c.append && std::fs::metadata(&c.path).is_ok_and(|m| m.len() > 0);
                    c.header = !exists_with_data;
                    let opened = std::fs::OpenOptions::new()
                        .create(true)
                        .write(true)
                        .append(c.append)
                        .truncate(!c.append)
                        .open(&c.path);
                    opened.map_err(|source| CallbackError::Csv {
                        path: c.path.clone(),
                        source,
                    })?;
                }
                Active::TensorBoard(log, dir) => {
                    **log = Some(TensorBoardLog::create(
                        dir,
                        FileNaming::current(),
                        tensorboard::unix_time(),
                    )?);
                }
                Active::EarlyStopping(_)
                | Active::ReduceLr(_)
                | Active::ModelCheckpoint(_)
                | Active::TerminateOnNan => {}
            }
        }
        Ok(())
    }

    /// Every callback at the end of epoch `epoch` (0-based), in order, over one shared
    /// `logs`. Returns whether training must stop.
    ///
    /// # Errors
    /// [`CallbackError`] when a file cannot be written or a monitored quantity is
    /// missing from `logs`.
    pub fn on_epoch_end<M: Model + ?Sized>(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        model: &mut M,
        training: &TrainingState,
    ) -> Result<bool, CallbackError> {
        let mut stop = false;
        for a in &mut self.active {
            match a {
                Active::EarlyStopping(e) => {
                    let current = monitored(logs, &e.monitor, "early_stopping")?;
                    if epoch < e.start_from_epoch {
                        continue;
                    }
                    if e.restore && e.best_weights.is_none() {
                        e.best_weights = Some((model.params().to_vec(), model.state().to_vec()));
                        e.best_epoch = epoch;
                    }
                    e.wait += 1;
                    if e.test.improves(current, e.best) {
                        e.best = Some(current);
                        e.best_epoch = epoch;
                        if e.restore {
                            if let Some((p, s)) = &mut e.best_weights {
                                p.copy_from_slice(model.params());
                                s.copy_from_slice(model.state());
                            }
                        }
                        if e.baseline.is_none() || e.test.improves(current, e.baseline) {
                            e.wait = 0;
                        }
                        continue;
                    }
                    if e.wait >= e.patience && epoch > 0 {
                        e.stopped_epoch = epoch;
                        self.stopped_epoch = Some(epoch);
                        stop = true;
                    }
                }
                Active::ReduceLr(r) => {
                    let lr = model.learning_rate();
                    logs.insert("learning_rate".to_owned(), lr);
                    let current = monitored(logs, &r.monitor, "reduce_lr_on_plateau")?;
                    if r.cooldown_counter > 0 {
                        r.cooldown_counter -= 1;
                        r.wait = 0;
                    }
                    if r.test.improves(current, r.best) {
                        r.best = Some(current);
                        r.wait = 0;
                    } else if r.cooldown_counter == 0 {
                        r.wait += 1;
                        if r.wait >= r.patience && lr > r.min_lr as f32 {
                            // Python: `old_lr * factor` in f64, `max(new, min_lr)`, then
                            // assigned to the f32 variable.
                            let new = (f64::from(lr) * r.factor).max(r.min_lr);
                            model.set_learning_rate(new as f32);
                            r.cooldown_counter = r.cooldown;
                            r.wait = 0;
                        }
                    }
                }
                Active::ModelCheckpoint(c) => {
                    let save = if c.best_only {
                        let current = monitored(logs, &c.monitor, "model_checkpoint")?;
                        let better = c.test.improves(current, c.best);
                        if better {
                            c.best = Some(current);
                        }
                        better
                    } else {
                        true
                    };
                    if save {
                        let path = format_path(&c.path, epoch, logs)?;
                        let snapshot = Snapshot::of(&*model, (!c.weights_only).then_some(training));
                        checkpoint::write(&snapshot, Path::new(&path))?;
                    }
                }
                Active::CsvLogger(c) => c.write(epoch, logs)?,
                Active::TensorBoard(log, _) => {
                    if let Some(log) = log.as_mut() {
                        let entries: Vec<(&str, f32)> =
                            logs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                        log.log_epoch(
                            epoch as i64,
                            &entries,
                            model.learning_rate(),
                            tensorboard::unix_time(),
                        )?;
                    }
                }
                Active::TerminateOnNan => {}
            }
        }
        Ok(stop)
    }

    /// The end of training (Keras's `on_train_end`): an `early_stopping` with
    /// `restore_best_weights` puts its best epoch's weights back, whether it stopped
    /// training or not; the `tensorboard` files are closed.
    ///
    /// # Errors
    /// [`CallbackError::TensorBoard`] when an event file cannot be flushed.
    pub fn on_train_end<M: Model + ?Sized>(&mut self, model: &mut M) -> Result<(), CallbackError> {
        for a in &mut self.active {
            match a {
                Active::EarlyStopping(e) => {
                    if let Some((p, s)) = e.best_weights.take() {
                        model.params_mut().copy_from_slice(&p);
                        model.state_mut().copy_from_slice(&s);
                    }
                }
                Active::TensorBoard(log, _) => {
                    if let Some(log) = log.take() {
                        log.close()?;
                    }
                }
                Active::ReduceLr(_)
                | Active::ModelCheckpoint(_)
                | Active::CsvLogger(_)
                | Active::TerminateOnNan => {}
            }
        }
        Ok(())
    }
}

/// The monitored value, or an error naming what is logged.
fn monitored(logs: &Logs, monitor: &str, callback: &'static str) -> Result<f32, CallbackError> {
    logs.get(monitor)
        .copied()
        .ok_or_else(|| CallbackError::Monitor {
            callback,
            monitor: monitor.to_owned(),
            logged: logged(logs),
        })
}

fn logged(logs: &Logs) -> String {
    logs.keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as Python's `str(float)` writes it (`0.7083333134651184`, `nan`, `inf`).
fn python_float(v: f32) -> String {
    if v.is_nan() {
        "nan".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{:?}", f64::from(v))
    }
}

impl CsvLogger {
    /// Keras's `CSVLogger.on_epoch_end`.
    fn write(&mut self, epoch: usize, logs: &Logs) -> Result<(), CallbackError> {
        let keys = self.keys.get_or_insert_with(|| {
            let mut keys: Vec<String> = logs.keys().cloned().collect();
            if !keys.iter().any(|k| k.starts_with("val_")) {
                let val: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
                keys.extend(val);
            }
            keys
        });
        let sep = &self.separator;
        let mut text = String::new();
        if self.header {
            text.push_str("epoch");
            for k in keys.iter() {
                text.push_str(sep);
                text.push_str(k);
            }
            text.push_str("\r\n");
            self.header = false;
        }
        let _ = write!(text, "{epoch}");
        for k in keys.iter() {
            text.push_str(sep);
            match logs.get(k) {
                Some(&v) => text.push_str(&python_float(v)),
                None => text.push_str("NA"),
            }
        }
        text.push_str("\r\n");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|source| CallbackError::Csv {
                path: self.path.clone(),
                source,
            })?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|source| CallbackError::Csv {
                path: self.path.clone(),
                source,
            })
    }
}

/// `path` with Python's format fields filled in: `{epoch}` (1-based), `{epoch:02d}`,
/// `{val_loss:.4f}`, any logged key.
fn format_path(path: &str, epoch: usize, logs: &Logs) -> Result<String, CallbackError> {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let field = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let (key, spec) = field.split_once(':').unwrap_or((field, ""));
        let value = if key == "epoch" {
            f64::from(u32::try_from(epoch + 1).unwrap_or(u32::MAX))
        } else {
            match logs.get(key) {
                Some(&v) => f64::from(v),
                None => {
                    return Err(CallbackError::PathKey {
                        path: path.to_owned(),
                        key: key.to_owned(),
                        logged: logged(logs),
                    })
                }
            }
        };
        out.push_str(&python_format(value, spec, key == "epoch"));
    }
    out.push_str(rest);
    Ok(out)
}

/// One Python format spec: `.4f`, `02d`, `4d`, or none.
fn python_format(v: f64, spec: &str, integer: bool) -> String {
    if let Some(d) = spec.strip_suffix('f') {
        let prec = d.trim_start_matches('.').parse::<usize>().unwrap_or(6);
        return format!("{v:.prec$}");
    }
    if let Some(width) = spec.strip_suffix('d') {
        let zero = width.starts_with('0');
        let w = width.parse::<usize>().unwrap_or(0);
        let i = v as i64;
        return if zero {
            format!("{i:0w$}")
        } else {
            format!("{i:w$}")
        };
    }
    if integer {
        format!("{}", v as i64)
    } else {
        python_float(v as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::{format_path, python_float, Logs, Monitor};
    use mlp_spec::ir::Mode;

    #[test]
    fn paths_format_like_python() {
        let mut logs = Logs::new();
        logs.insert("val_loss".into(), 0.721_265_5);
        let p = format_path("ckpt_{epoch:02d}_{val_loss:.4f}.safetensors", 0, &logs);
        assert_eq!(p.ok().as_deref(), Some("ckpt_01_0.7213.safetensors"));
        assert!(format_path("x_{val_acc}.st", 0, &logs).is_err());
    }

    #[test]
    fn floats_print_like_python_str() {
        assert_eq!(python_float(0.708_333_3), "0.7083333134651184");
        assert_eq!(python_float(0.625), "0.625");
        assert_eq!(python_float(f32::NAN), "nan");
    }

    #[test]
    fn improvement_needs_more_than_min_delta() {
        let m = Monitor::new("val_loss", Mode::Auto, 0.01);
        assert!(m.improves(1.0, None));
        assert!(!m.improves(0.995, Some(1.0)));
        assert!(m.improves(0.98, Some(1.0)));
        let acc = Monitor::new("val_accuracy", Mode::Auto, 0.0);
        assert!(acc.improves(0.9, Some(0.8)));
        assert!(!acc.improves(0.8, Some(0.8)));
    }
}
