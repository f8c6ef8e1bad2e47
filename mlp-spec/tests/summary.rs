//! `summary` over hand-built IR values, against tables written out by hand: the Keras 3
//! reference tables (`../shared/reference/keras_summaries.txt`, with Keras's
//! process-numbered layer names reset to a fresh model's) and a few layouts worked out
//! from the same rules (wrapping, units, every layer class).

use mlp_spec::ir::{
    Activation, ActivationClass, BatchNorm, Dense, Initializer, Layer, LayerKind, Loss, Metric,
    Model, Optimizer, ParamCounts, TrainConfig,
};
use mlp_spec::summary::summary;

/// Checks that `model` renders exactly as `expected`.
fn check(model: &Model, expected: &str) {
    let actual = summary(model);
    assert_eq!(
        actual, expected,
        "\n--- actual ---\n{actual}\n--- expected ---\n{expected}"
    );
}

fn counts(trainable: usize, non_trainable: usize) -> ParamCounts {
    ParamCounts {
        total: trainable + non_trainable,
        trainable,
        non_trainable,
    }
}

fn layer(
    name: &str,
    kind: LayerKind,
    input: &[usize],
    output: &[usize],
    params: ParamCounts,
) -> Layer {
    Layer {
        name: name.to_owned(),
        kind,
        input_shape: input.to_vec(),
        output_shape: output.to_vec(),
        params,
        line: 1,
    }
}

fn flatten(name: &str, input: &[usize]) -> Layer {
    let size = input.iter().product::<usize>();
    layer(name, LayerKind::Flatten, input, &[size], counts(0, 0))
}

fn dense(name: &str, inputs: usize, units: usize, activation: Activation) -> Layer {
    let kind = LayerKind::Dense(Dense {
        units,
        activation,
        kernel_init: Initializer::GlorotUniform,
        bias_init: Initializer::Zeros,
        kernel_reg: None,
        bias_reg: None,
        use_bias: true,
    });
    layer(
        name,
        kind,
        &[inputs],
        &[units],
        counts(inputs * units + units, 0),
    )
}

fn batch_norm(name: &str, features: usize) -> Layer {
    let kind = LayerKind::BatchNorm(BatchNorm {
        momentum: 0.99,
        epsilon: 1e-3,
    });
    layer(
        name,
        kind,
        &[features],
        &[features],
        counts(2 * features, 2 * features),
    )
}

fn parameterless(name: &str, kind: LayerKind, features: usize) -> Layer {
    layer(name, kind, &[features], &[features], counts(0, 0))
}

fn model(name: &str, input: &[usize], layers: Vec<Layer>) -> Model {
    let trainable = layers.iter().map(|l| l.params.trainable).sum();
    let non_trainable = layers.iter().map(|l| l.params.non_trainable).sum();
    Model {
        name: name.to_owned(),
        doc: Vec::new(),
        line: 1,
        input: input.to_vec(),
        layers,
        train: TrainConfig {
            optimizer: Optimizer::default(),
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            metrics: vec![Metric::Accuracy],
            batch: 32,
            epochs: 10,
            seed: 0,
            validation_split: None,
            shuffle: true,
            callbacks: Vec::new(),
            class_weight: None,
        },
        params: counts(trainable, non_trainable),
    }
}

#[test]
fn baseline_matches_keras() {
    let baseline = model(
        "Baseline",
        &[28, 28],
        vec![
            flatten("flatten", &[28, 28]),
            dense("dense", 784, 64, Activation::Relu),
            dense("dense_1", 64, 32, Activation::Relu),
            dense("dense_2", 32, 10, Activation::Softmax),
        ],
    );
    check(
        &baseline,
        r#"Model: "Baseline"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ flatten (Flatten)               │ (None, 784)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 64)             │        50,240 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 32)             │         2,080 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 10)             │           330 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 52,650 (205.66 KB)
 Trainable params: 52,650 (205.66 KB)
 Non-trainable params: 0 (0.00 B)
"#,
    );
}

#[test]
fn dropout_matches_keras() {
    let with_dropout = model(
        "WithDropout",
        &[28, 28],
        vec![
            flatten("flatten", &[28, 28]),
            dense("dense", 784, 64, Activation::Relu),
            parameterless("dropout", LayerKind::Dropout { rate: 0.3 }, 64),
            dense("dense_1", 64, 32, Activation::Relu),
            parameterless("dropout_1", LayerKind::Dropout { rate: 0.3 }, 32),
            dense("dense_2", 32, 10, Activation::Softmax),
        ],
    );
    check(
        &with_dropout,
        r#"Model: "WithDropout"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ flatten (Flatten)               │ (None, 784)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 64)             │        50,240 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 64)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 32)             │         2,080 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout_1 (Dropout)             │ (None, 32)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 10)             │           330 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 52,650 (205.66 KB)
 Trainable params: 52,650 (205.66 KB)
 Non-trainable params: 0 (0.00 B)
"#,
    );
}

#[test]
fn leaky_relu_with_batch_norm_matches_keras() {
    let with_leaky_relu = model(
        "WithLeakyRelu",
        &[28, 28],
        vec![
            flatten("flatten", &[28, 28]),
            dense("dense", 784, 64, Activation::Linear),
            batch_norm("batch_normalization", 64),
            parameterless("leaky_re_lu", LayerKind::LeakyRelu { slope: 0.2 }, 64),
            dense("dense_1", 64, 32, Activation::Linear),
            batch_norm("batch_normalization_1", 32),
            parameterless("leaky_re_lu_1", LayerKind::LeakyRelu { slope: 0.2 }, 32),
            dense("dense_2", 32, 10, Activation::Softmax),
        ],
    );
    check(
        &with_leaky_relu,
        r#"Model: "WithLeakyRelu"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ flatten (Flatten)               │ (None, 784)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 64)             │        50,240 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ batch_normalization             │ (None, 64)             │           256 │
│ (BatchNormalization)            │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ leaky_re_lu (LeakyReLU)         │ (None, 64)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 32)             │         2,080 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ batch_normalization_1           │ (None, 32)             │           128 │
│ (BatchNormalization)            │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ leaky_re_lu_1 (LeakyReLU)       │ (None, 32)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 10)             │           330 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 53,034 (207.16 KB)
 Trainable params: 52,842 (206.41 KB)
 Non-trainable params: 192 (768.00 B)
"#,
    );
}

/// Every layer class, a multi-dimensional output shape, a name longer than its column
/// (cut into pieces, as `rich` folds it) and sizes in MB. Worked out by hand: `dense` has
/// 784·1024 + 1024 = 803,840 parameters, the `BatchNorm` 2,048 trainable and 2,048
/// non-trainable, `dense_1` 1024·10 + 10 = 10,250; total 818,186 · 4 = 3,272,744 bytes
/// = 3.121… MB, trainable 816,138 · 4 = 3,264,552 bytes = 3.113… MB, non-trainable
/// 2,048 · 4 = 8,192 bytes = 8.00 KB.
#[test]
fn every_layer_class_and_large_counts() {
    let wide = model(
        "Wide",
        &[28, 28],
        vec![
            layer(
                "rescaling",
                LayerKind::Rescale {
                    scale: 1.0 / 255.0,
                    offset: 0.0,
                },
                &[28, 28],
                &[28, 28],
                counts(0, 0),
            ),
            flatten("flatten", &[28, 28]),
            dense("dense", 784, 1024, Activation::Linear),
            batch_norm("batch_normalization", 1024),
            parameterless(
                "re_lu",
                LayerKind::Activation {
                    activation: Activation::Relu,
                    class: ActivationClass::Dedicated,
                },
                1024,
            ),
            parameterless(
                "an_extraordinarily_long_layer_name",
                LayerKind::Activation {
                    activation: Activation::Tanh,
                    class: ActivationClass::Generic,
                },
                1024,
            ),
            dense("dense_1", 1024, 10, Activation::Linear),
            parameterless(
                "softmax",
                LayerKind::Activation {
                    activation: Activation::Softmax,
                    class: ActivationClass::Dedicated,
                },
                10,
            ),
        ],
    );
    check(
        &wide,
        r#"Model: "Wide"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ rescaling (Rescaling)           │ (None, 28, 28)         │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 784)            │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 1024)           │       803,840 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ batch_normalization             │ (None, 1024)           │         4,096 │
│ (BatchNormalization)            │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ re_lu (ReLU)                    │ (None, 1024)           │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ an_extraordinarily_long_layer_n │ (None, 1024)           │             0 │
│ ame (Activation)                │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │        10,250 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ softmax (Softmax)               │ (None, 10)             │             0 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 818,186 (3.12 MB)
 Trainable params: 816,138 (3.11 MB)
 Non-trainable params: 2,048 (8.00 KB)
"#,
    );
}

/// From a spec: Keras prints a stand-alone `ReLU()` as class `ReLU` named `re_lu`, and
/// `Activation("relu")` or any other activation as class `Activation` named `activation`.
#[test]
fn activation_layers_from_a_spec_print_as_keras_does() {
    let spec = mlp_spec::compile(
        "model M { input [4] ReLU Activation(relu) Activation(gelu) Softmax Activation(softmax) }",
    )
    .expect("compiles");
    let table = summary(&spec.models[0]);
    for row in [
        "│ re_lu (ReLU)                    │ (None, 4)              │             0 │",
        "│ activation (Activation)         │ (None, 4)              │             0 │",
        "│ activation_1 (Activation)       │ (None, 4)              │             0 │",
        "│ softmax (Softmax)               │ (None, 4)              │             0 │",
        "│ activation_2 (Activation)       │ (None, 4)              │             0 │",
    ] {
        assert!(table.contains(row), "no row {row} in\n{table}");
    }
}

/// A `Normalization` layer as Keras 3 prints it: its mean and variance (`[features]`,
/// float32) and its count (a scalar that Keras's TensorFlow backend stores as int64, 8
/// bytes) are 2·4 + 1 = 9 non-trainable parameters of 4·4 + 4·4 + 8 = 40 bytes. The
/// trainable ones: 4·16 + 16 + 16·3 + 3 = 131, 524 bytes.
#[test]
fn normalization_prints_as_keras_does() {
    let spec = mlp_spec::compile(
        "model Iris { input [4] Normalization Dense(16, activation = relu) Dense(3, activation = softmax) }",
    )
    .expect("compiles");
    check(
        &spec.models[0],
        r#"Model: "Iris"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ normalization (Normalization)   │ (None, 4)              │             9 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 16)             │            80 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 3)              │            51 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 140 (564.00 B)
 Trainable params: 131 (524.00 B)
 Non-trainable params: 9 (40.00 B)
"#,
    );
}
