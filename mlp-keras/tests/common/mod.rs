//! What the tests (and the `export_specs` example) share: the repository's specs, and
//! models of them trained a few steps on deterministic synthetic data, so that weights,
//! moving statistics and optimiser slots all hold values worth comparing.
#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};

use mlp_runtime::layout::{ParamLayout, Role};
use mlp_runtime::{ir, Model, Network, Targets};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// This crate's fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every model of every spec under `specs/`, as `(spec file relative to the root, model)`,
/// in file then source order.
pub fn spec_models() -> Vec<(String, ir::Model)> {
    let mut files = Vec::new();
    for dir in ["specs/notebook", "specs/examples"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "mlp"))
            .collect();
        entries.sort();
        files.extend(entries);
    }
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let spec = mlp_spec::compile(&text).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        let rel = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for model in spec.models {
            out.push((rel.clone(), model));
        }
    }
    out
}

/// A deterministic value in `[0, 1)` for `(a, b)` (a small integer hash).
pub fn unit(a: u64, b: u64) -> f32 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 40) as f32 / (1u64 << 24) as f32
}

/// `rows` input rows for `model`, values in `[-2, 2)` (`salt` varies them). Not raw pixel
/// values even for the MNIST models: inputs of `0..255` give logits in the hundreds, where
/// two float32 implementations summing in different orders (Keras's GEMM and mlp's)
/// already differ by more than 1e-5 relative in the softmax's output.
pub fn inputs(model: &ir::Model, rows: usize, salt: u64) -> Vec<f32> {
    let n = model.input_size();
    (0..rows * n)
        .map(|i| 4.0 * unit(salt, i as u64) - 2.0)
        .collect()
}

/// Targets for `rows` samples fitting `model`'s loss: class indices, one-hot rows, 0/1
/// values or real values.
pub enum OwnedTargets {
    Classes(Vec<u32>),
    Values(Vec<f32>),
}

impl OwnedTargets {
    pub fn view(&self) -> Targets<'_> {
        match self {
            OwnedTargets::Classes(c) => Targets::Classes(c),
            OwnedTargets::Values(v) => Targets::Values(v),
        }
    }
}

pub fn targets(model: &ir::Model, rows: usize, salt: u64) -> OwnedTargets {
    let units = model.output_size();
    match model.train.loss {
        ir::Loss::SparseCategoricalCrossentropy { .. } => OwnedTargets::Classes(
            (0..rows)
                .map(|r| (unit(salt + 7, r as u64) * units as f32) as u32)
                .collect(),
        ),
        ir::Loss::BinaryCrossentropy { .. } if units == 1 => OwnedTargets::Classes(
            (0..rows)
                .map(|r| u32::from(unit(salt + 7, r as u64) < 0.5))
                .collect(),
        ),
        ir::Loss::CategoricalCrossentropy { .. } | ir::Loss::BinaryCrossentropy { .. } => {
            let mut v = vec![0.0; rows * units];
            for r in 0..rows {
                let c = (unit(salt + 7, r as u64) * units as f32) as usize;
                v[r * units + c.min(units - 1)] = 1.0;
            }
            OwnedTargets::Values(v)
        }
        ir::Loss::MeanSquaredError | ir::Loss::MeanAbsoluteError | ir::Loss::Huber { .. } => {
            OwnedTargets::Values(
                (0..rows * units)
                    .map(|i| 3.0 * unit(salt + 7, i as u64) - 1.0)
                    .collect(),
            )
        }
    }
}

/// A `Network` of `model` with its `Normalization` statistics set as an `adapt` would
/// (a mean and variance per feature, a count), then `steps` training steps of batch 16 on
/// synthetic data.
pub fn trained(model: &ir::Model, steps: usize) -> Network {
    let batch = 16;
    let mut net = Network::new(model, model.train.seed, batch).unwrap();
    let layout = ParamLayout::new(model);
    for t in &layout.tensors {
        let values: Vec<f32> = match t.role {
            Role::Mean => (0..t.len).map(|j| unit(91, j as u64) - 0.5).collect(),
            Role::Variance => (0..t.len).map(|j| 0.5 + unit(92, j as u64)).collect(),
            Role::Count => vec![1000.0],
            _ => continue,
        };
        net.state_mut()[t.range()].copy_from_slice(&values);
    }
    for step in 0..steps {
        let x = inputs(model, batch, 100 + step as u64);
        let y = targets(model, batch, 100 + step as u64);
        net.train_step(&x, y.view(), batch);
    }
    net
}
