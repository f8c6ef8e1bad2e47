//! `mlp bench --quick` as CI runs it (so the command cannot rot), on real MNIST: it prints
//! its table and writes JSON with every key, with two kernel threads too; a compiled-in
//! spec (or a renamed copy) gets a generated row, other specs a `null` one, and the
//! hand-written baseline a row only for the models it covers. Times are never asserted,
//! only that they are positive and finite. A spec mistake is exit 1.
//!
//! MNIST comes from `$MLP_DATA` (the folder holding `mnist/`), else from the repository's
//! sibling `shared/data`, as in CI.

use std::path::{Path, PathBuf};
use std::process::Output;

use mlp_test_support::{idx, mnist_dir, text, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

/// Runs `mlp args…` at the repository's root.
fn mlp(args: &[&str]) -> Output {
    MLP.run(&Path::new(env!("CARGO_MANIFEST_DIR")).join(".."), args)
}

/// The keys of a `generated` or `network` object.
const MEASURED: [&str; 7] = [
    "epoch_s",
    "step_us",
    "batch1_us",
    "batch1_p90_us",
    "infer_img_s",
    "gflops",
    "percent_of_peak",
];

fn positive(v: &serde_json::Value) -> bool {
    v.as_f64().is_some_and(|x| x.is_finite() && x > 0.0)
}

/// Every key of a measured implementation: positive times and rates, and allocations per
/// step a finite count (0 is the target, not asserted here: the runtime's tests own it).
fn check_measured(m: &serde_json::Value, what: &str) {
    let object = m
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {m}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = MEASURED
        .iter()
        .copied()
        .chain(["allocs_per_step"])
        .collect();
    expected.sort_unstable();
    assert_eq!(keys, expected, "{what}");
    for key in MEASURED {
        assert!(positive(&m[key]), "{what}.{key}: {m}");
    }
    assert!(
        m["allocs_per_step"]
            .as_f64()
            .is_some_and(|a| a.is_finite() && a >= 0.0),
        "{what}: {m}"
    );
}

/// Runs `mlp bench --quick` on `specs` with `threads`; returns the table and the JSON.
fn quick_bench(specs: &[&str], threads: &str) -> (String, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let json = dir.path().join("bench.json");
    let data = mnist_dir();
    let mut args = vec!["bench"];
    args.extend_from_slice(specs);
    let (data, json_arg) = (data.to_string_lossy(), json.to_string_lossy());
    args.extend_from_slice(&["--quick", "--threads", threads, "--data", &data]);
    args.extend_from_slice(&["--json", &json_arg]);
    let out = mlp(&args);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    let written = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}"));
    let value = serde_json::from_str(&written).unwrap_or_else(|e| panic!("{e}: {written}"));
    (stdout, value)
}

#[test]
fn quick_bench_prints_a_table_and_writes_every_json_key() {
    for threads in ["1", "2"] {
        let (stdout, value) = quick_bench(&["specs/notebook/baseline.mlp"], threads);
        assert!(stdout.contains("kernel peak"), "{stdout}");
        for row in [
            "generated ",
            "Network ",
            "ndarray ",
            "generated vs Network: epoch",
        ] {
            assert!(stdout.contains(row), "{row}: {stdout}");
        }
        assert!(stdout.contains("generated vs ndarray: epoch"), "{stdout}");
        let reports = value.as_array().unwrap_or_else(|| panic!("{value}"));
        assert_eq!(reports.len(), 1, "{value}");
        let report = &reports[0];
        let object = report.as_object().unwrap_or_else(|| panic!("{report}"));
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "gemm_peak_gflops",
                "generated",
                "model",
                "ndarray_baseline",
                "network",
                "peak_gflops",
                "peak_rss_mib",
                "spec",
                "threads"
            ]
        );
        assert_eq!(report["model"], "Baseline");
        assert_eq!(report["spec"], "specs/notebook/baseline.mlp");
        assert_eq!(report["threads"].as_u64(), threads.parse().ok());
        assert!(positive(&report["peak_gflops"]), "{report}");
        assert!(positive(&report["gemm_peak_gflops"]), "{report}");
        assert!(positive(&report["peak_rss_mib"]), "{report}");
        check_measured(&report["generated"], "generated");
        check_measured(&report["network"], "network");
        let baseline = &report["ndarray_baseline"];
        assert_eq!(
            baseline.as_object().map(serde_json::Map::len),
            Some(1),
            "{baseline}"
        );
        assert!(positive(&baseline["epoch_s"]), "{baseline}");
    }
}

/// A renamed copy of `baseline.mlp` gets the generated row; a changed layer, a model with
/// `Dropout` do not (and `Dropout` is outside the
/// hand-written baseline).
#[test]
fn only_models_compiled_in_get_a_generated_row() {
    let baseline = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook/baseline.mlp"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(baseline.contains("model Baseline") && baseline.contains("Dense(32,"));
    let copy = baseline.replace("model Baseline", "model MyCopy");
    let changed = baseline
        .replace("model Baseline", "model Wider")
        .replace("Dense(32,", "Dense(48,");
    let dropout = "model Dropped {\n    input [28, 28]\n    Flatten\n    \
                   Dense(16, activation = relu)\n    Dropout(0.2)\n    \
                   Dense(10, activation = softmax)\n}\n";
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("mine.mlp");
    std::fs::write(&spec, format!("{copy}\n{changed}\n{dropout}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (stdout, value) = quick_bench(&[&spec.to_string_lossy()], "1");
    assert!(stdout.contains("not compiled into this binary"), "{stdout}");
    let reports = value.as_array().unwrap_or_else(|| panic!("{value}"));
    let names: Vec<_> = reports.iter().map(|r| r["model"].as_str()).collect();
    assert_eq!(names, [Some("MyCopy"), Some("Wider"), Some("Dropped")]);
    check_measured(&reports[0]["generated"], "MyCopy generated");
    for report in reports {
        check_measured(&report["network"], "network");
    }
    assert!(reports[1]["generated"].is_null(), "{value}");
    assert!(reports[2]["generated"].is_null(), "{value}");
    assert!(
        positive(&reports[1]["ndarray_baseline"]["epoch_s"]),
        "{value}"
    );
    assert!(reports[2]["ndarray_baseline"].is_null(), "{value}");
}

#[test]
fn a_spec_with_mistakes_is_exit_1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let spec = dir.path().join("bad.mlp");
    std::fs::write(&spec, "model M { input [4] Dense(0) }").unwrap_or_else(|e| panic!("{e}"));
    let out = mlp(&["bench", &spec.to_string_lossy(), "--quick"]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", text(&out.stderr));
}

/// A tiny MNIST-shaped data folder: `train` and `test` images (28×28) with labels 0..9.
fn tiny_data(dir: &Path, train: u32, test: u32) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap_or_else(|e| panic!("{e}"));
    idx::write_mnist(&data, train, test);
    data
}

/// A batch far larger than the data is capped at the data's size, as `mlp train` does (it
/// used to size buffers for 10⁸ samples and abort).
#[test]
fn a_batch_larger_than_the_data_is_capped() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = tiny_data(dir.path(), 40, 12);
    let spec = dir.path().join("huge_batch.mlp");
    std::fs::write(
        &spec,
        "model Huge {\n input [28, 28]\n Flatten\n Dense(10, activation = softmax)\n \
         train { batch = 100000000 }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = mlp(&[
        "bench",
        &spec.to_string_lossy(),
        "--quick",
        "--data",
        &data.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Network"),
        "{}",
        text(&out.stdout)
    );
}

/// Mistakes that would only surface after the first models were measured are refused
/// before anything is: a later model that does not fit the data, a JSON file in a folder
/// that does not exist.
#[test]
fn every_model_and_the_json_path_are_checked_before_measuring() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = tiny_data(dir.path(), 40, 12);
    let spec = dir.path().join("two.mlp");
    std::fs::write(
        &spec,
        "model Fits { input [28, 28] Flatten Dense(10, activation = softmax) }\n\
         model Wide { input [8] Dense(10, activation = softmax) }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let spec = spec.to_string_lossy().into_owned();
    let data = data.to_string_lossy().into_owned();
    let out = mlp(&["bench", &spec, "--quick", "--data", &data]);
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`Wide`") && stderr.contains("784"),
        "{stderr}"
    );
    assert!(
        !text(&out.stdout).contains("kernel peak"),
        "nothing measured"
    );

    let json = dir.path().join("missing").join("out.json");
    let out = mlp(&[
        "bench",
        &spec,
        "--model",
        "Fits",
        "--quick",
        "--data",
        &data,
        "--json",
        &json.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("does not exist"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stdout).contains("kernel peak"),
        "nothing measured"
    );
}
