//! No input makes the front end panic: truncated specs, random bytes, random token soup
//! and deep nesting all come back as `Ok` or as diagnostics (over 10 000 cases in all).

use std::path::{Path, PathBuf};

use proptest::prelude::*;

/// Runs every public entry point on `source`; returns whether `compile` succeeded.
fn exercise(source: &str) -> bool {
    let result = mlp_spec::compile(source);
    if let Err(d) = &result {
        let rendered = d.render("fuzz.mlp", source);
        assert!(!rendered.is_empty());
        for diag in d {
            assert!(diag.span.start <= diag.span.end && diag.span.end <= source.len());
        }
    }
    if let Ok(formatted) = mlp_spec::format_source(source) {
        // What the formatter prints is itself valid syntax.
        assert!(
            mlp_spec::parse(&formatted).is_ok(),
            "formatter output does not parse:\n{formatted}"
        );
    }
    result.is_ok()
}

fn spec_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        root.join("../specs/notebook"),
        root.join("../specs/examples"),
        root.join("tests/bad"),
    ] {
        let entries = std::fs::read_dir(&dir).expect("fixture directory exists");
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "mlp") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

/// Whether `text` (comments ignored) opens more `{` than it closes: cut inside a model.
fn unclosed_braces(text: &str) -> bool {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    code.matches('{').count() > code.matches('}').count()
}

#[test]
fn truncated_specs_are_errors_not_panics() {
    let mut cases = 0;
    for path in spec_files() {
        let source = std::fs::read_to_string(&path).expect("readable");
        for (cut, _) in source.char_indices() {
            let prefix = &source[..cut];
            let ok = exercise(prefix);
            if unclosed_braces(prefix) {
                assert!(!ok, "{}: prefix of {cut} bytes compiled", path.display());
            }
            cases += 1;
        }
    }
    assert!(cases > 8000, "only {cases} prefixes");
}

#[test]
fn deep_nesting_is_a_clear_error() {
    for depth in [33, 100, 1000, 100_000] {
        for (open, close) in [("[", "]"), ("(", ")"), ("{", "}")] {
            let source = format!("let x = {}1{}", open.repeat(depth), close.repeat(depth));
            let d = mlp_spec::compile(&source).expect_err("too deep");
            assert_eq!(
                d.iter().next().map(|d| d.code),
                Some("E0002"),
                "depth {depth} {open}"
            );
            let in_model = format!("model A {{ input [4] Dense({}) }}", "l2(".repeat(depth));
            let d = mlp_spec::compile(&in_model).expect_err("too deep");
            assert_eq!(d.iter().next().map(|d| d.code), Some("E0002"));
        }
    }
    // Within the limit, nesting parses (and is then a type error, not a crash).
    let source = format!(
        "model A {{ input [4] Dense({}2{}) }}",
        "[".repeat(30),
        "]".repeat(30)
    );
    let d = mlp_spec::compile(&source).expect_err("a list is not a number");
    assert_eq!(d.iter().next().map(|d| d.code), Some("E0304"));
}

#[test]
fn oversized_files_are_a_clear_error() {
    let source = format!("// {}\n", "x".repeat(mlp_spec::MAX_SOURCE_LEN));
    let d = mlp_spec::compile(&source).expect_err("too large");
    assert_eq!(d.iter().next().map(|d| d.code), Some("E0001"));
}

const TOKENS: &[&str] = &[
    "model",
    "let",
    "input",
    "train",
    "M",
    "Dense",
    "Flatten",
    "Dropout",
    "BatchNorm",
    "LeakyReLU",
    "Softmax",
    "relu",
    "softmax",
    "he_normal",
    "l2",
    "l1_l2",
    "adam",
    "sgd",
    "loss",
    "metrics",
    "accuracy",
    "optimizer",
    "batch",
    "epochs",
    "units",
    "activation",
    "init",
    "reg",
    "true",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    ";",
    "-",
    "0",
    "1",
    "28",
    "0.5",
    "1e-3",
    "-0.1",
    "1e40",
    "99999999999999999999",
    "\"x\"",
    "// c\n",
    "/// d\n",
    "\n",
    " ",
    "é",
    "\t",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let source = String::from_utf8_lossy(&bytes);
        exercise(&source);
    }

    #[test]
    fn random_token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        let source = tokens.join(" ");
        exercise(&source);
        exercise(&format!("model M {{ input [28, 28] {source} }}"));
    }
}
