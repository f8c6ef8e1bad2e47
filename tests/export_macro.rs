//! `include_mlp!("spec.mlp", weights = "checkpoint")`: the standalone inference module of a
//! trained model, generated at compile time, computes what `Network` computes with the same
//! checkpoint (to the tolerance `mlp-cli/tests/export.rs` explains) and allocates nothing.

use mlp::prelude::*;
use mlp::runtime::checkpoint;
use mlp::runtime::testing::{allocations, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

mlp::include_mlp!(
    "specs/notebook/baseline.mlp",
    weights = "tests/fixtures/baseline-1epoch.safetensors"
);

#[test]
fn the_generated_inference_module_matches_network_and_allocates_nothing() {
    let source = include_str!("../specs/notebook/baseline.mlp");
    let ir = mlp::spec::compile(source).expect("compiles").models[0].clone();
    let mut net = Network::new(&ir, 0, 64).expect("a network");
    let ckpt = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/baseline-1epoch.safetensors");
    checkpoint::load(&mut net, &ckpt).expect("loads");
    // 64 samples of deterministic pixels 0..255.
    let x: Vec<f32> = (0..64 * baseline::INPUTS)
        .map(|i| ((i * 7919) % 256) as f32)
        .collect();
    let want = net.forward(&x, 64).to_vec();
    let mut scratch = [0.0; baseline::SCRATCH];
    let mut got = vec![0.0; 64 * baseline::OUTPUTS];
    let before = allocations();
    let rows = baseline::predict_batch(&x, &mut scratch, &mut got);
    assert_eq!(allocations(), before, "predict_batch allocated");
    assert_eq!(rows, 64);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let e = (g - w).abs() / w.abs().max(1e-3);
        assert!(e <= 1e-5, "output {i}: exported {g}, Network {w} ({e:e})");
    }
    assert_eq!((baseline::INPUTS, baseline::OUTPUTS), (784, 10));
}
