//! The notebook example end to end on real MNIST, one epoch per model: the seven
//! generated models (the example's own `models.rs`) train, and the output folder holds the
//! five comparison plots (valid PNGs of the stated size), every History as JSON and CSV,
//! and `results.md` with one row per model.
//!
//! MNIST comes from `$MLP_DATA` (the folder holding `mnist/`), else from the repository's
//! sibling `shared/data`, as in CI.

#[path = "../examples/notebook/models.rs"]
mod models;

use std::fs;
use std::path::{Path, PathBuf};

use clap::Parser;
use mlp_cli::notebook::{run, Args, COMPARISONS};

fn data_dir() -> PathBuf {
    match std::env::var_os("MLP_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
    }
}

/// Width and height of a PNG, after checking its signature and first chunk.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((be(16), be(20)))
}

#[test]
fn one_epoch_of_every_model_writes_plots_histories_and_table() {
    let out = tempfile::tempdir().expect("temp dir");
    let data = data_dir();
    let args = Args::try_parse_from([
        "notebook".as_ref(),
        "--epochs".as_ref(),
        "1".as_ref(),
        "--quiet".as_ref(),
        "--data".as_ref(),
        data.as_os_str(),
        "--out".as_ref(),
        out.path().as_os_str(),
    ])
    .expect("valid flags");
    let report = run(&args, &models::MODELS).unwrap_or_else(|e| panic!("{e}"));

    let stems = [
        "baseline",
        "he_normal",
        "l2",
        "l1",
        "dropout",
        "batchnorm",
        "leaky_relu",
    ];
    let names: Vec<&str> = report.rows.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(names, stems);
    for row in &report.rows {
        assert_eq!(row.epochs, 1);
        // Keras's lowest first-epoch val_accuracy over three seeds is 0.81 (baseline).
        let val_accuracy = row.val_accuracy.expect("validated");
        assert!(
            val_accuracy >= 0.8,
            "{}: val_accuracy {val_accuracy}",
            row.name
        );
    }
    let params: Vec<usize> = report.rows.iter().map(|row| row.params).collect();
    assert_eq!(
        params,
        [52_650, 52_650, 52_650, 52_650, 52_650, 53_034, 53_034]
    );

    for comparison in &COMPARISONS {
        let path = out.path().join(comparison.file);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(png_size(&bytes), Some((800, 480)), "{}", comparison.file);
        assert!(
            bytes.len() > 5_000,
            "{}: only {} bytes",
            comparison.file,
            bytes.len()
        );
    }
    for stem in stems {
        let json = fs::read_to_string(out.path().join(format!("{stem}.history.json")))
            .expect("JSON history");
        let history: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        for key in ["loss", "accuracy", "val_loss", "val_accuracy"] {
            assert_eq!(
                history[key].as_array().map(Vec::len),
                Some(1),
                "{stem} {key}"
            );
        }
        let csv = fs::read_to_string(out.path().join(format!("{stem}.history.csv")))
            .expect("CSV history");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{stem}: {csv}");
        assert!(
            lines[0].starts_with("epoch,loss,accuracy,val_loss,val_accuracy"),
            "{csv}"
        );
    }
    let table = fs::read_to_string(out.path().join("results.md")).expect("results.md");
    for stem in stems {
        assert_eq!(
            table
                .lines()
                .filter(|l| l.starts_with(&format!("| {stem} |")))
                .count(),
            1,
            "{table}"
        );
    }
    // 14 histories, the table, five plots.
    assert_eq!(report.files.len(), 20);
    assert_eq!(fs::read_dir(out.path()).expect("listing").count(), 20);
}

#[test]
fn an_unknown_model_is_refused_before_loading_anything() {
    let args = Args::try_parse_from([
        "notebook",
        "--models",
        "baseline,resnet",
        "--data",
        "no-such-dir",
    ])
    .expect("valid flags");
    let error = run(&args, &models::MODELS).expect_err("unknown model");
    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains("`resnet`"), "{error}");
}
