//! Keras-like training progress, shared by `mlp train`, `mlp compare` and the notebook.
//!
//! On a terminal ([`Mode::Bars`]) each epoch shows as Keras shows it: `Epoch 3/10`, then a
//! bar over the epoch's steps with steps per second, the time left and the running loss
//! and accuracy, which ends as
//! `1875/1875 ━━━━━━━━━━━━━━━━━━━━ 2.13s 1ms/step - loss: 0.2407 - accuracy: 0.9392 - val_loss: … - val_accuracy: …`.
//! Otherwise ([`Mode::Lines`]) each epoch prints one plain line when it ends:
//! `Epoch 3/10 - 1875/1875 - 2.13s 1ms/step - loss: … - accuracy: … - val_loss: … - val_accuracy: …`.
//! [`Mode::Quiet`] prints nothing.
//!
//! When several models train at once, each line and bar starts with the model's label.
//! The bar is redrawn at most every [`REDRAW`] (checking the clock is all a step costs
//! otherwise), so progress does not slow training down.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mlp_runtime::{BatchEvent, EpochEvent, Progress};

/// Least time between two redraws of a bar.
pub const REDRAW: Duration = Duration::from_millis(50);

/// Width of the bar, in characters (Keras draws 20).
const BAR_WIDTH: usize = 20;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Live bars, for a terminal.
    Bars,
    /// One plain line per epoch, for logs and pipes.
    Lines,
    /// Nothing.
    Quiet,
}

impl Mode {
    /// [`Mode::Quiet`] if `quiet`, else [`Mode::Bars`] when standard output is a terminal
    /// and [`Mode::Lines`] when it is not.
    #[must_use]
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// Where progress goes; cheap to clone and shared by threads training models at once.
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<Inner>,
}

struct Inner {
    mode: Mode,
    /// The bars' drawing area (standard output), in [`Mode::Bars`].
    bars: Option<MultiProgress>,
    /// Where lines go in [`Mode::Lines`]; whole lines are written under the lock.
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("mode", &self.inner.mode)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// Progress on standard output in `mode`.
    #[must_use]
    pub fn new(mode: Mode) -> Reporter {
        let bars = (mode == Mode::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stdout()));
        Reporter {
            inner: Arc::new(Inner {
                mode,
                bars,
                out: Mutex::new(Box::new(io::stdout())),
            }),
        }
    }

    /// Plain lines ([`Mode::Lines`]) written to `out` (tests capture them this way).
    #[must_use]
    pub fn lines_to(out: impl Write + Send + 'static) -> Reporter {
        Reporter {
            inner: Arc::new(Inner {
                mode: Mode::Lines,
                bars: None,
                out: Mutex::new(Box::new(out)),
            }),
        }
    }

    /// How progress is shown.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// Prints `text` (a newline is added) above any live bars; nothing when quiet. A
    /// reader that went away is not an error: progress is not the program's result.
    pub fn println(&self, text: &str) {
        match (&self.inner.mode, &self.inner.bars) {
            (Mode::Quiet, _) => {}
            (Mode::Bars, Some(bars)) => {
                if bars.println(text).is_err() {
                    // The terminal went away; nothing useful can be done about it.
                }
            }
            _ => {
                let mut out = self
                    .inner
                    .out
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let _ = writeln!(out, "{text}").and_then(|()| out.flush());
            }
        }
    }

    /// The progress of one model's training. `label` names the model when several train
    /// at once (it starts each of its lines; pad labels to one width to align them).
    /// Every line shows the loss and each metric of the model, by its Keras name.
    #[must_use]
    pub fn model(&self, label: Option<&str>) -> ModelProgress {
        let now = Instant::now();
        ModelProgress {
            reporter: self.clone(),
            label: label.map(str::to_owned),
            bar: None,
            steps: 0,
            epoch_start: now,
            train_seconds: 0.0,
            last_draw: now,
        }
    }
}

/// Shows one model's training; pass it to `fit_with_progress`.
#[derive(Debug)]
pub struct ModelProgress {
    reporter: Reporter,
    label: Option<String>,
    bar: Option<ProgressBar>,
    steps: usize,
    epoch_start: Instant,
    /// Seconds the epoch's training steps took (validation excluded), for `ms/step`.
    train_seconds: f64,
    last_draw: Instant,
}

impl ModelProgress {
    /// `label  ` when the model has a label.
    fn prefix(&self) -> String {
        self.label
            .as_deref()
            .map_or_else(String::new, |label| format!("{label}  "))
    }

    /// `loss: … - accuracy: …`, with `prefix` (`val_`) before every name.
    fn metrics(prefix: &str, loss: f32, metrics: &[(&'static str, f32)]) -> String {
        let mut text = format!("{prefix}loss: {loss:.4}");
        for (name, value) in metrics {
            let _ = write!(text, " - {prefix}{name}: {value:.4}");
        }
        text
    }

    fn new_bar(&self, bars: &MultiProgress, epoch_title: &str) -> ProgressBar {
        let template = "{prefix}{pos}/{len} {bar:20.green/dim} {msg}";
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("━━━");
        let prefix = if self.label.is_some() {
            format!("{}{epoch_title} ", self.prefix())
        } else {
            String::new()
        };
        let bar =
            ProgressBar::with_draw_target(Some(self.steps as u64), ProgressDrawTarget::hidden())
                .with_style(style)
                .with_prefix(prefix);
        bars.add(bar)
    }
}

impl Progress for ModelProgress {
    fn on_epoch_begin(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.steps = steps;
        self.epoch_start = Instant::now();
        self.train_seconds = 0.0;
        self.last_draw = self.epoch_start;
        if let (Mode::Bars, Some(bars)) = (self.reporter.inner.mode, &self.reporter.inner.bars) {
            let title = format!("Epoch {}/{epochs}", epoch + 1);
            if self.label.is_none() {
                self.reporter.println(&title);
            }
            let bars = bars.clone();
            self.bar = Some(self.new_bar(&bars, &title));
        }
    }

    fn on_batch(&mut self, event: &BatchEvent<'_>) {
        let done = event.step + 1;
        if done == event.steps {
            self.train_seconds = self.epoch_start.elapsed().as_secs_f64();
        }
        let Some(bar) = &self.bar else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(self.last_draw) < REDRAW && done != event.steps {
            return;
        }
        self.last_draw = now;
        let elapsed = now.duration_since(self.epoch_start).as_secs_f64();
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            (event.steps - done) as f64 / rate
        } else {
            0.0
        };
        let message = format!(
            "{rate:.0} steps/s - ETA {} - {}",
            clock(eta),
            Self::metrics("", event.loss, event.metrics)
        );
        bar.set_position(done as u64);
        bar.set_message(Cow::Owned(message));
    }

    fn on_epoch_end(&mut self, event: &EpochEvent<'_>) {
        if self.reporter.inner.mode == Mode::Quiet {
            return;
        }
        let steps = self.steps;
        let per_step = if steps > 0 {
            self.train_seconds / steps as f64
        } else {
            0.0
        };
        let mut metrics = Self::metrics("", event.loss, event.metrics);
        if let Some(val) = event.val {
            let _ = write!(
                metrics,
                " - {}",
                Self::metrics("val_", val.loss, &val.metrics)
            );
        }
        let times = format!("{} {}/step", seconds(event.seconds), seconds(per_step));
        let title = format!("Epoch {}/{}", event.epoch + 1, event.epochs);
        let line = if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some(bars) = &self.reporter.inner.bars {
                bars.remove(&bar);
            }
            let full = "━".repeat(BAR_WIDTH);
            if self.label.is_some() {
                format!(
                    "{}{title} {steps}/{steps} {full} {times} - {metrics}",
                    self.prefix()
                )
            } else {
                format!("{steps}/{steps} {full} {times} - {metrics}")
            }
        } else {
            format!(
                "{}{title} - {steps}/{steps} - {times} - {metrics}",
                self.prefix()
            )
        };
        self.reporter.println(&line);
    }
}

impl Drop for ModelProgress {
    /// A bar still live (training stopped part-way) is removed, not left half-drawn.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some(bars) = &self.reporter.inner.bars {
                bars.remove(&bar);
            }
        }
    }
}

/// A duration in seconds as Keras would print it, with a unit: `2.13s`, `14s`, `1ms`,
/// `870us` (sub-second values keep three significant figures at most).
#[must_use]
pub fn seconds(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.0}s")
    } else if value >= 1.0 {
        format!("{value:.2}s")
    } else if value >= 1e-3 {
        format!("{:.0}ms", value * 1e3)
    } else {
        format!("{:.0}us", value * 1e6)
    }
}

/// Time left as `m:ss` (or `h:mm:ss`).
#[must_use]
pub fn clock(value: f64) -> String {
    let total = if value.is_finite() && value > 0.0 {
        value.round() as u64
    } else {
        0
    };
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_pick_a_readable_unit() {
        for (value, text) in [
            (14.4, "14s"),
            (2.134, "2.13s"),
            (0.5, "500ms"),
            (0.0012, "1ms"),
            (0.000_87, "870us"),
            (0.0, "0us"),
        ] {
            assert_eq!(seconds(value), text, "{value}");
        }
    }

    #[test]
    fn clock_is_minutes_and_seconds() {
        for (value, text) in [
            (0.0, "0:00"),
            (59.4, "0:59"),
            (61.0, "1:01"),
            (3725.0, "1:02:05"),
            (f64::NAN, "0:00"),
        ] {
            assert_eq!(clock(value), text, "{value}");
        }
    }
}
