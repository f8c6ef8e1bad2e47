//! Constant expressions where numbers go: evaluated in f64 (as Python evaluates Keras
//! arguments), rounded once to f32 where the IR holds one, exact whole numbers where a
//! whole number is expected; printed back as written, with normalised spacing.

// Exact float values are the point: each must be the one f32 Python would give.
#![allow(clippy::float_cmp)]

use mlp_spec::ir::{LayerKind, Spec};

fn compile(source: &str) -> Spec {
    match mlp_spec::compile(source) {
        Ok(spec) => spec,
        Err(d) => panic!("{}", d.render("test.mlp", source)),
    }
}

/// The `(scale, offset)` of `Rescale(args)`.
fn rescale(args: &str) -> (f32, f32) {
    let spec = compile(&format!(
        "model M {{ input [4] Rescale({args}) Dense(2, activation = softmax) }}"
    ));
    match spec.models[0].layers[0].kind {
        LayerKind::Rescale { scale, offset } => (scale, offset),
        ref other => panic!("{other:?}"),
    }
}

/// The units of `Dense(expr)`.
fn units(expr: &str) -> usize {
    let spec = compile(&format!(
        "model M {{ input [4] Dense({expr}) Dense(2, activation = softmax) }}"
    ));
    match &spec.models[0].layers[0].kind {
        LayerKind::Dense(d) => d.units,
        other => panic!("{other:?}"),
    }
}

#[test]
fn expressions_give_f32_values_computed_in_f64() {
    let third = (1.0f64 / 255.0) as f32;
    for written in [
        "1/255",
        "1 / 255",
        "scale = 1./255",
        "1.0 / 255",
        "(1) / (255)",
    ] {
        assert_eq!(rescale(written).0, third, "{written}");
    }
    // Computed in f64, then rounded once: not the f32 sum of two f32s.
    assert_eq!(rescale("0.1 + 3.3").0, (0.1f64 + 3.3f64) as f32);
    assert_ne!(rescale("0.1 + 3.3").0, 0.1f32 + 3.3f32);
    assert_eq!(rescale("0.1 * 0.1").0, (0.1f64 * 0.1f64) as f32);
    assert_ne!(rescale("0.1 * 0.1").0, 0.1f32 * 0.1f32);
    // Only the result must fit an f32.
    assert_eq!(rescale("1e30 * 1e30 / 1e30").0, 1e30);
    assert_eq!(rescale("-0.5"), (-0.5, 0.0));
    assert_eq!(rescale("2 * 0.5, offset = -1"), (1.0, -1.0));
    assert_eq!(rescale("- 0.5").0, -0.5);
    assert_eq!(rescale("-(1 - 3)").0, 2.0);
    assert_eq!(rescale("--2").0, 2.0);
    assert_eq!(rescale("2 - -1").0, 3.0);
    assert_eq!(rescale("2 -1").0, 1.0);
    assert_eq!(rescale("1e-3 * 2").0, 0.002);
    assert_eq!(rescale("1, offset = 1 / 2 - 1").1, -0.5);
}

#[test]
fn precedence_and_associativity_are_the_usual_ones() {
    assert_eq!(units("1 + 2 * 3"), 7);
    assert_eq!(units("(1 + 2) * 3"), 9);
    assert_eq!(units("64 / 4 / 2"), 8);
    assert_eq!(units("10 - 4 - 3"), 3);
    assert_eq!(units("2 * (3 + (4 - 1)) / 3"), 4);
}

#[test]
fn whole_numbers_come_from_exact_expressions() {
    assert_eq!(units("2 * 32.0"), 64);
    assert_eq!(units("128 / 2"), 64);
    let spec = compile("model M { input [28 * 28] Dense(2, activation = softmax) }");
    assert_eq!(spec.models[0].input, [784]);
    let spec = compile(
        "model M { input [4] Dense(2, activation = softmax) train { batch = 2 * 16, validation_split = 1 / 5 } }",
    );
    let t = &spec.models[0].train;
    assert_eq!(
        (t.batch, t.validation_split),
        (32, Some((1.0f64 / 5.0) as f32))
    );
    // A `let` may hold an expression.
    let spec =
        compile("let s = 1 / 255\nmodel M { input [4] Rescale(s) Dense(2, activation = softmax) }");
    assert_eq!(
        spec.models[0].layers[0].kind,
        LayerKind::Rescale {
            scale: (1.0f64 / 255.0) as f32,
            offset: 0.0
        }
    );
}

#[test]
fn mistakes_in_expressions_are_reported_on_their_spans() {
    let cases = [
        ("Rescale(1 / 0)", "E0401", "1 / 0"),
        ("Rescale(2 * (1 / (3 - 3)))", "E0401", "1 / (3 - 3)"),
        ("Dense(10 / 4)", "E0304", "10 / 4"),
        ("Rescale(1e200 * 1e200)", "E0400", "1e200 * 1e200"),
        ("Rescale(1e20 * 1e20)", "E0400", "1e20 * 1e20"),
        ("Dense(1e20 * 1e20)", "E0101", "1e20 * 1e20"),
        ("Dense(4, use_bias = 1 - 1)", "E0304", "1 - 1"),
    ];
    for (layer, code, text) in cases {
        let source = format!("model M {{ input [4] {layer} Dense(2, activation = softmax) }}");
        let diagnostics = mlp_spec::compile(&source).expect_err(layer);
        let d = diagnostics.iter().next().expect("one diagnostic");
        assert_eq!((d.code, &source[d.span.clone()]), (code, text), "{layer}");
        assert_eq!(
            diagnostics.iter().count(),
            1,
            "{layer}: one mistake, one report"
        );
    }
}

#[test]
fn the_formatter_keeps_expressions_as_written_with_normal_spacing() {
    let cases = [
        ("Rescale(1/255)", "Rescale(1 / 255)"),
        ("Rescale(scale=1./255)", "Rescale(scale = 1. / 255)"),
        ("Rescale((1+2)*-3)", "Rescale((1 + 2) * -3)"),
        ("Rescale(- (0.5))", "Rescale(-(0.5))"),
        (
            "Rescale(2-1 , offset=-0.5)",
            "Rescale(2 - 1, offset = -0.5)",
        ),
        ("Rescale(1e-3*2)", "Rescale(1e-3 * 2)"),
    ];
    for (written, want) in cases {
        let source = format!("model M {{\n    input [4]\n    {written}\n}}\n");
        let formatted = mlp_spec::format_source(&source).expect("valid syntax");
        let expected = format!("model M {{\n    input [4]\n    {want}\n}}\n");
        assert_eq!(formatted, expected, "{written}");
        assert_eq!(
            mlp_spec::format_source(&formatted).as_deref(),
            Ok(expected.as_str()),
            "{written}: formatting is idempotent"
        );
    }
}

#[test]
fn long_chains_and_many_minus_signs_do_not_recurse() {
    // A chain of 100 000 terms and as many minus signs: flat in the AST, so neither the
    // binder, the formatter nor dropping the tree goes deep.
    let chain = vec!["1"; 100_000].join(" + ");
    let spec = compile(&format!(
        "model M {{ input [4] Rescale({chain}) Dense(2, activation = softmax) }}"
    ));
    assert_eq!(
        spec.models[0].layers[0].kind,
        LayerKind::Rescale {
            scale: 100_000.0,
            offset: 0.0
        }
    );
    let minus = "- ".repeat(100_001);
    let source =
        format!("model M {{ input [4] Rescale({minus}2) Dense(2, activation = softmax) }}");
    let spec = compile(&source);
    assert_eq!(
        spec.models[0].layers[0].kind,
        LayerKind::Rescale {
            scale: -2.0,
            offset: 0.0
        }
    );
    assert!(mlp_spec::format_source(&source).is_ok());
}
