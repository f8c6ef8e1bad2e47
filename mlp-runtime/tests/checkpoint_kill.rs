//! Crash safety: a training process killed with `SIGKILL` at random moments, many times,
//! mostly while it writes a checkpoint. After every kill the checkpoint folder still loads,
//! and resuming from it, kill after kill, ends with the History and parameters of an
//! uninterrupted run.
//!
//! The child process is this test binary itself, running only
//! `child_trains_into_a_checkpoint_folder` with the folder in `CHILD_ENV`.

use mlp_runtime::data::Dataset;
use mlp_runtime::ir;
use mlp_runtime::rng::mix64;
use mlp_runtime::{fit_continue, CheckpointDir, FitOptions, History, Model, Network};
use ndarray::{Array1, Array2};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the child's checkpoint folder.
const CHILD_ENV: &str = "MLP_CHECKPOINT_KILL_CHILD_DIR";
const EPOCHS: usize = 60;

/// Wide enough that writing a checkpoint (about 0.85 MB with Adam's slots, plus `fsync`)
/// takes most of an epoch's time, so kills land mid-write; dropout makes the seed and the
/// iteration count matter.
const SPEC: &str = "
model Crashy {
    input [3, 4]
    Flatten
    Dense(256, activation = relu)
    Dropout(0.2)
    Dense(256, activation = relu)
    Dense(3, activation = softmax)
    train {
        optimizer = adam
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 8
        epochs = 60
        seed = 11
    }
}
";

fn compile() -> ir::Model {
    mlp_spec::compile(SPEC)
        .unwrap()
        .models
        .into_iter()
        .next()
        .unwrap()
}

fn data(n: usize, salt: u64) -> Dataset {
    let labels: Vec<u8> = (0..n).map(|i| (mix64(i as u64 ^ salt) % 3) as u8).collect();
    let images = Array2::from_shape_fn((n, 12), |(r, c)| {
        let noise = (mix64((r * 12 + c) as u64 + salt) % 80) as u8;
        noise
            + if c / 4 == usize::from(labels[r]) {
                150
            } else {
                0
            }
    });
    Dataset::from_u8(images, vec![3, 4], Array1::from(labels), 3).unwrap()
}

/// Trains `Crashy` to `EPOCHS`, resuming from the newest checkpoint of `dir` if any and
/// checkpointing every epoch into it (keeping 2).
fn train_resuming(dir: &Path) -> (History, Network) {
    let model = compile();
    let mut net = Network::new(&model, model.train.seed, model.train.batch).unwrap();
    let base = FitOptions::from_config(&model.train);
    let mut saver = CheckpointDir::new(dir, 2).unwrap();
    let (opts, history) = match CheckpointDir::resume(dir, &mut net).unwrap() {
        Some(info) => {
            let state = info.training.unwrap();
            (state.resume_options(&base), state.history)
        }
        None => (base, History::default()),
    };
    let h = fit_continue(
        &mut net,
        &data(32, 1),
        Some(&data(16, 2)),
        &opts,
        &mut saver,
        history,
    )
    .unwrap();
    (h, net)
}

/// The History without its wall-clock times, as bits: the losses, then every metric
/// series by key.
fn bits(h: &History) -> Vec<(String, Vec<u32>)> {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect();
    let mut out = vec![
        ("loss".to_owned(), bits(&h.loss)),
        ("val_loss".to_owned(), bits(&h.val_loss)),
    ];
    out.extend(h.metrics.iter().map(|(k, v)| (k.clone(), bits(v))));
    out
}

fn param_bits(net: &Network) -> Vec<u32> {
    net.params()
        .iter()
        .chain(net.state())
        .chain(net.optimizer_slots().unwrap())
        .map(|v| v.to_bits())
        .collect()
}

#[test]
fn child_trains_into_a_checkpoint_folder() {
    // As a child (spawned below) this trains until killed. Run directly, it trains a whole
    // run into a fresh folder and checks what is left there.
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        train_resuming(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (h, _) = train_resuming(dir.path());
    assert_eq!(h.epochs(), EPOCHS);
    let epochs: Vec<usize> = CheckpointDir::list(dir.path())
        .unwrap()
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(epochs, vec![EPOCHS - 1, EPOCHS]);
}

/// Temporary files of an interrupted write in `dir`.
fn leftovers(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        })
        .count()
}

/// Every checkpoint in `dir` loads; returns the newest epoch.
fn all_load(dir: &Path) -> usize {
    let model = compile();
    let mut newest = 0;
    for (epoch, path) in CheckpointDir::list(dir).unwrap() {
        let mut net = Network::new(&model, 0, 8).unwrap();
        let info = net
            .load(&path)
            .unwrap_or_else(|e| panic!("a checkpoint left by a kill does not load: {e}"));
        assert_eq!(info.training.unwrap().epoch, epoch);
        newest = epoch;
    }
    newest
}

#[test]
fn sigkill_at_random_moments_never_breaks_the_checkpoint_folder() {
    let reference_dir = tempfile::tempdir().unwrap();
    let (reference, reference_net) = train_resuming(reference_dir.path());

    let dir = tempfile::tempdir().unwrap();
    let exe: PathBuf = std::env::current_exe().unwrap();
    let (mut kills, mut mid_write, mut newest) = (0, 0, 0usize);
    for round in 0u64..40 {
        if newest >= EPOCHS - 2 {
            break;
        }
        let mut child = Command::new(&exe)
            .args([
                "child_trains_into_a_checkpoint_folder",
                "--exact",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until this child has written a checkpoint of its own, so the kill lands in
        // the training loop, then a random 0-15 ms more.
        let start = Instant::now();
        let mut exited = false;
        loop {
            let latest = CheckpointDir::list(dir.path())
                .unwrap()
                .last()
                .map_or(0, |(e, _)| *e);
            if latest > newest || start.elapsed() > Duration::from_secs(30) {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        std::thread::sleep(Duration::from_micros(mix64(round) % 15_000));
        // SIGKILL on Unix: no destructor, no flush.
        if !exited && child.kill().is_ok() {
            kills += 1;
        }
        child.wait().unwrap();
        if leftovers(dir.path()) > 0 {
            mid_write += 1;
        }
        let now = all_load(dir.path());
        assert!(now >= newest, "epoch went back from {newest} to {now}");
        newest = now;
    }
    println!(
        "{kills} kills, {mid_write} while a checkpoint was being written, last at epoch {newest}"
    );
    assert!(kills >= 5, "only {kills} kills");
    assert!(
        mid_write >= 1,
        "no kill landed during a write ({kills} kills)"
    );

    let (resumed, net) = train_resuming(dir.path());
    assert_eq!(bits(&resumed), bits(&reference));
    assert_eq!(param_bits(&net), param_bits(&reference_net));
    assert_eq!(leftovers(dir.path()), 0, "resuming cleans temporary files");
}
