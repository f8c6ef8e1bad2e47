//! The notebook's seven models, compiled from `specs/notebook/*.mlp` by `include_mlp!`
//! into plain Rust types (`Baseline`, `HeNormal`, …), listed in the notebook's order with
//! the stem of their spec file. Shared by the example and its integration test.

use mlp::prelude::*;
use mlp_cli::notebook::NotebookModel;

include_mlp!("specs/notebook/baseline.mlp");
include_mlp!("specs/notebook/he_normal.mlp");
include_mlp!("specs/notebook/l2.mlp");
include_mlp!("specs/notebook/l1.mlp");
include_mlp!("specs/notebook/dropout.mlp");
include_mlp!("specs/notebook/batchnorm.mlp");
include_mlp!("specs/notebook/leaky_relu.mlp");

/// The seven models, in the notebook's order.
pub const MODELS: [NotebookModel; 7] = [
    NotebookModel {
        stem: "baseline",
        build: |seed| Box::new(Baseline::new(seed)),
    },
    NotebookModel {
        stem: "he_normal",
        build: |seed| Box::new(HeNormal::new(seed)),
    },
    NotebookModel {
        stem: "l2",
        build: |seed| Box::new(L2Penalty::new(seed)),
    },
    NotebookModel {
        stem: "l1",
        build: |seed| Box::new(L1Penalty::new(seed)),
    },
    NotebookModel {
        stem: "dropout",
        build: |seed| Box::new(WithDropout::new(seed)),
    },
    NotebookModel {
        stem: "batchnorm",
        build: |seed| Box::new(WithBatchNorm::new(seed)),
    },
    NotebookModel {
        stem: "leaky_relu",
        build: |seed| Box::new(WithLeakyRelu::new(seed)),
    },
];
