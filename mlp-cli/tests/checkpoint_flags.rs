//! `mlp train --save / --checkpoint-dir / --keep / --resume / --on-nan` as a user runs them
//! on real MNIST: a run stopped after epoch 2 and resumed gives the History of an
//! uninterrupted run; bad paths, broken checkpoints and checkpoints of another model are
//! refused with exit 2 (usage, I/O) or 1 (data) and a one-line cause naming the file or
//! flag, leaving no file behind.
//!
//! MNIST comes from `$MLP_DATA` (the folder holding `mnist/`), else from the repository's
//! sibling `shared/data`, as in CI.

use std::fs;
use std::path::Path;
use std::process::Output;

use mlp_runtime::{Model, Network};
use mlp_test_support::{assert_exit, listing, mnist_dir, output, text, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

const SPEC: &str = "
model Small {
    input [28, 28]
    Flatten
    Rescale(0.00392156862745098)
    Dense(16, activation = relu)
    Dropout(0.2)
    Dense(10, activation = softmax)
    train {
        optimizer = adam
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 256
        epochs = 3
        seed = 4
    }
}
";

/// Runs `mlp train args… --quiet --data <MNIST>` in `dir`.
fn mlp(dir: &Path, args: &[&str]) -> Output {
    output(
        MLP.command(dir)
            .arg("train")
            .args(args)
            .args(["--quiet", "--data"])
            .arg(mnist_dir()),
    )
}

/// The History's metrics (not its times) from a JSON History file.
fn metrics(path: &Path) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    ["loss", "accuracy", "val_loss", "val_accuracy"]
        .iter()
        .map(|k| json[k].clone())
        .collect()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("small.mlp"), SPEC).unwrap();
    dir
}

#[test]
fn stopped_after_epoch_two_and_resumed_equals_the_uninterrupted_run() {
    let dir = setup();
    let d = dir.path();
    assert_exit(&mlp(d, &["small.mlp", "--history", "whole.json"]), 0);
    assert_exit(
        &mlp(
            d,
            &[
                "small.mlp",
                "--epochs",
                "2",
                "--checkpoint-dir",
                "ck",
                "--keep",
                "1",
            ],
        ),
        0,
    );
    assert_eq!(listing(&d.join("ck")), [".lock", "epoch-0002.safetensors"]);
    assert_exit(
        &mlp(
            d,
            &[
                "small.mlp",
                "--resume",
                "ck",
                "--checkpoint-dir",
                "ck",
                "--keep",
                "1",
                "--history",
                "resumed.json",
                "--save",
                "final.safetensors",
            ],
        ),
        0,
    );
    assert_eq!(
        metrics(&d.join("resumed.json")),
        metrics(&d.join("whole.json"))
    );
    assert_eq!(listing(&d.join("ck")), [".lock", "epoch-0003.safetensors"]);
    // The saved model is the final one of the run, resumable and loadable.
    let model = mlp_spec::compile(SPEC).unwrap().models.remove(0);
    let mut net = Network::new(&model, 0, 1).unwrap();
    let info = net.load(&d.join("final.safetensors")).unwrap();
    assert_eq!(info.training.unwrap().epoch, 3);
    let mut last = Network::new(&model, 0, 1).unwrap();
    last.load(&d.join("ck/epoch-0003.safetensors")).unwrap();
    assert_eq!(net.params(), last.params());
}

/// Runs `mlp train` in a folder holding `small.mlp` (plus whatever `prepare` adds) and
/// checks the exit code, a one-line cause containing `expected`, and that no file appeared.
fn refused(case: &str, args: &[&str], prepare: impl FnOnce(&Path), code: i32, expected: &str) {
    let dir = setup();
    let d = dir.path();
    prepare(d);
    let before = listing(d);
    let output = mlp(d, args);
    assert_exit(&output, code);
    let stderr = text(&output.stderr);
    // One `error:` line giving the cause (clap adds a hint line after its own).
    let first = stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{case}: {stderr}");
    assert!(
        first.contains(expected),
        "{case}: `{expected}` not in: {stderr}"
    );
    assert_eq!(stderr.matches("error: ").count(), 1, "{case}: {stderr}");
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    assert_eq!(listing(d), before, "{case}: files changed");
}

/// A checkpoint folder holding one checkpoint of `spec` (an untrained model).
fn checkpoint_of(spec: &str, dir: &Path) {
    let model = mlp_spec::compile(spec).unwrap().models.remove(0);
    fs::create_dir(dir).unwrap();
    Network::new(&model, 0, 1)
        .unwrap()
        .save(&dir.join("epoch-0001.safetensors"))
        .unwrap();
}

#[test]
fn bad_checkpoint_flags_and_files_are_refused_naming_them() {
    let nothing = |_: &Path| {};
    refused(
        "keep 0",
        &["small.mlp", "--keep", "0"],
        nothing,
        2,
        "--keep",
    );
    refused(
        "on-nan maybe",
        &["small.mlp", "--on-nan", "maybe"],
        nothing,
        2,
        "--on-nan",
    );
    refused(
        "resume a missing folder",
        &["small.mlp", "--resume", "nowhere"],
        nothing,
        2,
        "`nowhere`",
    );
    refused(
        "resume a file",
        &["small.mlp", "--resume", "small.mlp"],
        nothing,
        2,
        "--resume `small.mlp` is a file",
    );
    refused(
        "checkpoint-dir a file",
        &["small.mlp", "--checkpoint-dir", "small.mlp"],
        nothing,
        2,
        "--checkpoint-dir `small.mlp` is a file",
    );
    refused(
        "save into a folder",
        &["small.mlp", "--save", "out"],
        |d| fs::create_dir(d.join("out")).unwrap(),
        2,
        "cannot save to `out`: it is a folder",
    );
    refused(
        "save into a missing folder",
        &["small.mlp", "--save", "no/such/m.safetensors"],
        nothing,
        2,
        "no/such",
    );
    refused(
        "resume a truncated checkpoint",
        &["small.mlp", "--resume", "ck"],
        |d| {
            checkpoint_of(SPEC, &d.join("ck"));
            let path = d.join("ck/epoch-0001.safetensors");
            let bytes = fs::read(&path).unwrap();
            fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        },
        1,
        "ck/epoch-0001.safetensors: not a valid safetensors file",
    );
    refused(
        "resume a checkpoint of another model",
        &["small.mlp", "--resume", "ck"],
        |d| checkpoint_of(&SPEC.replace("Dense(16,", "Dense(32,"), &d.join("ck")),
        1,
        "cannot resume from `ck/epoch-0001.safetensors`: it was written for another architecture: layer 2 `dense`: units 32 in the checkpoint, 16 in the spec",
    );
    refused(
        "resume a checkpoint with a NaN",
        &["small.mlp", "--resume", "ck"],
        |d| {
            checkpoint_of(SPEC, &d.join("ck"));
            let path = d.join("ck/epoch-0001.safetensors");
            let mut bytes = fs::read(&path).unwrap();
            // The last 4 bytes are the last element of the last tensor in the file.
            let n = bytes.len();
            bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
            fs::write(&path, bytes).unwrap();
        },
        1,
        "holds a non-finite value (NaN)",
    );
}

#[test]
fn a_non_finite_loss_stops_unless_told_to_continue() {
    let exploding = SPEC.replace("optimizer = adam", "optimizer = sgd(lr = 1e30)");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("boom.mlp"), &exploding).unwrap();
    let output = mlp(
        d,
        &[
            "boom.mlp",
            "--epochs",
            "1",
            "--checkpoint-dir",
            "ck",
            "--history",
            "h.json",
        ],
    );
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "cannot train `Small`: the training loss became non-finite in epoch 1 at step"
        ),
        "{stderr}"
    );
    assert_eq!(listing(&d.join("ck")), [".lock"]);
    assert!(!d.join("h.json").exists());
    let output = mlp(
        d,
        &[
            "boom.mlp",
            "--epochs",
            "1",
            "--on-nan",
            "continue",
            "--history",
            "h.json",
        ],
    );
    assert_exit(&output, 0);
    assert!(d.join("h.json").exists());
}
