//! Small rough edges, each pinned: the top-level help names every command, `--threads`
//! above the core count says it is capped, `--data` takes a Keras `mnist.npz` file itself,
//! and a model with a flat input is described in words when the data does not fit it.

use std::fs;
use std::io::Write;
use std::path::Path;

use mlp_test_support::{assert_exit, idx, output, stderr, stdout, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

const SPEC: &str = "
model Tiny {
    input [28, 28]
    Flatten
    Dense(10, activation = softmax)
    train {
        batch = 8
        epochs = 1
    }
}
";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("tiny.mlp"), SPEC).unwrap();
    idx::write_mnist(&dir.path().join("data"), 32, 8);
    dir
}

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    output(MLP.command(dir).args(args).env_remove("MLP_DATA"))
}

#[test]
fn the_top_level_help_names_every_command_in_its_description() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"]);
    assert_exit(&out, 0);
    let about = stdout(&out).lines().next().unwrap_or_default().to_owned();
    for command in [
        "check", "summary", "fmt", "expand", "train", "compare", "bench",
    ] {
        assert!(about.contains(command), "`{command}` not in: {about}");
    }
}

#[test]
fn more_threads_than_cores_is_capped_with_a_warning() {
    let dir = setup();
    let out = run(
        dir.path(),
        &[
            "train",
            "tiny.mlp",
            "--quiet",
            "--data",
            "data",
            "--threads",
            "4096",
        ],
    );
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(
        err.starts_with("warning: --threads 4096 capped at ") && err.contains("core"),
        "{err}"
    );
    // One thread is never capped.
    let out = run(
        dir.path(),
        &[
            "train",
            "tiny.mlp",
            "--quiet",
            "--data",
            "data",
            "--threads",
            "1",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "");
}

/// A `.npy` array of `u8` with `shape` holding `data` (format 1.0).
fn npy(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn data_may_name_a_keras_mnist_npz_file_itself() {
    let dir = setup();
    let d = dir.path();
    let (train, test) = (32usize, 8usize);
    let images = |n: usize| idx::pattern(n * 784).collect::<Vec<u8>>();
    let labels = |n: usize| idx::cycling_labels(u32::try_from(n).unwrap());
    let file = fs::File::create(d.join("mnist.npz")).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in [
        ("x_train.npy", npy(&[train, 28, 28], &images(train))),
        ("y_train.npy", npy(&[train], &labels(train))),
        ("x_test.npy", npy(&[test, 28, 28], &images(test))),
        ("y_test.npy", npy(&[test], &labels(test))),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    let args = [
        "train",
        "tiny.mlp",
        "--data",
        "mnist.npz",
        "--history",
        "npz.json",
    ];
    let out = run(d, &args);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("Epoch 1/1 - 4/4"), "{}", stdout(&out));
    // The same data as the IDX files hold: the same History.
    let out = run(
        d,
        &[
            "train",
            "tiny.mlp",
            "--data",
            "data",
            "--history",
            "idx.json",
        ],
    );
    assert_exit(&out, 0);
    let metrics = |name: &str| {
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(d.join(name)).unwrap()).unwrap();
        (json["loss"].clone(), json["val_loss"].clone())
    };
    assert_eq!(metrics("npz.json"), metrics("idx.json"));
}
