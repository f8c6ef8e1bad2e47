//! Both macros in one crate: a model from a spec file and one written inline, each trained
//! for a step through the `Model` trait.
#![deny(missing_docs, warnings)]

use mlp::prelude::*;
use mlp::runtime::Targets;

mlp::include_mlp!("../../../../specs/notebook/baseline.mlp");

mlp! {
    /// A tiny inline model.
    model Tiny {
        input [28, 28]
        Flatten
        Dense(16, init = he_normal, reg = l2(0.001), activation = relu)
        Dropout(0.1)
        Dense(10, activation = softmax)

        train {
            batch = 4
        }
    }
}

fn step<M: Model>(model: &mut M) -> f32 {
    let batch = model.max_batch();
    let x: Vec<f32> = (0..batch * 784).map(|i| (i % 251) as f32).collect();
    let labels: Vec<u32> = (0..batch).map(|i| (i % 10) as u32).collect();
    let stats = model.train_step(&x, Targets::Classes(&labels), batch);
    assert_eq!(model.iterations(), 1);
    stats.loss
}

fn main() {
    let mut baseline = Baseline::new(0);
    let mut tiny = Tiny::new(0);
    assert_eq!(Baseline::INPUTS, 784);
    assert!(step(&mut baseline).is_finite());
    assert!(step(&mut tiny).is_finite());
    assert!(tiny.summary().contains("dense_1 (Dense)"));
}
