//! The `mlp` binary, run as a user runs it: exit codes, what goes to stdout and stderr,
//! and what `fmt` does to files.
//!
//! Commands run inside `tests/fixtures` (or a temporary copy) with relative paths, so the
//! file names in diagnostics are stable. Standard error is a pipe here, so diagnostics
//! come out without colour.

use mlp_test_support::{assert_exit, stderr, stdout, Cli};
use std::fs;
use std::path::{Path, PathBuf};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn notebook_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook")
}

/// A temporary directory holding copies of the named fixtures.
fn scratch(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for name in names {
        fs::copy(fixtures().join(name), dir.path().join(name)).expect("fixture copied");
    }
    dir
}

/// The IR of a valid spec with its source line numbers cleared (layout moves lines).
fn meaning(source: &str) -> mlp_spec::ir::Spec {
    let mut spec = mlp_spec::compile(source).unwrap_or_else(|d| panic!("{d}\n{source}"));
    for model in &mut spec.models {
        model.line = 0;
        for layer in &mut model.layers {
            layer.line = 0;
        }
    }
    spec
}

#[test]
fn check_accepts_every_notebook_spec() {
    let mut names: Vec<String> = fs::read_dir(notebook_dir())
        .expect("specs/notebook exists")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_some_and(|ext| ext == "mlp"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "the seven notebook models: {names:?}");
    let args: Vec<&str> = std::iter::once("check")
        .chain(names.iter().map(String::as_str))
        .collect();
    let output = MLP.run(&notebook_dir(), &args);
    assert_exit(&output, 0);
    assert_eq!(stderr(&output), "");
}

#[test]
fn check_accepts_a_file_with_two_models() {
    let output = MLP.run(&fixtures(), &["check", "two_models.mlp"]);
    assert_exit(&output, 0);
    assert_eq!(stderr(&output), "");
}

#[test]
fn check_reports_every_mistake_of_a_bad_spec() {
    let output = MLP.run(&fixtures(), &["check", "bad.mlp"]);
    assert_exit(&output, 1);
    let stderr = stderr(&output);
    // Positions counted by hand in tests/fixtures/bad.mlp.
    for position in ["[bad.mlp:5:5]", "[bad.mlp:6:13]", "[bad.mlp:10:21]"] {
        assert!(
            stderr.contains(position),
            "{position} missing in:\n{stderr}"
        );
    }
    assert_eq!(output.stdout, b"");
    insta::assert_snapshot!(stderr);
}

#[test]
fn misspelt_initializer_gets_did_you_mean_with_line_and_column() {
    let output = MLP.run(&fixtures(), &["check", "misspelt_init.mlp"]);
    assert_exit(&output, 1);
    let stderr = stderr(&output);
    // `he_norml` starts at line 5, column 22 of tests/fixtures/misspelt_init.mlp.
    assert!(stderr.contains("[misspelt_init.mlp:5:22]"), "{stderr}");
    assert!(stderr.contains("did you mean `he_normal`?"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn check_goes_on_after_a_bad_file_and_a_missing_one() {
    let output = MLP.run(
        &fixtures(),
        &["check", "bad.mlp", "no_such_file.mlp", "two_models.mlp"],
    );
    // A file that cannot be read is an I/O error, which outranks spec errors.
    assert_exit(&output, 2);
    let stderr = stderr(&output);
    assert!(stderr.contains("[bad.mlp:5:5]"), "{stderr}");
    assert!(
        stderr.contains("error: cannot read `no_such_file.mlp`"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("error: 2 of 3 files failed the check\n"),
        "{stderr}"
    );
}

#[test]
fn missing_file_is_named_and_exits_with_2() {
    for command in ["check", "summary", "fmt"] {
        let output = MLP.run(&fixtures(), &[command, "no_such_file.mlp"]);
        assert_exit(&output, 2);
        let stderr = stderr(&output);
        assert!(
            stderr.starts_with("error: cannot read `no_such_file.mlp`: "),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [&["check"][..], &["summary"], &["frobnicate"], &[]] {
        let output = MLP.run(&fixtures(), args);
        assert_exit(&output, 2);
        assert!(stderr(&output).contains("Usage: mlp"), "{args:?}");
    }
}

#[test]
fn summary_of_the_batchnorm_model_has_keras_totals() {
    let output = MLP.run(&notebook_dir(), &["summary", "batchnorm.mlp"]);
    assert_exit(&output, 0);
    let stdout = stdout(&output);
    assert!(stdout.starts_with("Model: \"WithBatchNorm\"\n"), "{stdout}");
    // The totals Keras 3 printed for this model (../shared/reference/).
    for line in [
        " Total params: 53,034 (207.16 KB)\n",
        " Trainable params: 52,842 (206.41 KB)\n",
        " Non-trainable params: 192 (768.00 B)\n",
    ] {
        assert!(stdout.contains(line), "{line:?} missing in:\n{stdout}");
    }
    assert_eq!(stderr(&output), "");
}

#[test]
fn summary_prints_every_model_or_the_named_one() {
    let all = stdout(&MLP.run(&fixtures(), &["summary", "two_models.mlp"]));
    let wide = MLP.run(
        &fixtures(),
        &["summary", "two_models.mlp", "--model", "Wide"],
    );
    let narrow = MLP.run(
        &fixtures(),
        &["summary", "two_models.mlp", "--model", "Narrow"],
    );
    assert_exit(&wide, 0);
    assert_exit(&narrow, 0);
    let (wide, narrow) = (stdout(&wide), stdout(&narrow));
    assert!(wide.starts_with("Model: \"Wide\"\n"), "{wide}");
    assert!(narrow.starts_with("Model: \"Narrow\"\n"), "{narrow}");
    // Wide: 784·128 + 128 + 128·10 + 10; Narrow: 784·16 + 16 + 16·10 + 10.
    assert!(wide.contains(" Total params: 101,770 "), "{wide}");
    assert!(narrow.contains(" Total params: 12,730 "), "{narrow}");
    // Every model in source order, separated by one blank line.
    assert_eq!(all, format!("{wide}\n{narrow}"));
}

#[test]
fn summary_of_an_unknown_model_lists_the_known_ones() {
    let output = MLP.run(
        &fixtures(),
        &["summary", "two_models.mlp", "--model", "Medium"],
    );
    assert_exit(&output, 1);
    assert_eq!(
        stderr(&output),
        "error: no model named `Medium` in `two_models.mlp`; it defines `Wide`, `Narrow`\n"
    );
    assert_eq!(output.stdout, b"");
}

#[test]
fn summary_of_a_bad_spec_shows_its_diagnostics() {
    let output = MLP.run(&fixtures(), &["summary", "bad.mlp"]);
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("[bad.mlp:5:5]"));
    assert_eq!(output.stdout, b"");
}

#[test]
fn fmt_check_names_unformatted_files_and_writes_nothing() {
    let dir = scratch(&["unformatted.mlp", "two_models.mlp"]);
    let before = fs::read(dir.path().join("unformatted.mlp")).expect("copied");
    let output = MLP.run(dir.path(), &["fmt", "--check", "unformatted.mlp"]);
    assert_exit(&output, 1);
    assert_eq!(
        stderr(&output),
        "error: `unformatted.mlp` would be reformatted\n"
    );
    let after = fs::read(dir.path().join("unformatted.mlp")).expect("still there");
    assert_eq!(before, after, "--check must not write");
    let names: Vec<_> = fs::read_dir(dir.path())
        .expect("readable")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
}

#[test]
fn fmt_rewrites_in_place_keeps_comments_and_is_idempotent() {
    let dir = scratch(&["unformatted.mlp"]);
    let path = dir.path().join("unformatted.mlp");
    let original = fs::read_to_string(&path).expect("copied");

    let output = MLP.run(dir.path(), &["fmt", "unformatted.mlp"]);
    assert_exit(&output, 0);
    assert_eq!(stderr(&output), "");
    let formatted = fs::read_to_string(&path).expect("rewritten");
    assert_ne!(formatted, original);
    assert_eq!(
        Ok(formatted.clone()),
        mlp_spec::format_source(&original).map_err(|d| d.to_string()),
        "the file holds what the library's formatter gives"
    );
    for comment in [
        "// shared penalty",
        "/// Laid out badly on purpose.",
        "// to 784 features",
    ] {
        assert!(
            formatted.contains(comment),
            "{comment:?} lost:\n{formatted}"
        );
    }
    assert_eq!(
        meaning(&formatted),
        meaning(&original),
        "formatting keeps the meaning"
    );

    // Formatting a formatted file changes nothing, and --check agrees.
    let again = MLP.run(dir.path(), &["fmt", "unformatted.mlp"]);
    assert_exit(&again, 0);
    assert_eq!(fs::read_to_string(&path).expect("still there"), formatted);
    assert_exit(
        &MLP.run(dir.path(), &["fmt", "--check", "unformatted.mlp"]),
        0,
    );
    assert_eq!(fs::read_dir(dir.path()).expect("readable").count(), 1);
}

/// Every `.mlp` file under `dir`, relative to `dir`, sorted.
fn specs_under(dir: &Path, prefix: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        let relative = prefix.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            specs_under(&path, &relative, found);
        } else if path.extension().is_some_and(|ext| ext == "mlp") {
            found.push(relative);
        }
    }
    found.sort();
}

#[test]
fn every_spec_in_the_repository_checks_and_is_formatted() {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let mut found = Vec::new();
    specs_under(&specs, Path::new(""), &mut found);
    assert!(found.len() >= 7, "{found:?}");
    let names: Vec<&str> = found
        .iter()
        .map(|path| path.to_str().expect("UTF-8 file names"))
        .collect();
    for command in [&["check"][..], &["fmt", "--check"]] {
        let args: Vec<&str> = command
            .iter()
            .copied()
            .chain(names.iter().copied())
            .collect();
        let output = MLP.run(&specs, &args);
        assert_exit(&output, 0);
        assert_eq!(stderr(&output), "", "{command:?}");
    }
}

#[test]
fn fmt_leaves_a_spec_with_a_syntax_error_alone() {
    let dir = scratch(&["syntax_error.mlp"]);
    let before = fs::read(dir.path().join("syntax_error.mlp")).expect("copied");
    let output = MLP.run(dir.path(), &["fmt", "syntax_error.mlp"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("[syntax_error.mlp:"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read(dir.path().join("syntax_error.mlp")).expect("there"),
        before
    );
}

#[cfg(unix)]
#[test]
fn fmt_keeps_the_file_permissions() {
    use std::os::unix::fs::PermissionsExt;

    let dir = scratch(&["unformatted.mlp"]);
    let path = dir.path().join("unformatted.mlp");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
    assert_exit(&MLP.run(dir.path(), &["fmt", "unformatted.mlp"]), 0);
    let mode = fs::metadata(&path).expect("there").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn expand_prints_the_generated_rust_of_every_model_or_one() {
    let examples = notebook_dir().join("../examples");
    let all = MLP.run(&examples, &["expand", "zoo.mlp"]);
    assert_exit(&all, 0);
    let text = stdout(&all);
    let file = syn::parse_file(&text).expect("the expansion is valid Rust");
    let structs: Vec<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(structs, ["Zoo", "NormalFamily", "Heads"], "{text}");
    // The generated docs cite the spec file as the user named it, with line numbers.
    assert!(text.contains("`zoo.mlp:"), "{text}");

    let one = MLP.run(&examples, &["expand", "zoo.mlp", "--model", "Heads"]);
    assert_exit(&one, 0);
    let file = syn::parse_file(&stdout(&one)).expect("the expansion is valid Rust");
    let structs = file
        .items
        .iter()
        .filter(|item| matches!(item, syn::Item::Struct(_)))
        .count();
    assert_eq!(structs, 1);
    assert!(stdout(&one).contains("pub struct Heads"));
}

#[test]
fn expand_refuses_unknown_models_bad_specs_and_missing_files() {
    let examples = notebook_dir().join("../examples");
    let unknown = MLP.run(&examples, &["expand", "zoo.mlp", "--model", "Nope"]);
    assert_exit(&unknown, 1);
    assert!(stderr(&unknown).contains("Zoo"), "{}", stderr(&unknown));
    assert!(stdout(&unknown).is_empty());

    let bad = MLP.run(&fixtures(), &["expand", "bad.mlp"]);
    assert_exit(&bad, 1);
    assert!(stdout(&bad).is_empty(), "no code for a spec with mistakes");

    let missing = MLP.run(&fixtures(), &["expand", "no_such_file.mlp"]);
    assert_exit(&missing, 2);
    assert!(stderr(&missing).contains("no_such_file.mlp"));
}
