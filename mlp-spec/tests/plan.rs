//! The execution plan of every spec in `specs/`, as readable text: which op runs on which
//! buffer in inference, training and backward, what is fused, folded and aliased. Every
//! back end walks these plans, so a change to one is a change to what runs.

use std::fmt::Write as _;

use mlp_spec::plan::{BackKind, BufferKind, OpKind, Plan, Value};

#[test]
fn plan_of_every_spec() {
    insta::glob!("../../specs", "**/*.mlp", |path| {
        let source = std::fs::read_to_string(path).expect("spec file is readable");
        let spec = mlp_spec::compile(&source).unwrap_or_else(|d| {
            panic!(
                "{} does not compile:\n{}",
                path.display(),
                d.render("spec", &source)
            )
        });
        let mut text = String::new();
        for m in &spec.models {
            let plan = Plan::new(m).unwrap_or_else(|e| panic!("{e}"));
            writeln!(text, "model {}\n{plan}", m.name).expect("a String takes any text");
        }
        insta::assert_snapshot!(text);
    });
}

fn plan(source: &str) -> Plan {
    let spec = mlp_spec::compile(source).unwrap_or_else(|d| panic!("{}", d.render("t", source)));
    Plan::new(&spec.models[0]).unwrap_or_else(|e| panic!("{e}"))
}

/// Every op of every sequence reads only `x` or a buffer an earlier op of the same
/// sequence wrote (or, in inference, a folded buffer), and never writes its own source.
#[test]
fn ops_read_only_what_earlier_ops_wrote() {
    for source in [
        include_str!("../../specs/notebook/batchnorm.mlp"),
        include_str!("../../specs/notebook/leaky_relu.mlp"),
        include_str!("../../specs/notebook/dropout.mlp"),
        include_str!("../../specs/examples/zoo.mlp"),
        include_str!("../../specs/examples/regression.mlp"),
        include_str!("../../specs/examples/activations.mlp"),
        include_str!("../../specs/examples/tabular.mlp"),
    ] {
        let spec = mlp_spec::compile(source).expect("compiles");
        for m in &spec.models {
            let p = Plan::new(m).expect("plans");
            for ops in [&p.infer, &p.train] {
                let mut written = std::collections::BTreeSet::new();
                for op in ops {
                    let (srcs, dsts) = io(&op.kind);
                    for s in srcs {
                        if let Value::Buffer(b) = s {
                            assert!(
                                written.contains(&b),
                                "{}: {op:?} reads {b:?} unwritten",
                                m.name
                            );
                        }
                    }
                    for d in dsts {
                        assert!(
                            !srcs_contain(&op.kind, d),
                            "{}: {op:?} writes its source",
                            m.name
                        );
                        written.insert(d);
                    }
                }
                assert!(
                    written.contains(&p.head.out),
                    "{}: the head reads an unwritten buffer",
                    m.name
                );
            }
            // Backward: every dy was written by the loss or a later layer.
            let mut grads = std::collections::BTreeSet::from([p.head.grad]);
            for op in &p.backward {
                let (dy, dx) = back_io(&op.kind);
                assert!(
                    grads.contains(&dy),
                    "{}: {op:?} reads an unwritten gradient",
                    m.name
                );
                assert!(matches!(p.buffer(dy).kind, BufferKind::Gradient { .. }));
                if let Some(dx) = dx {
                    grads.insert(dx);
                }
            }
        }
    }
}

fn io(op: &OpKind) -> (Vec<Value>, Vec<mlp_spec::plan::BufferId>) {
    match op {
        OpKind::Copy { src, dst, .. }
        | OpKind::Dropout { src, dst, .. }
        | OpKind::LeakyRelu { src, dst, .. }
        | OpKind::Activation { src, dst, .. }
        | OpKind::Rescale { src, dst, .. }
        | OpKind::Normalize { src, dst, .. } => (vec![*src], vec![*dst]),
        OpKind::Dense(d) => (vec![d.src], vec![d.dst]),
        OpKind::DenseBatchNorm {
            dense,
            batch_norm,
            after,
        } => {
            let mut dsts = vec![
                dense.dst,
                batch_norm.dst,
                batch_norm.mean,
                batch_norm.inv_std,
            ];
            dsts.extend(after.map(|a| a.dst));
            (vec![dense.src], dsts)
        }
        OpKind::BatchNormTrain(b) => (vec![b.src], vec![b.dst, b.mean, b.inv_std]),
        OpKind::BatchNormInfer(b) => (vec![b.src], vec![b.dst]),
    }
}

fn srcs_contain(op: &OpKind, b: mlp_spec::plan::BufferId) -> bool {
    io(op).0.contains(&Value::Buffer(b))
}

fn back_io(op: &BackKind) -> (mlp_spec::plan::BufferId, Option<mlp_spec::plan::BufferId>) {
    match op {
        BackKind::Dense { dy, dx, .. } | BackKind::BatchNorm { dy, dx, .. } => (*dy, *dx),
        BackKind::Dropout { dy, dx, .. }
        | BackKind::Copy { dy, dx, .. }
        | BackKind::LeakyRelu { dy, dx, .. }
        | BackKind::Activation { dy, dx, .. }
        | BackKind::Rescale { dy, dx, .. }
        | BackKind::Normalize { dy, dx, .. } => (*dy, Some(*dx)),
    }
}

#[test]
fn a_model_of_only_aliasing_layers_copies_its_input() {
    let p = plan("model M {\n input [2, 3]\n Flatten\n train { loss = mse }\n}\n");
    assert_eq!(p.infer.len(), 1);
    assert!(matches!(
        p.infer[0].kind,
        OpKind::Copy {
            src: Value::Input,
            n: 6,
            ..
        }
    ));
    assert!(p.backward.is_empty());
}

#[test]
fn the_head_softmax_layer_aliases_its_input() {
    let p = plan("model M {\n input [4]\n Dense(3)\n Softmax\n}\n");
    assert!(p.head.from_logits);
    assert_eq!(p.own_output(1), None);
    assert_eq!(p.outputs[1], p.outputs[0]);
    assert_eq!(p.infer.len(), 1);
}

#[test]
fn a_batch_norm_after_a_linear_dense_folds_into_it() {
    let p = plan(
        "model M {\n input [4]\n Dense(3)\n BatchNorm\n ReLU\n Dense(2, activation = softmax)\n}\n",
    );
    assert_eq!(p.folds.len(), 1);
    assert_eq!(p.folds[0].dense, 0);
    // Inference: the folded Dense writes the BatchNorm's output; no BatchNorm op.
    assert!(!p
        .infer
        .iter()
        .any(|o| matches!(o.kind, OpKind::BatchNormInfer(_))));
    // Training: Dense + BatchNorm + ReLU in one op.
    assert!(matches!(
        p.train[0].kind,
        OpKind::DenseBatchNorm { after: Some(_), .. }
    ));
}

/// Rule 7: a `Dense` whose activation's derivative needs its input writes a linear
/// pre-activation, then an activation op; backward runs the activation's backward from
/// that pre-activation first. It is not fused with the `BatchNorm` after it.
#[test]
fn a_dense_whose_derivative_needs_its_input_keeps_its_pre_activation() {
    let p = plan(
        "model M {\n input [4]\n Dense(3, activation = gelu)\n BatchNorm\n Dense(2, activation = softmax)\n}\n",
    );
    let pre = p
        .buffers
        .iter()
        .position(|b| b.kind == BufferKind::PreActivation { layer: 0 })
        .map(mlp_spec::plan::BufferId)
        .expect("a pre-activation buffer");
    assert_eq!(p.buffer(pre).name, "dense_preact");
    for ops in [&p.train, &p.infer] {
        let OpKind::Dense(d) = &ops[0].kind else {
            panic!("{:?}", ops[0].kind)
        };
        assert_eq!((d.dst, d.act), (pre, mlp_spec::ir::Activation::Linear));
        assert!(matches!(
            ops[1].kind,
            OpKind::Activation { src: Value::Buffer(s), rows: 1, cols: 3, .. } if s == pre
        ));
        assert_eq!(ops[1].layer, 0);
    }
    assert!(!p
        .train
        .iter()
        .any(|o| matches!(o.kind, OpKind::DenseBatchNorm { .. })));
    // Only a linear Dense takes the BatchNorm after it in; it folds into the next one.
    assert!(p.folds.iter().all(|f| f.dense == 2), "{:?}", p.folds);
    // Backward, last layer first: dense_1, batch_norm, then layer 0's activation and Dense.
    let first: Vec<&BackKind> = p
        .backward
        .iter()
        .filter(|o| o.layer == 0)
        .map(|o| &o.kind)
        .collect();
    let [BackKind::Activation { x, dx, .. }, BackKind::Dense { y, dy, act, .. }] = first[..] else {
        panic!("{first:?}")
    };
    assert_eq!(*x, Value::Buffer(pre));
    assert_eq!((dx, y), (dy, &pre));
    assert_eq!(*act, mlp_spec::ir::Activation::Linear);
    assert_eq!(p.buffer(*dy).kind, BufferKind::Gradient { of: pre });
}

/// An activation whose derivative follows from its output stays in the `Dense` epilogue,
/// and such a `Dense` still fuses with its `BatchNorm`.
#[test]
fn a_dense_with_an_output_derivable_activation_stays_fused() {
    for act in ["elu", "selu", "leaky_relu", "elu(alpha = 0)"] {
        let p = plan(&format!(
            "model M {{\n input [4]\n Dense(3, activation = {act})\n BatchNorm\n Dense(2, activation = softmax)\n}}\n"
        ));
        assert!(
            !p.buffers
                .iter()
                .any(|b| matches!(b.kind, BufferKind::PreActivation { .. })),
            "{act}"
        );
        assert!(
            matches!(p.train[0].kind, OpKind::DenseBatchNorm { .. }),
            "{act}"
        );
    }
}

/// Rule 8: a `Normalization` runs the same op in both modes, on its state tensors, and
/// first in a model it runs nothing backward.
#[test]
fn a_normalization_runs_one_op_in_both_modes_and_nothing_backward_first() {
    let p = plan(
        "model M {\n input [3, 4]\n Rescale(0.5)\n Normalization\n Flatten\n Dense(2, activation = softmax)\n}\n",
    );
    let name = |t: mlp_spec::plan::TensorId| p.tensor(t).name.clone();
    for ops in [&p.infer, &p.train] {
        let OpKind::Normalize {
            src,
            n,
            features,
            mean,
            variance,
            ..
        } = ops[1].kind
        else {
            panic!("{:?}", ops[1].kind)
        };
        assert_eq!(ops[1].layer, 1);
        assert_eq!(src, p.outputs[0]);
        assert_eq!((n, features), (12, 4));
        assert_eq!(
            (name(mean), name(variance)),
            (
                "normalization.mean".to_owned(),
                "normalization.variance".to_owned()
            )
        );
        assert!(!p.tensor(mean).trainable && !p.tensor(variance).trainable);
    }
    assert_eq!(p.infer, p.train);
    assert!(p.backward.iter().all(|o| o.layer == 3), "{:?}", p.backward);
    // mean 4 + variance 4 + count 1, all state.
    assert_eq!(p.layout.state_len, 9);
}

/// A hand-built IR (the checks forbid it) with a `Normalization` after a `Dense`: by rule
/// 5 it writes an input gradient, `dy / max(sqrt(variance), 1e-7)`.
#[test]
fn a_normalization_after_parameters_runs_backward() {
    let mut spec = mlp_spec::compile(
        "model M {\n input [4]\n Dense(3)\n Rescale(1)\n Dense(2, activation = softmax)\n}\n",
    )
    .expect("compiles");
    let m = &mut spec.models[0];
    m.layers[1].kind = mlp_spec::ir::LayerKind::Normalization { features: 3 };
    m.layers[1].name = "normalization".to_owned();
    let p = Plan::new(m).expect("plans");
    let back: Vec<&BackKind> = p
        .backward
        .iter()
        .filter(|o| o.layer == 1)
        .map(|o| &o.kind)
        .collect();
    let [BackKind::Normalize {
        dy,
        dx,
        n,
        features,
        variance,
    }] = back[..]
    else {
        panic!("{back:?}")
    };
    assert_eq!((*n, *features), (3, 3));
    assert_eq!(p.tensor(*variance).name, "normalization.variance");
    assert_eq!(
        p.buffer(*dy).kind,
        BufferKind::Gradient {
            of: mlp_spec::plan::BufferId(2)
        }
    );
    assert_eq!(
        p.buffer(*dx).kind,
        BufferKind::Gradient {
            of: mlp_spec::plan::BufferId(0)
        }
    );
    // Its features must be its input's last extent.
    m.layers[1].kind = mlp_spec::ir::LayerKind::Normalization { features: 2 };
    let err = Plan::new(m).expect_err("features do not match");
    assert!(err.problem.contains("normalization"), "{err}");
}
