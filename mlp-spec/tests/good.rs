//! Data-driven tests of valid specs: each case is a spec and the IR facts expected of it,
//! written by hand from Keras's rules (parameter formulas, default values, layer names).

use std::fmt::Write as _;

use mlp_spec::ir::{
    Activation, ActivationClass, BatchNorm, Initializer, LayerKind, LearningRate, Loss, Metric,
    Optimizer, OptimizerKind, Regularizer, Spec,
};

fn compile(source: &str) -> Spec {
    match mlp_spec::compile(source) {
        Ok(spec) => spec,
        Err(d) => panic!("{}", d.render("test.mlp", source)),
    }
}

/// One line per layer: `name [output shape] trainable+non_trainable`, then the totals.
fn describe(spec: &Spec) -> String {
    let mut out = String::new();
    for m in &spec.models {
        let _ = writeln!(out, "{} {:?}", m.name, m.input);
        for l in &m.layers {
            let p = l.params;
            let _ = writeln!(
                out,
                "  {} {:?} {}+{}",
                l.name, l.output_shape, p.trainable, p.non_trainable
            );
        }
        let p = m.params;
        let _ = writeln!(
            out,
            "  total {} = {} + {}",
            p.total, p.trainable, p.non_trainable
        );
    }
    out
}

/// Compiles `input` and compares its layer table with `expected` (leading and trailing
/// blank lines and common indentation ignored).
fn check(input: &str, expected: &str) {
    let got = describe(&compile(input));
    let want: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let got_lines: Vec<&str> = got.lines().map(str::trim).collect();
    assert_eq!(got_lines, want, "\nfor spec:\n{input}");
}

#[test]
fn shapes_names_and_parameter_counts() {
    // 784·64+64 = 50240, 64·32+32 = 2080, 32·10+10 = 330 (Keras's table for the notebook).
    check(
        "model M { input [28, 28] Flatten Dense(64, activation = relu) Dense(32) Dense(10, activation = softmax) }",
        "M [28, 28]
         flatten [784] 0+0
         dense [64] 50240+0
         dense_1 [32] 2080+0
         dense_2 [10] 330+0
         total 52650 = 52650 + 0",
    );
    // BatchNorm: gamma, beta trainable; moving mean/variance not: 2·64 + 2·64.
    check(
        "model M { input [784] Dense(64) BatchNormalization LeakyReLU(alpha = 0.2) Dense(10, activation = softmax) }",
        "M [784]
         dense [64] 50240+0
         batch_normalization [64] 128+128
         leaky_re_lu [64] 0+0
         dense_1 [10] 650+0
         total 51146 = 51018 + 128",
    );
    // No bias: in·units only. Stand-alone activations are named as Keras names them.
    check(
        "model M { input [3] Dense(4, use_bias = false) ReLU Dense(5) Sigmoid Dense(6) Tanh Dropout(0.5) Dense(2) Softmax }",
        "M [3]
         dense [4] 12+0
         re_lu [4] 0+0
         dense_1 [5] 25+0
         activation [5] 0+0
         dense_2 [6] 36+0
         activation_1 [6] 0+0
         dropout [6] 0+0
         dense_3 [2] 14+0
         softmax [2] 0+0
         total 87 = 87 + 0",
    );
    // Rescaling keeps the shape; Flatten of a 3-D input multiplies the extents.
    check(
        "model M { input [2, 3, 4] Rescale(0.5, offset = -1) Flatten Dense(2, activation = softmax) }",
        "M [2, 3, 4]
         rescaling [2, 3, 4] 0+0
         flatten [24] 0+0
         dense [2] 50+0
         total 50 = 50 + 0",
    );
    // Each model of a file numbers its layers afresh.
    check(
        "model A { input [1] Dense(2, activation = softmax) } model B { input [1] Dense(2, activation = softmax) }",
        "A [1]
         dense [2] 4+0
         total 4 = 4 + 0
         B [1]
         dense [2] 4+0
         total 4 = 4 + 0",
    );
}

#[test]
fn the_notebook_models_have_kerass_parameter_counts() {
    // (file, total, trainable, non-trainable) as printed by Keras's model.summary()
    // (shared/reference/keras_summaries.txt).
    let cases = [
        ("baseline", "Baseline", 52_650, 52_650, 0),
        ("he_normal", "HeNormal", 52_650, 52_650, 0),
        ("l2", "L2Penalty", 52_650, 52_650, 0),
        ("l1", "L1Penalty", 52_650, 52_650, 0),
        ("dropout", "WithDropout", 52_650, 52_650, 0),
        ("batchnorm", "WithBatchNorm", 53_034, 52_842, 192),
        ("leaky_relu", "WithLeakyRelu", 53_034, 52_842, 192),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook");
    for (file, name, total, trainable, non_trainable) in cases {
        let source = std::fs::read_to_string(dir.join(format!("{file}.mlp"))).expect("spec exists");
        let spec = compile(&source);
        assert_eq!(spec.models.len(), 1, "{file}");
        let m = &spec.models[0];
        assert_eq!(m.name, name);
        assert_eq!(
            (m.params.total, m.params.trainable, m.params.non_trainable),
            (total, trainable, non_trainable),
            "{file}"
        );
        assert_eq!(m.input, [28, 28], "{file}: raw 28×28 input, no rescaling");
        assert_eq!(m.train.optimizer, Optimizer::default(), "{file}");
        assert_eq!(
            m.train.loss,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            "{file}"
        );
        assert_eq!(m.train.metrics, [Metric::Accuracy], "{file}");
        assert_eq!((m.train.batch, m.train.epochs), (32, 10), "{file}");
        assert!(!m.doc.is_empty(), "{file}: documented");
        assert_eq!(
            mlp_spec::format_source(&source).as_deref(),
            Ok(source.as_str()),
            "{file} is formatted"
        );
    }
}

#[test]
fn the_notebook_hyper_parameters_are_faithful() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook");
    let load = |f: &str| {
        compile(&std::fs::read_to_string(dir.join(f)).expect("spec exists"))
            .models
            .remove(0)
    };
    let dense = |m: &mlp_spec::ir::Model, i: usize| match &m.layers[i].kind {
        LayerKind::Dense(d) => d.clone(),
        other => panic!("layer {i} of {} is {other:?}", m.name),
    };
    let normal = Initializer::Normal {
        mean: 0.0,
        stddev: 0.05,
    };
    let he = load("he_normal.mlp");
    assert_eq!(dense(&he, 1).kernel_init, Initializer::HeNormal);
    assert_eq!(dense(&he, 2).kernel_init, Initializer::GlorotUniform);
    let l2 = load("l2.mlp");
    assert_eq!(dense(&l2, 1).kernel_init, normal);
    assert_eq!(
        dense(&l2, 2).kernel_reg,
        Some(Regularizer { l1: 0.0, l2: 0.001 })
    );
    assert_eq!(dense(&l2, 3).kernel_reg, None);
    let l1 = load("l1.mlp");
    assert_eq!(
        dense(&l1, 1).kernel_reg,
        Some(Regularizer { l1: 0.001, l2: 0.0 })
    );
    let drop = load("dropout.mlp");
    assert_eq!(
        dense(&drop, 1).kernel_reg,
        Some(Regularizer { l1: 0.01, l2: 0.0 })
    );
    assert_eq!(drop.layers[2].kind, LayerKind::Dropout { rate: 0.2 });
    let bn = load("batchnorm.mlp");
    assert_eq!(dense(&bn, 1).activation, Activation::Relu);
    assert_eq!(
        bn.layers[2].kind,
        LayerKind::BatchNorm(BatchNorm {
            momentum: 0.99,
            epsilon: 1e-3
        })
    );
    let leaky = load("leaky_relu.mlp");
    assert_eq!(dense(&leaky, 1).activation, Activation::Linear);
    assert_eq!(leaky.layers[3].kind, LayerKind::LeakyRelu { slope: 0.2 });
}

#[test]
fn keras_defaults_are_filled_in() {
    let spec = compile("model M { input [4] LeakyReLU Dense(2, activation = softmax) }");
    let m = &spec.models[0];
    let LayerKind::Dense(d) = &m.layers[1].kind else {
        panic!("dense")
    };
    assert_eq!(d.kernel_init, Initializer::GlorotUniform);
    assert_eq!(d.bias_init, Initializer::Zeros);
    assert_eq!((d.kernel_reg, d.bias_reg, d.use_bias), (None, None, true));
    assert_eq!(m.layers[0].kind, LayerKind::LeakyRelu { slope: 0.3 });
    let t = &m.train;
    assert_eq!(t.optimizer, Optimizer::default());
    assert_eq!(
        t.loss,
        Loss::SparseCategoricalCrossentropy { from_logits: false }
    );
    assert_eq!(t.metrics, [Metric::Accuracy]);
    assert_eq!(
        (t.batch, t.epochs, t.seed, t.validation_split, t.shuffle),
        (32, 10, 0, None, true)
    );
}

/// The activation written as `activation = …` of a `Dense`, and as `Activation(…)`.
fn activation_of(act: &str) -> Activation {
    let spec = compile(&format!(
        "model M {{ input [4] Dense(3, activation = {act}) Activation({act}) Dense(2, activation = softmax) }}"
    ));
    let layers = &spec.models[0].layers;
    let LayerKind::Dense(d) = &layers[0].kind else {
        panic!("dense")
    };
    let LayerKind::Activation { activation, class } = layers[1].kind else {
        panic!("activation layer")
    };
    assert_eq!(
        d.activation, activation,
        "{act}: Dense and Activation agree"
    );
    assert_eq!(class, ActivationClass::Generic);
    activation
}

#[test]
fn activations_with_their_keras_defaults_and_aliases() {
    for (written, want) in [
        ("linear", Activation::Linear),
        ("relu", Activation::Relu),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("softmax", Activation::Softmax),
        ("elu", Activation::Elu { alpha: 1.0 }),
        ("elu(0.5)", Activation::Elu { alpha: 0.5 }),
        ("elu(alpha = -0.5)", Activation::Elu { alpha: -0.5 }),
        ("selu", Activation::Selu),
        ("selu()", Activation::Selu),
        ("gelu", Activation::Gelu { approximate: false }),
        (
            "gelu(approximate = true)",
            Activation::Gelu { approximate: true },
        ),
        ("silu", Activation::Silu),
        ("swish", Activation::Silu),
        ("softplus", Activation::Softplus),
        (
            "leaky_relu",
            Activation::LeakyRelu {
                negative_slope: 0.2,
            },
        ),
        (
            "leaky_relu(negative_slope = 0.1)",
            Activation::LeakyRelu {
                negative_slope: 0.1,
            },
        ),
    ] {
        assert_eq!(activation_of(written), want, "{written}");
    }
    // A `let` may name a called activation.
    let spec = compile("let act = elu(0.25)\nmodel M { input [4] Activation(act) Softmax }");
    assert_eq!(
        spec.models[0].layers[0].kind,
        LayerKind::Activation {
            activation: Activation::Elu { alpha: 0.25 },
            class: ActivationClass::Generic
        }
    );
}

/// Keras's classes and names: `ReLU` and `Softmax` have classes of their own, written
/// `Activation(relu)` they are `Activation` layers, numbered with the sigmoid and tanh ones.
#[test]
fn activation_layers_are_named_and_classed_as_keras_does() {
    check(
        "model M { input [3] ReLU Activation(relu) Sigmoid Activation(gelu) Tanh Softmax Activation(softmax) }",
        "M [3]
         re_lu [3] 0+0
         activation [3] 0+0
         activation_1 [3] 0+0
         activation_2 [3] 0+0
         activation_3 [3] 0+0
         softmax [3] 0+0
         activation_4 [3] 0+0
         total 0 = 0 + 0",
    );
    let spec = compile(
        "model M { input [3] ReLU Activation(relu) Activation(swish) Softmax Activation(softmax) }",
    );
    let classes: Vec<&str> = spec.models[0]
        .layers
        .iter()
        .map(mlp_spec::ir::Layer::keras_class)
        .collect();
    assert_eq!(
        classes,
        ["ReLU", "Activation", "Activation", "Softmax", "Activation"]
    );
}

/// The kernel initialiser written as `init = …` in a one-layer model.
fn init_of(init: &str) -> Initializer {
    let spec = compile(&format!(
        "model M {{ input [4] Dense(2, init = {init}, activation = softmax) }}"
    ));
    match &spec.models[0].layers[0].kind {
        LayerKind::Dense(d) => d.kernel_init,
        other => panic!("{other:?}"),
    }
}

/// The kernel regulariser written as `reg = …`.
fn reg_of(reg: &str) -> Option<Regularizer> {
    let spec = compile(&format!(
        "model M {{ input [4] Dense(2, reg = {reg}, activation = softmax) }}"
    ));
    match &spec.models[0].layers[0].kind {
        LayerKind::Dense(d) => d.kernel_reg,
        other => panic!("{other:?}"),
    }
}

#[test]
fn initialisers_with_their_keras_defaults_and_aliases() {
    let cases = [
        ("zeros", Initializer::Zeros),
        ("ones", Initializer::Ones),
        ("constant(0.5)", Initializer::Constant(0.5)),
        (
            "uniform",
            Initializer::Uniform {
                min: -0.05,
                max: 0.05,
            },
        ),
        (
            "uniform(-0.1, 0.1)",
            Initializer::Uniform {
                min: -0.1,
                max: 0.1,
            },
        ),
        (
            "random_uniform(maxval = 1)",
            Initializer::Uniform {
                min: -0.05,
                max: 1.0,
            },
        ),
        (
            "normal",
            Initializer::Normal {
                mean: 0.0,
                stddev: 0.05,
            },
        ),
        (
            "normal(stddev = 0.01)",
            Initializer::Normal {
                mean: 0.0,
                stddev: 0.01,
            },
        ),
        (
            "truncated_normal(1, 2)",
            Initializer::TruncatedNormal {
                mean: 1.0,
                stddev: 2.0,
            },
        ),
        ("glorot_uniform", Initializer::GlorotUniform),
        ("xavier_uniform", Initializer::GlorotUniform),
        ("glorot_normal", Initializer::GlorotNormal),
        ("xavier_normal", Initializer::GlorotNormal),
        ("he_normal", Initializer::HeNormal),
        ("he_uniform", Initializer::HeUniform),
        ("lecun_normal", Initializer::LecunNormal),
        ("lecun_uniform", Initializer::LecunUniform),
    ];
    for (text, want) in cases {
        assert_eq!(init_of(text), want, "{text}");
    }
}

#[test]
fn regularisers_with_their_keras_defaults() {
    let cases = [
        ("l1", Regularizer { l1: 0.01, l2: 0.0 }),
        ("l2", Regularizer { l1: 0.0, l2: 0.01 }),
        ("l1(0.5)", Regularizer { l1: 0.5, l2: 0.0 }),
        ("l2(l2 = 0.25)", Regularizer { l1: 0.0, l2: 0.25 }),
        ("l1_l2", Regularizer { l1: 0.0, l2: 0.0 }),
        (
            "l1_l2(l1 = 0.1, l2 = 0.2)",
            Regularizer { l1: 0.1, l2: 0.2 },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(reg_of(text), Some(want), "{text}");
    }
}

#[test]
fn optimisers_losses_and_metrics() {
    let train = |block: &str, head: &str| {
        compile(&format!(
            "model M {{ input [4] {head} train {{ {block} }} }}"
        ))
        .models
        .remove(0)
        .train
    };
    let softmax = "Dense(3, activation = softmax)";
    assert_eq!(
        train("optimizer = sgd", softmax).optimizer,
        Optimizer {
            kind: OptimizerKind::Sgd {
                momentum: 0.0,
                nesterov: false
            },
            learning_rate: LearningRate::Constant(0.01),
            weight_decay: None,
            clip: None
        }
    );
    assert_eq!(
        train(
            "optimizer = sgd(0.1, momentum = 0.9, nesterov = true)",
            softmax
        )
        .optimizer,
        Optimizer {
            kind: OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: true
            },
            learning_rate: LearningRate::Constant(0.1),
            weight_decay: None,
            clip: None
        }
    );
    assert_eq!(
        train("optimizer = rmsprop", softmax).optimizer,
        Optimizer {
            kind: OptimizerKind::RmsProp {
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
                centered: false
            },
            learning_rate: LearningRate::Constant(0.001),
            weight_decay: None,
            clip: None
        }
    );
    assert_eq!(
        train(
            "optimizer = adam(learning_rate = 0.01, beta_1 = 0.8)",
            softmax
        )
        .optimizer,
        Optimizer {
            kind: OptimizerKind::Adam {
                beta1: 0.8,
                beta2: 0.999,
                epsilon: 1e-7,
                amsgrad: false
            },
            learning_rate: LearningRate::Constant(0.01),
            weight_decay: None,
            clip: None
        }
    );
    assert_eq!(
        train("loss = categorical_crossentropy", softmax).loss,
        Loss::CategoricalCrossentropy { from_logits: false }
    );
    assert_eq!(train("loss = mse", "Dense(1)").loss, Loss::MeanSquaredError);
    assert_eq!(
        train("loss = mean_squared_error", "Dense(1)").loss,
        Loss::MeanSquaredError
    );
    assert_eq!(
        train(
            "loss = binary_crossentropy",
            "Dense(1, activation = sigmoid)"
        )
        .loss,
        Loss::BinaryCrossentropy { from_logits: false }
    );
    assert_eq!(
        train("metrics = [acc]", softmax).metrics,
        [Metric::Accuracy]
    );
    assert_eq!(train("metrics = []", softmax).metrics, []);
    let t = train(
        "batch_size = 8, epochs = 3, seed = 42, validation_split = 0.2, shuffle = false",
        softmax,
    );
    assert_eq!(
        (t.batch, t.epochs, t.seed, t.validation_split, t.shuffle),
        (8, 3, 42, Some(0.2), false)
    );
}

#[test]
fn layout_does_not_matter_and_lets_substitute() {
    let multi = "let r = l2(0.001)\n\n/// Doc line one.\n///\n///Two.\nmodel M {\n    input [28, 28]\n    Flatten\n    Dense(64, reg = r, activation = relu)\n    Dense(10, activation = softmax)\n    train {\n        optimizer = adam(lr = 0.001)\n        epochs = 2\n    }\n}\n";
    let one_line = "let r = l2(0.001) /// Doc line one.\n///\n///Two.\nmodel M { input [28, 28], Flatten, Dense(64, reg = r, activation = relu), Dense(10, activation = softmax), train { optimizer = adam(lr = 0.001), epochs = 2 } }";
    let mut a = compile(multi);
    let mut b = compile(one_line);
    assert_eq!(a.models[0].doc, ["Doc line one.", "", "Two."]);
    assert_eq!(a.models[0].line, 6);
    assert_eq!(a.models[0].layers[1].line, 9);
    for spec in [&mut a, &mut b] {
        for m in &mut spec.models {
            m.line = 0;
            for l in &mut m.layers {
                l.line = 0;
            }
        }
    }
    assert_eq!(a, b);
}

#[test]
fn formatting_is_canonical_keeps_comments_and_is_idempotent() {
    let messy = "// header\n\nlet r=l2( 0.001 ) // trailing\nmodel   M{input[4] Dense(2,reg=r,\n  // inside\n  activation=softmax)train{epochs=1,batch=2}\n// before close\n}";
    // An own-line comment goes above the next printed line: `// inside` above `train`,
    // `// before close` above the model's `}`, indented as the body.
    let want = "// header\n\nlet r = l2(0.001) // trailing\n\nmodel M {\n    input [4]\n    Dense(2, reg = r, activation = softmax)\n\n    // inside\n    train {\n        epochs = 1\n        batch = 2\n    }\n    // before close\n}\n";
    let formatted = mlp_spec::format_source(messy).expect("valid syntax");
    assert_eq!(formatted, want);
    assert_eq!(mlp_spec::format_source(&formatted).as_deref(), Ok(want));
}

/// The `train` block of a one-model spec with `head` as its only layer.
fn train_of(block: &str, head: &str) -> mlp_spec::ir::TrainConfig {
    compile(&format!(
        "model M {{ input [4] {head} train {{ {block} }} }}"
    ))
    .models
    .remove(0)
    .train
}

#[test]
fn losses_with_their_keras_defaults_and_arguments() {
    let softmax = "Dense(3, activation = softmax)";
    let sigmoid = "Dense(1, activation = sigmoid)";
    let linear3 = "Dense(3)";
    let linear1 = "Dense(1)";
    let cases = [
        (
            "sparse_categorical_crossentropy",
            softmax,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
        ),
        (
            "sparse_categorical_crossentropy(from_logits = true)",
            linear3,
            Loss::SparseCategoricalCrossentropy { from_logits: true },
        ),
        (
            "categorical_crossentropy(from_logits = false)",
            softmax,
            Loss::CategoricalCrossentropy { from_logits: false },
        ),
        (
            "categorical_crossentropy(true)",
            linear3,
            Loss::CategoricalCrossentropy { from_logits: true },
        ),
        (
            "binary_crossentropy",
            sigmoid,
            Loss::BinaryCrossentropy { from_logits: false },
        ),
        (
            "binary_crossentropy(from_logits = true)",
            linear1,
            Loss::BinaryCrossentropy { from_logits: true },
        ),
        ("mse()", linear1, Loss::MeanSquaredError),
        ("mean_squared_error", linear1, Loss::MeanSquaredError),
        ("mae", linear1, Loss::MeanAbsoluteError),
        ("mean_absolute_error", linear1, Loss::MeanAbsoluteError),
        ("huber", linear1, Loss::Huber { delta: 1.0 }),
        ("huber(delta = 0.5)", linear1, Loss::Huber { delta: 0.5 }),
        ("huber(2)", linear1, Loss::Huber { delta: 2.0 }),
    ];
    for (written, head, want) in cases {
        assert_eq!(
            train_of(&format!("loss = {written}"), head).loss,
            want,
            "{written}"
        );
    }
    // A `let` may name a called loss.
    let spec =
        compile("let l = huber(delta = 0.25)\nmodel M { input [4] Dense(1) train { loss = l } }");
    assert_eq!(spec.models[0].train.loss, Loss::Huber { delta: 0.25 });
}

#[test]
fn metrics_with_their_keras_defaults_and_arguments() {
    let sigmoid = "Dense(1, activation = sigmoid) train { loss = binary_crossentropy, ";
    let cases: [(&str, &str, Metric); 17] = [
        ("accuracy", sigmoid, Metric::Accuracy),
        ("acc", sigmoid, Metric::Accuracy),
        (
            "binary_accuracy",
            sigmoid,
            Metric::BinaryAccuracy { threshold: 0.5 },
        ),
        (
            "binary_accuracy(threshold = 0.7)",
            sigmoid,
            Metric::BinaryAccuracy { threshold: 0.7 },
        ),
        ("precision", sigmoid, Metric::Precision { threshold: 0.5 }),
        (
            "precision(thresholds = 0.25)",
            sigmoid,
            Metric::Precision { threshold: 0.25 },
        ),
        (
            "precision(threshold = 0.75)",
            sigmoid,
            Metric::Precision { threshold: 0.75 },
        ),
        ("recall", sigmoid, Metric::Recall { threshold: 0.5 }),
        ("recall(0.1)", sigmoid, Metric::Recall { threshold: 0.1 }),
        (
            "auc",
            sigmoid,
            Metric::Auc {
                num_thresholds: 200,
            },
        ),
        (
            "auc(num_thresholds = 50)",
            sigmoid,
            Metric::Auc { num_thresholds: 50 },
        ),
        (
            "sparse_categorical_accuracy",
            "Dense(3, activation = softmax) train { ",
            Metric::SparseCategoricalAccuracy,
        ),
        (
            "categorical_accuracy",
            "Dense(3, activation = softmax) train { loss = categorical_crossentropy, ",
            Metric::CategoricalAccuracy,
        ),
        (
            "mae",
            "Dense(1) train { loss = mse, ",
            Metric::MeanAbsoluteError,
        ),
        (
            "mean_squared_error",
            "Dense(1) train { loss = mse, ",
            Metric::MeanSquaredError,
        ),
        (
            "rmse",
            "Dense(1) train { loss = mae, ",
            Metric::RootMeanSquaredError,
        ),
        (
            "root_mean_squared_error",
            "Dense(1) train { loss = huber, ",
            Metric::RootMeanSquaredError,
        ),
    ];
    for (written, head, want) in cases {
        let spec = compile(&format!(
            "model M {{ input [4] {head} metrics = [{written}] }} }}"
        ));
        assert_eq!(spec.models[0].train.metrics, [want], "{written}");
    }
    // Several at once, in the order written; one metric without brackets.
    let spec = compile(&format!(
        "model M {{ input [4] {sigmoid} metrics = [accuracy, auc, precision, recall] }} }}"
    ));
    assert_eq!(
        spec.models[0].train.metrics,
        [
            Metric::Accuracy,
            Metric::Auc {
                num_thresholds: 200
            },
            Metric::Precision { threshold: 0.5 },
            Metric::Recall { threshold: 0.5 },
        ]
    );
    let spec = compile(&format!(
        "model M {{ input [4] {sigmoid} metrics = auc(100) }} }}"
    ));
    assert_eq!(
        spec.models[0].train.metrics,
        [Metric::Auc {
            num_thresholds: 100
        }]
    );
}

#[test]
fn metrics_have_kerass_history_names() {
    let cases = [
        (Metric::Accuracy, "accuracy"),
        (Metric::BinaryAccuracy { threshold: 0.5 }, "binary_accuracy"),
        (Metric::CategoricalAccuracy, "categorical_accuracy"),
        (
            Metric::SparseCategoricalAccuracy,
            "sparse_categorical_accuracy",
        ),
        (Metric::MeanAbsoluteError, "mae"),
        (Metric::MeanSquaredError, "mse"),
        (Metric::RootMeanSquaredError, "root_mean_squared_error"),
        (Metric::Precision { threshold: 0.3 }, "precision"),
        (Metric::Recall { threshold: 0.3 }, "recall"),
        (Metric::Auc { num_thresholds: 7 }, "auc"),
    ];
    for (metric, name) in cases {
        assert_eq!(metric.keras_name(), name, "{metric:?}");
    }
}

/// Keras's argument names are accepted beside mlp's short ones, and mean the same.
#[test]
fn keras_argument_names_are_accepted() {
    let ir = |layers: &str, train: &str| {
        let mut spec = compile(&format!(
            "model M {{\n input [28, 28]\n {layers}\n train {{ {train} }}\n}}"
        ));
        let m = &mut spec.models[0];
        m.line = 0;
        for l in &mut m.layers {
            l.line = 0;
        }
        spec
    };
    let pairs = [
        (
            ("Flatten Dense(8, init = he_normal, bias_init = ones, reg = l2, bias_reg = l1, use_bias = true) Dense(2, activation = softmax)", ""),
            ("Flatten Dense(8, kernel_initializer = he_normal, bias_initializer = ones, kernel_regularizer = l2, bias_regularizer = l1, use_bias = true) Dense(2, activation = softmax)", ""),
        ),
        (
            ("Flatten Dense(4) BatchNorm LeakyReLU(slope = 0.2) Dropout(0.5) Dense(2, activation = leaky_relu(negative_slope = 0.1)) Softmax", "optimizer = adam(lr = 0.01), batch = 8"),
            ("Flatten Dense(4) BatchNormalization LeakyReLU(alpha = 0.2) Dropout(rate = 0.5) Dense(2, activation = leaky_relu(alpha = 0.1)) Softmax", "optimizer = adam(learning_rate = 0.01), batch_size = 8"),
        ),
        (
            ("Rescale(0.5) Flatten LeakyReLU(negative_slope = 0.3) Dense(2, activation = softmax)", ""),
            ("Rescaling(scale = 0.5) Flatten LeakyReLU Dense(2, activation = softmax)", ""),
        ),
    ];
    for ((a_layers, a_train), (b_layers, b_train)) in pairs {
        assert_eq!(ir(a_layers, a_train), ir(b_layers, b_train), "{b_layers}");
    }
}

#[test]
fn normalization_keeps_the_shape_and_counts_its_statistics() {
    // mean and variance [features] plus the scalar count, all non-trainable: 2·4 + 1.
    check(
        "model M { input [4] Normalization() Dense(16, activation = relu) Dense(3, activation = softmax) }",
        "M [4]
         normalization [4] 0+9
         dense [16] 80+0
         dense_1 [3] 51+0
         total 140 = 131 + 9",
    );
    // The last axis is the one normalised; Flatten and Rescale may come first.
    check(
        "model M { input [3, 5] Rescale(1 / 255) Normalization(axis = -1) Flatten Dense(2, activation = softmax) }",
        "M [3, 5]
         rescaling [3, 5] 0+0
         normalization [3, 5] 0+11
         flatten [15] 0+0
         dense [2] 32+0
         total 43 = 32 + 11",
    );
    check(
        "model M { input [3, 5] Flatten Normalization Dense(2, activation = softmax) }",
        "M [3, 5]
         flatten [15] 0+0
         normalization [15] 0+31
         dense [2] 32+0
         total 63 = 32 + 31",
    );
    let spec =
        compile("model M { input [3, 5] Normalization Flatten Dense(2, activation = softmax) }");
    let layer = &spec.models[0].layers[0];
    assert_eq!(layer.kind, LayerKind::Normalization { features: 5 });
    assert_eq!(layer.keras_class(), "Normalization");
    let layout = mlp_spec::layout::ParamLayout::new(&spec.models[0]);
    let state: Vec<(&str, usize, &[usize], bool)> = layout
        .tensors
        .iter()
        .map(|t| (t.name.as_str(), t.offset, t.shape.as_slice(), t.trainable))
        .collect();
    assert_eq!(
        state,
        [
            ("normalization.mean", 0, &[5][..], false),
            ("normalization.variance", 5, &[5][..], false),
            ("normalization.count", 10, &[][..], false),
            ("dense.kernel", 0, &[15, 2][..], true),
            ("dense.bias", 30, &[2][..], true),
        ]
    );
    assert_eq!((layout.state_len, layout.trainable_len), (11, 32));
    let inits: Vec<Initializer> = layout.tensors[..3].iter().map(|t| t.init).collect();
    assert_eq!(
        inits,
        [Initializer::Zeros, Initializer::Ones, Initializer::Zeros]
    );
}

#[test]
fn the_tabular_examples_compile_as_written() {
    let source = include_str!("../../specs/examples/tabular.mlp");
    let spec = compile(source);
    let names: Vec<&str> = spec.models.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Iris", "Housing", "Binary"]);
    let housing = &spec.models[1].train;
    assert_eq!(
        (housing.loss, housing.metrics.as_slice()),
        (Loss::MeanSquaredError, &[Metric::MeanAbsoluteError][..])
    );
    let binary = &spec.models[2].train;
    assert_eq!(binary.loss, Loss::BinaryCrossentropy { from_logits: false });
    assert_eq!(binary.metrics.len(), 4);
    for m in &spec.models {
        assert!(matches!(m.layers[0].kind, LayerKind::Normalization { .. }));
    }
    assert_eq!(
        mlp_spec::format_source(source).as_deref(),
        Ok(source),
        "tabular.mlp is formatted"
    );
}
