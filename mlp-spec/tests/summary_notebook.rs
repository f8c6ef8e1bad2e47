//! The summaries of the seven notebook specs (`specs/notebook/*.mlp`): pinned as insta
//! snapshots, and compared row for row with what Keras 3 printed for the same models.
//!
//! `summary_keras_reference.txt` is `../shared/reference/keras_summaries.txt` verbatim:
//! Keras 3.15.1's `model.summary()` of each notebook model, run one after another in one
//! Python process. Keras numbers layer names per process (`dense_18`) and calls the models
//! `sequential_N`; a fresh model's names start at `dense`, `dense_1`, …, which is what we
//! print, and our header names the spec's model. So the comparison renumbers Keras's
//! layer names and skips the `Model:` line; every other character must be equal.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use mlp_spec::summary::summary;

/// Text width of the `Layer (type)` column, between its one-space paddings.
const NAME_WIDTH: usize = 31;

fn compile_file(path: &Path) -> mlp_spec::ir::Spec {
    let source = fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    mlp_spec::compile(&source).unwrap_or_else(|diagnostics| {
        panic!(
            "{}",
            diagnostics.render(&path.display().to_string(), &source)
        )
    })
}

/// Every model of the file, as `mlp summary` prints them.
fn summaries(path: &Path) -> String {
    let spec = compile_file(path);
    let tables: Vec<String> = spec.models.iter().map(summary).collect();
    tables.join("\n")
}

#[test]
fn notebook_summaries() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/notebook"),
        "*.mlp",
        |path| {
            insta::assert_snapshot!(summaries(path));
        }
    );
}

/// The reference split into `(spec path, table)` pairs at its `### <path>` headers.
fn reference_sections() -> Vec<(&'static str, &'static str)> {
    let reference = include_str!("summary_keras_reference.txt");
    reference
        .split("### ")
        .filter(|section| !section.is_empty())
        .map(|section| {
            section
                .split_once('\n')
                .unwrap_or_else(|| panic!("reference section without a table: {section:?}"))
        })
        .collect()
}

/// `name` without Keras's per-process number, if it has one: `dense_18` -> `dense`.
fn base_name(name: &str) -> &str {
    match name.rsplit_once('_') {
        Some((base, number)) if number.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// Keras's table with the `Model:` line removed, trailing blank lines dropped and layer
/// names numbered as in a fresh model: the n-th layer (from 0) with base name `b` is
/// `b` for n = 0 and `b_n` after.
fn renumbered(table: &str) -> String {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = String::new();
    for line in table.trim_end().lines().skip(1) {
        let chars: Vec<char> = line.chars().collect();
        let cell: String = chars
            .get(2..2 + NAME_WIDTH)
            .map(|cell| cell.iter().collect())
            .unwrap_or_default();
        let first_word = cell.split(' ').next().unwrap_or_default();
        let is_layer_name = line.starts_with("│ ")
            && !first_word.is_empty()
            && first_word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !is_layer_name {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let base = base_name(first_word);
        let count = seen.entry(base.to_owned()).or_insert(0);
        let fresh = if *count == 0 {
            base.to_owned()
        } else {
            format!("{base}_{count}")
        };
        *count += 1;
        let renamed = format!("{fresh}{}", &cell[first_word.len()..]);
        let rest: String = chars[2 + NAME_WIDTH..].iter().collect();
        let _ = writeln!(out, "│ {:<NAME_WIDTH$}{rest}", renamed.trim_end());
    }
    out
}

fn without_model_line(table: &str) -> &str {
    table.split_once('\n').map_or("", |(_, rest)| rest)
}

#[test]
fn renumbering_gives_fresh_keras_names() {
    let sections = reference_sections();
    let (_, leaky) = sections
        .iter()
        .find(|(path, _)| *path == "specs/notebook/leaky_relu.mlp")
        .expect("the reference has the leaky_relu model");
    let names: Vec<String> = renumbered(leaky)
        .lines()
        .filter(|line| line.starts_with("│ ") && !line.starts_with("│ ("))
        .map(|line| line.split(' ').nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "flatten",
            "dense",
            "batch_normalization",
            "leaky_re_lu",
            "dense_1",
            "batch_normalization_1",
            "leaky_re_lu_1",
            "dense_2",
        ]
    );
}

#[test]
fn notebook_summaries_equal_keras() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sections = reference_sections();
    assert_eq!(sections.len(), 7, "one reference table per notebook model");
    for (spec_path, keras) in sections {
        let spec = compile_file(&root.join(spec_path));
        assert_eq!(spec.models.len(), 1, "{spec_path} holds one model");
        let ours = summary(&spec.models[0]);
        let expected = renumbered(keras);
        assert_eq!(
            without_model_line(&ours),
            expected,
            "{spec_path}\n--- ours ---\n{ours}\n--- Keras, renumbered ---\n{expected}"
        );
    }
}
