//! `mlp export`: a trained notebook model as standalone code, checked for real.
//!
//! - Rust: the export becomes `src/model.rs` of a `#![no_std]` crate without `alloc`
//!   (`tests/export/nostd/`, copied into a temporary folder), which must build and pass
//!   clippy with `-D warnings`; its host harness runs 1,000 MNIST test images through
//!   `predict` and `predict_batch`, counting heap allocations (none allowed), and the
//!   outputs must equal `Network::forward`'s.
//! - C: `model.h` + `model.c` compiled with `cc -std=c99 -Wall -Wextra -Werror -pedantic`
//!   and a tiny driver (`tests/export/c/driver.c`), the same images, the same comparison.
//! - The export is deterministic, and bad inputs (another model's checkpoint, a file that
//!   is no checkpoint, an unwritable output) fail with a message and leave no file.
//!
//! The outputs are compared to [`TOLERANCE`]: the export computes each dot product in
//! another order than the runtime's GEMM (which uses fused multiply-adds where the CPU
//! has them), so the last bits differ. On raw 0..255 pixels the notebook models' logits
//! are tens, so a few ulp of a logit move a probability near 1e-3 by a few parts per
//! million: measured, the largest difference is 4.1e-6 (Rust) and 4.8e-6 (C) relative, on
//! outputs near 1e-3; the 1e-6 is not reachable without the GEMM's exact order.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlp_runtime::data::load_mnist;
use mlp_runtime::{checkpoint, Model, Network};
use mlp_test_support::{assert_exit, mnist_dir, stderr, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

/// Largest allowed `|export - network| / max(|network|, 1e-3)` per output: relative for
/// probabilities that matter, absolute (1e-8) below 1e-3 (see the module docs for what
/// was measured).
const TOLERANCE: f32 = 1e-5;

/// The same measure against onnxruntime, whose GEMM (MLAS) and `exp` differ from ours
/// more: measured 3.4e-5 at worst (baseline, outputs near 1e-3, i.e. 3e-8 absolute).
const ORT_TOLERANCE: f32 = 1e-4;

/// Test images run through both.
const IMAGES: usize = 1000;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn spec(name: &str) -> PathBuf {
    repo().join("specs/notebook").join(name)
}

/// Trains `spec` for one epoch and saves it into `dir`, returning the checkpoint's path.
fn trained(dir: &Path, spec: &Path) -> PathBuf {
    let ckpt = dir.join("trained.safetensors");
    let output = MLP.run(
        dir,
        &[
            "train",
            &spec.to_string_lossy(),
            "--epochs",
            "1",
            "--quiet",
            "--data",
            &mnist_dir().to_string_lossy(),
            "--save",
            &ckpt.to_string_lossy(),
        ],
    );
    assert_exit(&output, 0);
    ckpt
}

/// The first [`IMAGES`] test images as f32 rows, and what `Network` predicts for them.
fn reference(spec: &Path, ckpt: &Path) -> (Vec<f32>, Vec<f32>, usize) {
    let source = std::fs::read_to_string(spec).expect("spec");
    let ir = mlp_spec::compile(&source).expect("compiles").models[0].clone();
    let mut net = Network::new(&ir, 0, IMAGES).expect("a network");
    checkpoint::load(&mut net, ckpt).expect("loads");
    let data = load_mnist(Some(&mnist_dir())).expect("MNIST");
    let x: Vec<f32> = data
        .test
        .images()
        .expect("u8 features")
        .rows()
        .into_iter()
        .take(IMAGES)
        .flat_map(|r| r.iter().map(|&p| f32::from(p)).collect::<Vec<_>>())
        .collect();
    let y = net.forward(&x, IMAGES).to_vec();
    (x, y, ir.output_size())
}

fn f32_file(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("writable");
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("readable")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The largest error of `got` against `want` in [`TOLERANCE`]'s measure.
#[track_caller]
fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = (0.0f32, 0);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = (g - w).abs() / w.abs().max(1e-3);
        if e > worst.0 || e.is_nan() {
            worst = (e, i);
        }
    }
    println!("{what}: largest error {:e} at {}", worst.0, worst.1);
    assert!(
        worst.0 <= TOLERANCE,
        "{what}: output {} is {} exported vs {} from Network ({:e})",
        worst.1,
        got[worst.1],
        want[worst.1],
        worst.0
    );
}

fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("listable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copied");
        }
    }
}

#[test]
fn rust_export_runs_without_std_or_allocations_and_matches_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec("batchnorm.mlp");
    let ckpt = trained(dir.path(), &spec);
    let krate = dir.path().join("nostd");
    copy_dir(&repo().join("tests/export/nostd"), &krate);
    let model_rs = krate.join("src/model.rs");
    let args = |out: &Path| {
        vec![
            "export".to_owned(),
            spec.to_string_lossy().into_owned(),
            "--weights".to_owned(),
            ckpt.to_string_lossy().into_owned(),
            "-o".to_owned(),
            out.to_string_lossy().into_owned(),
        ]
    };
    let argv = args(&model_rs);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    assert_exit(&MLP.run(dir.path(), &argv), 0);
    // Deterministic: the same checkpoint gives the same bytes.
    let again = dir.path().join("again.rs");
    let argv2 = args(&again);
    let argv2: Vec<&str> = argv2.iter().map(String::as_str).collect();
    assert_exit(&MLP.run(dir.path(), &argv2), 0);
    assert_eq!(
        std::fs::read(&model_rs).expect("export"),
        std::fs::read(&again).expect("export"),
        "two exports of one checkpoint differ"
    );
    let cargo = env!("CARGO");
    let target = dir.path().join("target");
    run(
        Command::new(cargo)
            .args([
                "clippy",
                "--release",
                "--offline",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target),
        "cargo clippy on the no_std crate",
    );
    run(
        Command::new(cargo)
            .args(["build", "--release", "--offline"])
            .current_dir(&krate)
            .env("CARGO_TARGET_DIR", &target),
        "cargo build of the no_std crate",
    );
    let (x, want, _) = reference(&spec, &ckpt);
    let (input, output) = (dir.path().join("x.f32"), dir.path().join("y.f32"));
    f32_file(&input, &x);
    let printed = run(
        Command::new(target.join("release/harness")).args([&input, &output]),
        "the harness",
    );
    assert!(printed.contains("allocations 0"), "{printed}");
    close(&read_f32(&output), &want, "Rust export");
}

#[test]
fn c_export_compiles_warning_free_and_matches_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec("leaky_relu.mlp");
    let ckpt = trained(dir.path(), &spec);
    check_c_export(
        dir.path(),
        &spec,
        &ckpt,
        "model",
        "with_leaky_relu",
        "C export",
    );
}

/// Exports `spec` with `ckpt` as C (`<stem>.h` + `<stem>.c` in `dir`), compiles it with the
/// driver under `cc -std=c99 -Wall -Wextra -Werror -pedantic`, runs the test images through
/// it and compares with `Network`; `prefix` is the model's name in snake case.
fn check_c_export(dir: &Path, spec: &Path, ckpt: &Path, stem: &str, prefix: &str, what: &str) {
    let header = dir.join(format!("{stem}.h"));
    let output = MLP.run(
        dir,
        &[
            "export",
            &spec.to_string_lossy(),
            "--weights",
            &ckpt.to_string_lossy(),
            "--format",
            "c",
            "-o",
            &header.to_string_lossy(),
        ],
    );
    assert_exit(&output, 0);
    let source = dir.join(format!("{stem}.c"));
    assert!(source.is_file());
    let exe = dir.join(format!("{stem}-driver"));
    run(
        Command::new("cc")
            .args([
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-O2",
            ])
            .arg(format!("-DMODEL_HEADER=\"{stem}.h\""))
            .arg(format!("-DPREFIX_UPPER={}", prefix.to_uppercase()))
            .arg(format!("-DPREFIX_LOWER={prefix}"))
            .arg(format!("-I{}", dir.display()))
            .arg(repo().join("tests/export/c/driver.c"))
            .arg(&source)
            .arg("-o")
            .arg(&exe),
        "cc",
    );
    let (x, want, _) = reference(spec, ckpt);
    let (input, out) = (dir.join("x.f32"), dir.join("y.f32"));
    f32_file(&input, &x);
    run(Command::new(&exe).args([&input, &out]), "the C driver");
    close(&read_f32(&out), &want, what);
}

/// A model whose activations the C code computes with its own `exp`.
const ACTIVATIONS: &str = "model Acts {\n input [28, 28]\n Rescale(0.00392156862745098)\n Flatten\n Dense(32, activation = elu(alpha = 0.5))\n Dense(24, activation = selu)\n Dense(16, activation = silu)\n Dense(16, activation = leaky_relu)\n Dense(10, activation = softmax)\n}\n";

#[test]
fn c_export_computes_elu_selu_silu_and_leaky_relu_as_network_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("acts.mlp");
    std::fs::write(&spec, ACTIVATIONS).expect("writable");
    let ckpt = trained(dir.path(), &spec);
    check_c_export(
        dir.path(),
        &spec,
        &ckpt,
        "acts",
        "acts",
        "C export of elu, selu, silu, leaky_relu",
    );
    // gelu needs erf, which the standalone code does not carry: refused, naming it.
    let gelu = dir.path().join("gelu.mlp");
    std::fs::write(
        &gelu,
        ACTIVATIONS.replace("activation = selu", "activation = gelu"),
    )
    .expect("writable");
    let refused = MLP.run(
        dir.path(),
        &[
            "export",
            &gelu.to_string_lossy(),
            "--weights",
            &ckpt.to_string_lossy(),
            "-o",
            &dir.path().join("gelu.rs").to_string_lossy(),
        ],
    );
    assert_exit(&refused, 2);
    assert!(stderr(&refused).contains("gelu"), "{}", stderr(&refused));
    assert!(!dir.path().join("gelu.rs").exists());
}

#[test]
fn bad_exports_fail_clearly_and_leave_no_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ckpt = trained(dir.path(), &spec("baseline.mlp"));
    let out = dir.path().join("model.rs");
    let export = |spec: &Path, weights: &Path, out: &Path| {
        MLP.run(
            dir.path(),
            &[
                "export",
                &spec.to_string_lossy(),
                "--weights",
                &weights.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
            ],
        )
    };
    // A checkpoint of another spec: the first tensor that does not fit is named.
    let other = export(&spec("batchnorm.mlp"), &ckpt, &out);
    assert_exit(&other, 1);
    assert!(
        stderr(&other).contains("batch_normalization.gamma"),
        "{}",
        stderr(&other)
    );
    // A file that is no checkpoint.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a checkpoint").expect("writable");
    let bad = export(&spec("baseline.mlp"), &junk, &out);
    assert_exit(&bad, 1);
    assert!(
        stderr(&bad).contains("junk.safetensors"),
        "{}",
        stderr(&bad)
    );
    assert!(!out.exists(), "a refused export left a file");
    // An output folder that does not exist.
    let nowhere = dir.path().join("missing/model.rs");
    let io = export(&spec("baseline.mlp"), &ckpt, &nowhere);
    assert_exit(&io, 2);
    assert!(stderr(&io).contains("missing"), "{}", stderr(&io));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tmp" || e == "rs"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The Python that has `onnx` and `onnxruntime` (CI installs them into a throwaway virtual
/// environment and names it in `MLP_ONNX_PYTHON`, see .ci/run); `None` elsewhere.
fn onnx_python() -> Option<PathBuf> {
    match std::env::var_os("MLP_ONNX_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none()
                    || std::env::var_os("MLP_ONNX_UNAVAILABLE").is_some(),
                "CI must set MLP_ONNX_PYTHON (.ci/run installs onnxruntime)"
            );
            eprintln!(
                "\n*** SKIPPED: the ONNX check against onnxruntime needs MLP_ONNX_PYTHON (a Python with onnx and onnxruntime); CI sets it ***\n"
            );
            None
        }
    }
}

#[test]
fn onnx_export_passes_the_onnx_checker_and_onnxruntime_agrees_with_network() {
    let Some(python) = onnx_python() else {
        return;
    };
    let examples = repo().join("specs/examples/activations.mlp");
    for (name, which) in [
        ("baseline.mlp", None),
        ("batchnorm.mlp", None),
        ("leaky_relu.mlp", None),
        ("activations.mlp", Some("Smooth")),
        ("activations.mlp", Some("Layers")),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = match which {
            None => spec(name),
            Some(m) => {
                // One model per file, so `train` and `export` need no `--model`.
                let source = std::fs::read_to_string(&examples).expect("readable");
                let ir = mlp_spec::compile(&source).expect("compiles");
                let start = source.find(&format!("model {m}")).expect("the model");
                let end = ir
                    .models
                    .iter()
                    .filter_map(|other| source.find(&format!("model {}", other.name)))
                    .filter(|&at| at > start)
                    .min()
                    .unwrap_or(source.len());
                // Without the next model's `///` lines.
                let text: Vec<&str> = source[start..end]
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("///"))
                    .collect();
                let path = dir.path().join(format!("{m}.mlp"));
                std::fs::write(&path, text.join("\n")).expect("writable");
                path
            }
        };
        let ckpt = trained(dir.path(), &spec);
        let model = dir.path().join("model.onnx");
        let output = MLP.run(
            dir.path(),
            &[
                "export",
                &spec.to_string_lossy(),
                "--weights",
                &ckpt.to_string_lossy(),
                "--format",
                "onnx",
                "-o",
                &model.to_string_lossy(),
            ],
        );
        assert_exit(&output, 0);
        let (x, want, _) = reference(&spec, &ckpt);
        let (input, expected) = (dir.path().join("x.f32"), dir.path().join("y.f32"));
        f32_file(&input, &x);
        f32_file(&expected, &want);
        let printed = run(
            Command::new(&python)
                .arg(repo().join("scripts/onnx_check.py"))
                .args([&model, &input, &expected])
                .arg(ORT_TOLERANCE.to_string()),
            "scripts/onnx_check.py",
        );
        println!("{name} {}: {printed}", which.unwrap_or(""));
    }
}
