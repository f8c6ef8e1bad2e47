//! Training several models at once: a fixed number of worker threads (one per core by
//! default) take jobs from a shared queue, in order, inside `std::thread::scope`, so the
//! dataset is borrowed by every worker and never copied.
//!
//! Each job validates on the test set, unless its options ask for a `validation_split`
//! of the training data (then `fit` holds out that part instead, as Keras does).

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};
use std::thread;

use mlp_runtime::data::Mnist;
use mlp_runtime::{fit_with_progress, FitOptions, History, Model, TrainError};

use crate::progress::Reporter;

/// One model to train.
pub struct Job {
    /// What its progress lines and results are called (the spec's stem, `baseline`).
    pub name: String,
    /// The model, freshly initialised.
    pub model: Box<dyn Model + Send>,
    /// How to train it.
    pub options: FitOptions,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("model", &self.model.ir().name)
            .field("options", &self.options)
            .finish()
    }
}

/// What became of one job.
#[derive(Debug)]
pub struct Outcome {
    /// The job's name.
    pub name: String,
    /// The model's total parameter count.
    pub params: usize,
    /// Its History, or why training refused to run.
    pub history: Result<History, TrainError>,
}

/// The number of jobs to run at once by default: the cores available (at least 1).
#[must_use]
pub fn default_threads() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Trains every job on `data.train`, `threads` at a time (at least 1, at most one per
/// job), showing progress through `reporter`; outcomes come back in the jobs' order.
/// With more than one job, progress lines carry the job's name.
#[must_use]
pub fn train_all(
    jobs: Vec<Job>,
    data: &Mnist,
    threads: usize,
    reporter: &Reporter,
) -> Vec<Outcome> {
    let count = jobs.len();
    let labelled = count > 1;
    let width = jobs
        .iter()
        .map(|job| job.name.chars().count())
        .max()
        .unwrap_or(0);
    let queue: Mutex<VecDeque<(usize, Job)>> = Mutex::new(jobs.into_iter().enumerate().collect());
    let done: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..count).map(|_| None).collect());
    let workers = threads.clamp(1, count.max(1));
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = queue
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front();
                let Some((index, job)) = next else {
                    break;
                };
                let label = labelled.then(|| format!("{:<width$}", job.name));
                let outcome = train_one(job, data, label.as_deref(), reporter);
                done.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(outcome);
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

/// Trains one job (see the module docs for the validation data).
fn train_one(job: Job, data: &Mnist, label: Option<&str>, reporter: &Reporter) -> Outcome {
    let Job {
        name,
        mut model,
        options,
    } = job;
    let ir = model.ir();
    let params = ir.params.total;
    let mut progress = reporter.model(label);
    let validation = options.validation_split.is_none().then_some(&data.test);
    let history = fit_with_progress(
        model.as_mut(),
        &data.train,
        validation,
        &options,
        &mut progress,
    );
    Outcome {
        name,
        params,
        history,
    }
}
