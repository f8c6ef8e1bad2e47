//! `mlp summary` states the memory training needs (the plan's estimate, which `Network::new`
//! checks before allocating), under Keras's totals.

use mlp_test_support::{assert_exit, stdout, Cli};
use std::path::Path;

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

#[test]
fn summary_prints_the_training_memory_at_the_specs_batch() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook");
    let output = MLP.run(&dir, &["summary", "baseline.mlp"]);
    assert_exit(&output, 0);
    let text = stdout(&output);
    let last = text.lines().last().unwrap_or_default();
    // 52 650 parameters: 205.66 KiB each for the parameters and the gradients, twice that
    // for Adam's two moments; the buffers are 32 rows of 64 + 64 + 32 + 32 + 10 + 10 + 10
    // floats (outputs, their gradients, the softmax): 27.75 KiB.
    assert_eq!(
        last,
        " Training memory (batch 32): 850.41 KiB (parameters 205.66 KiB, gradients 205.66 KiB, \
         optimiser slots 411.33 KiB, state 0 B, buffers 27.75 KiB)"
    );
    let before = text.lines().rev().nth(1).unwrap_or_default();
    assert!(before.starts_with(" Non-trainable params:"), "{text}");
}

/// 4.1 billion parameters: 65 GiB with gradients and Adam's moments.
const HUGE: &str = "model Huge {\n input [4096]\n Dense(1000000, activation = softmax)\n}\n";

#[test]
fn train_refuses_a_model_bigger_than_the_machine_or_the_limit_before_allocating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let huge = dir.path().join("huge.mlp");
    std::fs::write(&huge, HUGE).expect("writable");
    // The summary states what it would need.
    let summary = MLP.run(dir.path(), &["summary", "huge.mlp"]);
    assert_exit(&summary, 0);
    assert!(stdout(&summary).contains("GiB"), "{}", stdout(&summary));
    // Training checks the estimate before building the network (a model bigger than the
    // machine is refused by `Network::new` itself, see tests/memory.rs): with a limit below
    // the baseline's 850 KiB, both figures are named.
    let notebook = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook/baseline.mlp");
    let data = mlp_test_support::mnist_dir();
    let limited = MLP.run(
        dir.path(),
        &[
            "train",
            &notebook.to_string_lossy(),
            "--epochs",
            "1",
            "--quiet",
            "--data",
            &data.to_string_lossy(),
            "--max-memory",
            "64K",
        ],
    );
    assert_exit(&limited, 1);
    let text = mlp_test_support::stderr(&limited);
    assert!(
        text.contains("850.41 KiB") && text.contains("64.00 KiB") && text.contains("--max-memory"),
        "{text}"
    );
    // A bad size is a usage error.
    let bad = MLP.run(
        dir.path(),
        &["train", &notebook.to_string_lossy(), "--max-memory", "4X"],
    );
    assert_exit(&bad, 2);
}
