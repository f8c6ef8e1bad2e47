//! `mlp bench --quick` as CI runs it (so the command cannot rot), on real MNIST: it prints
//! its table and writes JSON with every key, with two kernel threads too; times are never
//! asserted, only that they are positive and finite. A spec mistake is exit 1.
//!
//! MNIST comes from `$MLP_DATA` (the folder holding `mnist/`), else from the repository's
//! sibling `shared/data`, as in CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The folder that holds `mnist/`.
fn data_dir() -> PathBuf {
    match std::env::var_os("MLP_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

fn mlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap_or_else(|e| panic!("the mlp binary runs: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn quick_bench_prints_a_table_and_writes_every_json_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let json = dir.path().join("bench.json");
    let data = data_dir();
    for threads in ["1", "2"] {
        let out = mlp(&[
            "bench",
            "specs/notebook/baseline.mlp",
            "--quick",
            "--threads",
            threads,
            "--data",
            &data.join("mnist").to_string_lossy(),
            "--json",
            &json.to_string_lossy(),
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "stdout:\n{stdout}\nstderr:\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("kernel peak"), "{stdout}");
        assert!(stdout.contains("Baseline"), "{stdout}");
        let written = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"));
        let value: serde_json::Value =
            serde_json::from_str(&written).unwrap_or_else(|e| panic!("{e}: {written}"));
        let report = &value[0];
        assert_eq!(report["model"], "Baseline");
        assert_eq!(report["spec"], "specs/notebook/baseline.mlp");
        assert!(report["threads"]
            .as_u64()
            .is_some_and(|t| (1..=2).contains(&t)));
        let positive = |v: &serde_json::Value| v.as_f64().is_some_and(|x| x.is_finite() && x > 0.0);
        assert!(positive(&report["peak_gflops"]), "{written}");
        for key in [
            "epoch_s",
            "step_us",
            "batch1_us",
            "batch1_p90_us",
            "infer_img_s",
            "gflops",
            "percent_of_peak",
        ] {
            assert!(positive(&report["network"][key]), "{key}: {written}");
        }
    }
}

#[test]
fn a_spec_with_mistakes_is_exit_1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("bad.mlp");
    std::fs::write(&spec, "model M { input [4] Dense(0) }").unwrap_or_else(|e| panic!("{e}"));
    let out = mlp(&["bench", &spec.to_string_lossy(), "--quick"]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", text(&out.stderr));
}
