//! The notebook's seven specs (`specs/notebook/*.mlp`), compiled into this binary by
//! `include_mlp!`, so `mlp bench` can measure generated code for a spec that describes one
//! of them.
//!
//! A spec's model matches a compiled one when both compute the same thing: their IR is
//! equal once what does not reach the generated code is set aside: the model's name, doc
//! comment and source lines (a renamed copy of `baseline.mlp` matches), and the `train`
//! block's `epochs`, `seed` and `validation_split` (the bench picks its own epochs, seeds
//! the model itself and validates nothing). Any other difference (a layer, a shape, an
//! initialiser, the optimiser, the batch size) means the spec is not compiled in.

use mlp_runtime::ir::Model as IrModel;
use mlp_runtime::Model;

use super::measure::{measure, Measured, Setup};
use crate::error::CliError;

mlp::include_mlp!("../specs/notebook/baseline.mlp");
mlp::include_mlp!("../specs/notebook/he_normal.mlp");
mlp::include_mlp!("../specs/notebook/l2.mlp");
mlp::include_mlp!("../specs/notebook/l1.mlp");
mlp::include_mlp!("../specs/notebook/dropout.mlp");
mlp::include_mlp!("../specs/notebook/batchnorm.mlp");
mlp::include_mlp!("../specs/notebook/leaky_relu.mlp");

/// One compiled-in model.
pub struct Compiled {
    /// The stem of its spec file (`baseline`).
    pub stem: &'static str,
    /// Its IR.
    pub ir: fn() -> IrModel,
    /// [`measure`] over the generated type, seeded from the setup's spec.
    pub measure: fn(&Setup<'_>) -> Result<Measured, CliError>,
}

/// One [`Compiled`] entry per generated type.
macro_rules! compiled {
    ($($stem:literal => $ty:ident),* $(,)?) => {
        [$(Compiled {
            stem: $stem,
            ir: || $ty::with_max_batch(1, 0).ir().clone(),
            measure: |setup| {
                measure(setup, |max_batch| {
                    Ok($ty::with_max_batch(max_batch, setup.ir.train.seed))
                })
            },
        }),*]
    };
}

/// Every compiled-in model, in the notebook's order.
pub const COMPILED: [Compiled; 7] = compiled![
    "baseline" => Baseline,
    "he_normal" => HeNormal,
    "l2" => L2Penalty,
    "l1" => L1Penalty,
    "dropout" => WithDropout,
    "batchnorm" => WithBatchNorm,
    "leaky_relu" => WithLeakyRelu,
];

/// The compiled-in model that computes what `model` describes, if any.
pub fn find(model: &IrModel) -> Option<&'static Compiled> {
    let wanted = computation(model);
    COMPILED.iter().find(|c| computation(&(c.ir)()) == wanted)
}

/// `model` without what does not reach the generated code (see the module docs).
fn computation(model: &IrModel) -> IrModel {
    let mut m = model.clone();
    m.name.clear();
    m.doc.clear();
    m.line = 0;
    for layer in &mut m.layers {
        layer.line = 0;
    }
    m.train.epochs = 0;
    m.train.seed = 0;
    m.train.validation_split = None;
    m
}

#[cfg(test)]
mod tests {
    use super::{find, COMPILED};

    fn compile(source: &str) -> mlp_runtime::ir::Model {
        let spec = mlp_spec::compile(source).unwrap_or_else(|e| panic!("{e:?}"));
        spec.models[0].clone()
    }

    fn spec_source(stem: &str) -> String {
        let path = format!(
            "{}/../specs/notebook/{stem}.mlp",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn each_notebook_spec_finds_its_own_generated_type() {
        for compiled in &COMPILED {
            let found = find(&compile(&spec_source(compiled.stem))).map(|c| c.stem);
            assert_eq!(found, Some(compiled.stem));
        }
    }

    #[test]
    fn a_renamed_copy_matches_and_a_changed_layer_does_not() {
        let source = spec_source("baseline");
        let renamed = format!(
            "// my copy\n\n{}",
            source
                .replace("model Baseline", "model MyBaseline")
                .replace("epochs = 10", "epochs = 3")
        );
        assert_eq!(find(&compile(&renamed)).map(|c| c.stem), Some("baseline"));
        for (from, to) in [
            (
                "Dense(32, activation = relu)",
                "Dense(33, activation = relu)",
            ),
            (
                "Dense(64, activation = relu)",
                "Dense(64, activation = tanh)",
            ),
            ("lr = 0.001", "lr = 0.002"),
            ("batch = 32", "batch = 64"),
        ] {
            assert!(source.contains(from), "{from}");
            let changed = source.replace(from, to);
            assert!(find(&compile(&changed)).is_none(), "{to} matched");
        }
    }
}
