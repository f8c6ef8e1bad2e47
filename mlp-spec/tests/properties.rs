//! Property tests: random valid specs compile, their parameter counts follow the per-layer
//! formulas, and printing (`format_source`) then re-parsing leaves the IR unchanged.

use mlp_spec::ir::Spec;
use proptest::prelude::*;

/// A generated layer, with what the test itself knows about it.
#[derive(Debug, Clone)]
enum Gen {
    Dense {
        units: usize,
        /// How the units are written: `0` a literal, `1` `(u + 1) - 1`, `2` `2u / 2`.
        written: u8,
        extra: String,
        bias: bool,
    },
    Dropout(&'static str),
    BatchNorm(String),
    LeakyRelu(&'static str),
    Plain(&'static str),
}

impl Gen {
    fn source(&self) -> String {
        match self {
            Gen::Dense {
                units,
                written,
                extra,
                bias,
            } => {
                let bias = if *bias { "" } else { ", use_bias = false" };
                let units = match written {
                    0 => units.to_string(),
                    1 => format!("({units} + 1) - 1"),
                    _ => format!("{} / 2", 2 * units),
                };
                format!("Dense({units}{extra}{bias})")
            }
            Gen::Dropout(r) => format!("Dropout({r})"),
            Gen::BatchNorm(args) => format!("BatchNorm{args}"),
            Gen::LeakyRelu(s) => format!("LeakyReLU({s})"),
            Gen::Plain(name) => (*name).to_owned(),
        }
    }
}

fn dense() -> impl Strategy<Value = Gen> {
    let act = prop::sample::select(vec![
        "",
        ", activation = relu",
        ", activation = tanh",
        ", activation = sigmoid",
        ", activation = linear",
    ]);
    let init = prop::sample::select(vec![
        "",
        ", init = he_normal",
        ", init = normal(stddev = 0.01)",
        ", init = uniform(-0.1, 0.1)",
        ", init = xavier_uniform",
        ", bias_init = ones",
    ]);
    let reg = prop::sample::select(vec![
        "",
        ", reg = l2",
        ", reg = l1(0.001)",
        ", reg = l1_l2(l1 = 0.01, l2 = 0.02)",
        ", bias_reg = l2(1e-4)",
    ]);
    (1usize..24, 0u8..3, act, init, reg, any::<bool>()).prop_map(
        |(units, written, a, i, r, bias)| Gen::Dense {
            units,
            written,
            extra: format!("{a}{i}{r}"),
            bias,
        },
    )
}

fn middle() -> impl Strategy<Value = Gen> {
    prop_oneof![
        3 => dense(),
        1 => prop::sample::select(vec!["0", "0.1", "0.25", "0.5", "1 / 4", "0.5 * (1 - 0.8)"]).prop_map(Gen::Dropout),
        1 => prop::sample::select(vec!["", "()", "(momentum = 0.9)", "(0.5, 1e-5)"]).prop_map(|a| Gen::BatchNorm(a.to_owned())),
        1 => prop::sample::select(vec!["0.2", "0.3", "1e-2"]).prop_map(Gen::LeakyRelu),
        1 => prop::sample::select(vec!["ReLU", "Sigmoid", "Tanh"]).prop_map(Gen::Plain),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    input: Vec<usize>,
    /// Whether a `Normalization` comes first.
    normalize: bool,
    layers: Vec<Gen>,
    out: usize,
    train: Option<String>,
    sep: &'static str,
}

fn case() -> impl Strategy<Value = Case> {
    let train = prop::option::of(prop::sample::select(vec![
        "optimizer = adam(lr = 0.01), epochs = 2",
        "optimizer = sgd(momentum = 0.9, nesterov = true)\n loss = categorical_crossentropy",
        "batch = 8 seed = 3 shuffle = false metrics = [acc]",
        "optimizer = rmsprop validation_split = 0.2",
    ]));
    (
        prop::collection::vec(1usize..10, 1..4),
        any::<bool>(),
        prop::collection::vec(middle(), 0..6),
        2usize..12,
        train,
        prop::sample::select(vec!["\n    ", " ", ", "]),
    )
        .prop_map(|(input, normalize, layers, out, train, sep)| Case {
            input,
            normalize,
            layers,
            out,
            train: train.map(str::to_owned),
            sep,
        })
}

impl Case {
    fn source(&self) -> String {
        let dims: Vec<String> = self.input.iter().map(ToString::to_string).collect();
        let mut items = vec![format!("input [{}]", dims.join(", "))];
        if self.normalize {
            items.push("Normalization".to_owned());
        }
        items.push("Flatten".to_owned());
        items.extend(self.layers.iter().map(Gen::source));
        items.push(format!("Dense({}, activation = softmax)", self.out));
        if let Some(t) = &self.train {
            items.push(format!("train {{ {t} }}"));
        }
        format!(
            "/// Generated.\nmodel Gen {{{}{}\n}}\n",
            self.sep,
            items.join(self.sep)
        )
    }

    /// (trainable, non-trainable) from Keras's per-layer formulas.
    fn expected_params(&self) -> (usize, usize) {
        let mut features: usize = self.input.iter().product();
        let (mut trainable, mut frozen) = (0, 0);
        if self.normalize {
            // mean and variance over the last axis, and the count.
            frozen += 2 * self.input.last().copied().unwrap_or(1) + 1;
        }
        for l in &self.layers {
            match l {
                Gen::Dense { units, bias, .. } => {
                    trainable += features * units + if *bias { units } else { &0 };
                    features = *units;
                }
                Gen::BatchNorm(_) => {
                    trainable += 2 * features;
                    frozen += 2 * features;
                }
                _ => {}
            }
        }
        trainable += features * self.out + self.out;
        (trainable, frozen)
    }
}

fn without_lines(mut spec: Spec) -> Spec {
    for m in &mut spec.models {
        m.line = 0;
        for l in &mut m.layers {
            l.line = 0;
        }
    }
    spec
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parameter_counts_follow_the_per_layer_formulas(case in case()) {
        let source = case.source();
        let spec = mlp_spec::compile(&source).map_err(|d| TestCaseError::fail(d.render("gen.mlp", &source)))?;
        let m = &spec.models[0];
        let (trainable, frozen) = case.expected_params();
        prop_assert_eq!(m.params.trainable, trainable);
        prop_assert_eq!(m.params.non_trainable, frozen);
        prop_assert_eq!(m.params.total, trainable + frozen);
        prop_assert_eq!(m.layers.iter().map(|l| l.params.total).sum::<usize>(), m.params.total);
        // Shapes chain: each layer's input is the previous layer's output.
        prop_assert_eq!(&m.layers[0].input_shape, &m.input);
        for pair in m.layers.windows(2) {
            prop_assert_eq!(&pair[0].output_shape, &pair[1].input_shape);
        }
        prop_assert_eq!(m.output_shape(), [case.out]);
    }

    #[test]
    fn print_then_parse_leaves_the_ir_unchanged(case in case()) {
        let source = case.source();
        let before = mlp_spec::compile(&source).map_err(|d| TestCaseError::fail(d.render("gen.mlp", &source)))?;
        let printed = mlp_spec::format_source(&source).map_err(|d| TestCaseError::fail(d.to_string()))?;
        let after = mlp_spec::compile(&printed).map_err(|d| TestCaseError::fail(d.render("printed.mlp", &printed)))?;
        prop_assert_eq!(without_lines(before), without_lines(after));
        let again = mlp_spec::format_source(&printed).map_err(|d| TestCaseError::fail(d.to_string()))?;
        prop_assert_eq!(again, printed);
    }
}
