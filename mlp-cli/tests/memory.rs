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
