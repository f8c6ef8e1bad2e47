//! `mlp train` and `mlp compare` run as a user runs them, on real MNIST: a good run of a
//! small spec writes its History and plot; bad flags and output paths are refused before
//! any training (exit 2); a missing data folder is named (exit 1) and leaves no file.
//!
//! MNIST comes from `$MLP_DATA` (the folder holding `mnist/`), else from the repository's
//! sibling `shared/data`, as in CI.

use std::fs;
use std::path::{Path, PathBuf};

use mlp_test_support::{assert_exit, data_dir, listing, output, text, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
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

fn assert_plot(path: &Path) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(png_size(&bytes), Some((800, 480)), "{}", path.display());
    assert!(
        bytes.len() > 5_000,
        "{}: only {} bytes",
        path.display(),
        bytes.len()
    );
}

#[test]
fn train_one_epoch_prints_a_keras_line_and_writes_history_and_plot() {
    let out = tempfile::tempdir().expect("temp dir");
    let spec = fixture("tiny.mlp");
    let data = data_dir();
    let output = MLP.run(
        out.path(),
        &[
            "train",
            spec.to_str().expect("utf-8 path"),
            "--epochs",
            "1",
            "--data",
            data.to_str().expect("utf-8 path"),
            "--history",
            "h.json",
            "--plot",
            "loss.png",
        ],
    );
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    // Not a terminal: one plain line for the one epoch, 60 000 / 256 = 235 steps.
    let line = stdout.lines().next().expect("a progress line");
    assert!(line.starts_with("Epoch 1/1 - 235/235 - "), "{stdout}");
    for key in ["loss: ", "accuracy: ", "val_loss: ", "val_accuracy: "] {
        assert!(line.contains(key), "{key} missing from {line}");
    }
    let history: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.path().join("h.json")).expect("history"))
            .expect("JSON");
    for key in [
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "epoch_seconds",
    ] {
        assert_eq!(
            history[key].as_array().map(Vec::len),
            Some(1),
            "{key}: {history}"
        );
    }
    let val_accuracy = history["val_accuracy"][0].as_f64().expect("a number");
    assert!(
        val_accuracy > 0.8,
        "val_accuracy {val_accuracy} after one epoch"
    );
    assert_plot(&out.path().join("loss.png"));
    assert_eq!(listing(out.path()), ["h.json", "loss.png"]);
}

/// `--threads` changes how fast, never what: one and two kernel threads write the same
/// History (every value but the epoch's wall-clock seconds).
#[test]
fn train_history_is_the_same_with_one_or_two_threads() {
    let out = tempfile::tempdir().expect("temp dir");
    let spec = fixture("tiny.mlp");
    let data = data_dir();
    let mut histories = Vec::new();
    for threads in ["1", "2"] {
        let file = format!("h{threads}.json");
        let output = MLP.run(
            out.path(),
            &[
                "train",
                spec.to_str().expect("utf-8 path"),
                "--epochs",
                "1",
                "--quiet",
                "--threads",
                threads,
                "--data",
                data.to_str().expect("utf-8 path"),
                "--history",
                &file,
            ],
        );
        assert_exit(&output, 0);
        let mut history: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.path().join(&file)).expect("history"))
                .expect("JSON");
        history["epoch_seconds"] = serde_json::Value::Null;
        histories.push(history);
    }
    assert!(
        histories[0]["loss"][0].as_f64().is_some(),
        "{}",
        histories[0]
    );
    assert_eq!(histories[0], histories[1]);
}

#[test]
fn train_writes_csv_history_and_quiet_prints_nothing() {
    let out = tempfile::tempdir().expect("temp dir");
    let spec = fixture("tiny.mlp");
    let data = data_dir();
    let output = MLP.run(
        out.path(),
        &[
            "train",
            spec.to_str().expect("utf-8 path"),
            "--epochs",
            "2",
            "--batch",
            "600",
            "--seed",
            "3",
            "--data",
            data.to_str().expect("utf-8 path"),
            "--history",
            "h.csv",
            "--quiet",
        ],
    );
    assert_exit(&output, 0);
    assert_eq!(text(&output.stdout), "");
    let csv = fs::read_to_string(out.path().join("h.csv")).expect("history");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,loss,accuracy,val_loss,val_accuracy,epoch_seconds"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("1,") && lines[2].starts_with("2,"),
        "{csv}"
    );
    assert_eq!(lines[2].split(',').count(), 6, "{csv}");
}

#[test]
fn bad_flags_are_usage_errors_before_any_training() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = fixture("tiny.mlp");
    let spec = spec.to_str().expect("utf-8 path");
    // A data folder that does not exist: reaching the data would be exit 1, not 2.
    let cases: [(&[&str], &str); 6] = [
        (&["--epochs", "0"], "--epochs"),
        (&["--batch", "0"], "--batch"),
        (&["--epochs", "ten"], "--epochs"),
        (&["--history", "h.txt"], "h.txt"),
        (&["--plot", "p.jpg"], "p.jpg"),
        (&["--history", "no/such/folder/h.json"], "no/such/folder"),
    ];
    for (flags, named) in cases {
        let mut args = vec!["train", spec, "--data", "missing-data"];
        args.extend_from_slice(flags);
        let output = MLP.run(dir.path(), &args);
        assert_exit(&output, 2);
        let stderr = text(&output.stderr);
        assert!(stderr.contains(named), "{flags:?}: {stderr}");
    }
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_file_of_several_models_needs_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = fixture("two_models.mlp");
    let spec = spec.to_str().expect("utf-8 path");
    let output = MLP.run(dir.path(), &["train", spec, "--data", "missing-data"]);
    assert_exit(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--model") && stderr.contains("Wide, Narrow"),
        "{stderr}"
    );
    let output = MLP.run(
        dir.path(),
        &["train", spec, "--model", "Medium", "--data", "missing-data"],
    );
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("no model named `Medium`"));
}

#[test]
fn a_missing_data_folder_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = fixture("tiny.mlp");
    let output = MLP.run(
        dir.path(),
        &[
            "train",
            spec.to_str().expect("utf-8 path"),
            "--data",
            "no-mnist-here",
            "--history",
            "h.json",
        ],
    );
    assert_exit(&output, 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("no-mnist-here"), "{stderr}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn compare_two_specs_writes_histories_table_and_plot() {
    let out = tempfile::tempdir().expect("temp dir");
    let (tiny, wide) = (fixture("tiny.mlp"), fixture("tiny_wide.mlp"));
    let data = data_dir();
    let output = MLP.run(
        out.path(),
        &[
            "compare",
            tiny.to_str().expect("utf-8 path"),
            wide.to_str().expect("utf-8 path"),
            "--epochs",
            "2",
            "--jobs",
            "2",
            "--data",
            data.to_str().expect("utf-8 path"),
            "--out",
            "cmp",
            "--metric",
            "val_accuracy",
        ],
    );
    assert_exit(&output, 0);
    let stdout = text(&output.stdout);
    // Two models at once: every line names its model, two epochs each.
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("tiny       Epoch "))
            .count(),
        2,
        "{stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("tiny_wide  Epoch "))
            .count(),
        2,
        "{stdout}"
    );
    let cmp = out.path().join("cmp");
    assert_eq!(
        listing(&cmp),
        [
            "compare.png",
            "results.md",
            "tiny.history.csv",
            "tiny.history.json",
            "tiny_wide.history.csv",
            "tiny_wide.history.json"
        ]
    );
    assert_plot(&cmp.join("compare.png"));
    let table = fs::read_to_string(cmp.join("results.md")).expect("results");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| tiny")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    // 784·16 + 16 + 16·10 + 10 and 784·32 + 32 + 32·10 + 10 parameters, 2 epochs.
    assert!(rows[0].starts_with("| tiny | 12,730 | 2 | "), "{table}");
    assert!(
        rows[1].starts_with("| tiny_wide | 25,450 | 2 | "),
        "{table}"
    );
}

#[test]
fn compare_reports_every_bad_spec_before_training() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (bad, tiny) = (fixture("bad.mlp"), fixture("tiny.mlp"));
    let output = MLP.run(
        dir.path(),
        &[
            "compare",
            bad.to_str().expect("utf-8 path"),
            tiny.to_str().expect("utf-8 path"),
            "--data",
            "missing-data",
            "--out",
            "cmp",
        ],
    );
    assert_exit(&output, 1);
    assert!(text(&output.stderr).contains("1 of 2 files could not be read"));
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn a_missing_font_fails_the_plot_after_the_history_is_saved() {
    let out = tempfile::tempdir().expect("temp dir");
    let spec = fixture("tiny.mlp");
    let data = data_dir();
    let output = output(
        MLP.command(out.path())
            .args([
                "train",
                spec.to_str().expect("utf-8 path"),
                "--epochs",
                "1",
                "--quiet",
                "--data",
                data.to_str().expect("utf-8 path"),
                "--history",
                "h.json",
                "--plot",
                "loss.png",
            ])
            .env("MLP_FONT", "/no/such/fonts/Missing.ttf"),
    );
    assert_exit(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("/no/such/fonts/Missing.ttf") && stderr.contains("loss.png"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(listing(out.path()), ["h.json"]);
}
