//! A corpus of bad inputs run through the real `mlp` binary: command-line flags, spec files,
//! MNIST files, users' tables and arrays (CSV, `.npy`, `.npz`) and checkpoints, each broken
//! in one way. Every case must end with exit code 1
//! (spec, data or checkpoint content) or 2 (usage or I/O), a first error line naming the
//! file or flag at fault, no panic, and no file left behind (no history, plot or saved
//! model, no temporary file).
//!
//! Each case runs in its own temporary folder holding a tiny valid spec (`tiny.mlp`) and a
//! tiny valid MNIST (`data/`, a few synthetic images); the tabular cases add a tabular spec
//! (`tab.mlp`), a CSV with a header and text labels (`t.csv`), its rows as `.npy` features
//! and targets and as a Keras-style `.npz` ([`tabular`]). The case then breaks one thing.
//! Control tests train (and evaluate and predict) on those same folders and must succeed,
//! so every failure below comes from the one broken thing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use mlp_runtime::{Model, Network};
use mlp_test_support::{idx, npy, output, text, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

/// The model every case trains: as small as MNIST allows.
const TINY: &str = "
model Tiny {
    input [28, 28]
    Flatten
    Dense(10, activation = softmax)
    train {
        optimizer = adam
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 8
        epochs = 1
        seed = 1
    }
}
";

/// Another model, whose checkpoints must not load into `Tiny`.
const OTHER: &str = "
model Other {
    input [28, 28]
    Flatten
    Dense(12, activation = relu)
    Dense(10, activation = softmax)
}
";

/// Samples in the synthetic training and test sets.
const TRAIN: u32 = 16;
const TEST: u32 = 8;

const TRAIN_IMAGES: &str = "data/train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "data/train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "data/t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "data/t10k-labels-idx1-ubyte";

const CHECKPOINT: &str = "ck/epoch-0001.safetensors";

/// The output flags added to cases that get as far as loading data or checkpoints: none of
/// these files may exist afterwards.
const OUTPUTS: [&str; 6] = [
    "--history",
    "out.json",
    "--plot",
    "out.png",
    "--save",
    "out.safetensors",
];

/// What the error output must show.
#[derive(Debug, Clone, Copy)]
enum Cause {
    /// The first line is `error: …` and contains this text (the file or flag at fault).
    Line(&'static str),
    /// Spec diagnostics: a location in this file (`[file:line:col]`) and a closing count line
    /// `file: N error(s)`.
    Diagnostics(&'static str),
}

/// One bad input.
struct Case {
    /// What is broken.
    name: &'static str,
    /// Breaks the valid folder.
    prepare: fn(&Path),
    /// The command line after `mlp`.
    args: &'static [&'static str],
    /// Whether to add [`OUTPUTS`] to the command line.
    outputs: bool,
    /// The expected exit code.
    code: i32,
    /// What stderr must say.
    cause: Cause,
}

// ---------------------------------------------------------------------------------------------
// Synthetic inputs.

/// An IDX image file claiming `count` images of `rows`×`cols`, holding `pixels` pixels.
fn idx_images(count: u32, rows: u32, cols: u32, pixels: usize) -> Vec<u8> {
    idx::images(count, rows, cols, idx::pattern(pixels))
}

/// `count` labels cycling through the ten classes.
fn labels(count: u32) -> Vec<u8> {
    idx::cycling_labels(count)
}

/// Valid images of `count` 28x28 samples.
fn images(count: u32) -> Vec<u8> {
    idx_images(count, 28, 28, count as usize * 784)
}

/// Valid IDX files of 14×14 images (a quarter of the model's input) in place of MNIST's.
fn images_14x14(d: &Path) {
    write(
        d,
        TRAIN_IMAGES,
        &idx_images(TRAIN, 14, 14, TRAIN as usize * 196),
    );
    write(
        d,
        TEST_IMAGES,
        &idx_images(TEST, 14, 14, TEST as usize * 196),
    );
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap();
}

/// A valid tiny MNIST in `dir/data`.
fn write_mnist(dir: &Path) {
    idx::write_mnist(&dir.join("data"), TRAIN, TEST);
}

/// The CRC-32 (IEEE) gzip stores.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid gzip file of `data` made of stored (uncompressed) deflate blocks.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

/// Replaces the plain training images by a gzip file holding `bytes`.
fn gzipped_train_images(dir: &Path, bytes: &[u8]) {
    fs::remove_file(dir.join(TRAIN_IMAGES)).unwrap();
    write(dir, &format!("{TRAIN_IMAGES}.gz"), bytes);
}

/// A checkpoint of an untrained model of `spec` at `dir/ck/epoch-0001.safetensors`.
fn checkpoint_of(spec: &str, dir: &Path) {
    let model = mlp_spec::compile(spec).unwrap().models.remove(0);
    fs::create_dir(dir.join("ck")).unwrap();
    Network::new(&model, 0, 1)
        .unwrap()
        .save(&dir.join(CHECKPOINT))
        .unwrap();
}

/// One tensor of a safetensors file: name, dtype, shape, bytes.
struct Tensor {
    name: String,
    dtype: String,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// Splits a safetensors file into its metadata and tensors.
fn parse_safetensors(file: &[u8]) -> (serde_json::Value, Vec<Tensor>) {
    let (length, rest) = file.split_at(8);
    let length = usize::try_from(u64::from_le_bytes(length.try_into().unwrap())).unwrap();
    let (header, data) = rest.split_at(length);
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).unwrap();
    let mut metadata = serde_json::Value::Null;
    let mut tensors = Vec::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            metadata = entry;
            continue;
        }
        let offsets: Vec<usize> = serde_json::from_value(entry["data_offsets"].clone()).unwrap();
        tensors.push(Tensor {
            name,
            dtype: entry["dtype"].as_str().unwrap().to_owned(),
            shape: serde_json::from_value(entry["shape"].clone()).unwrap(),
            bytes: data[offsets[0]..offsets[1]].to_vec(),
        });
    }
    (metadata, tensors)
}

/// Lays `tensors` out as a well-formed safetensors file.
fn write_safetensors(metadata: serde_json::Value, tensors: &[Tensor]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_null() {
        header.insert("__metadata__".to_owned(), metadata);
    }
    let mut data = Vec::new();
    for tensor in tensors {
        let start = data.len();
        data.extend_from_slice(&tensor.bytes);
        header.insert(
            tensor.name.clone(),
            serde_json::json!({
                "dtype": tensor.dtype,
                "shape": tensor.shape,
                "data_offsets": [start, data.len()],
            }),
        );
    }
    let mut header = serde_json::to_vec(&header).unwrap();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&header);
    file.extend_from_slice(&data);
    file
}

/// A well-formed checkpoint of `Tiny` with one change made to its tensors.
fn edited_checkpoint(dir: &Path, edit: impl FnOnce(&mut Vec<Tensor>)) {
    checkpoint_of(TINY, dir);
    let path = dir.join(CHECKPOINT);
    let (metadata, mut tensors) = parse_safetensors(&fs::read(&path).unwrap());
    assert!(
        tensors.iter().any(|t| t.name == "dense.bias"),
        "tensor names changed: edit the checkpoint cases"
    );
    edit(&mut tensors);
    fs::write(path, write_safetensors(metadata, &tensors)).unwrap();
}

fn tensor<'t>(tensors: &'t mut [Tensor], name: &str) -> &'t mut Tensor {
    tensors.iter_mut().find(|t| t.name == name).unwrap()
}

/// A checkpoint file holding `bytes`.
fn raw_checkpoint(dir: &Path, bytes: &[u8]) {
    fs::create_dir(dir.join("ck")).unwrap();
    write(dir, CHECKPOINT, bytes);
}

// ---------------------------------------------------------------------------------------------
// Running.

/// Every path under `dir`, relative to it, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            paths.push(path.strip_prefix(dir).unwrap().to_owned());
        }
    }
    paths.sort();
    paths
}

/// A folder holding `tiny.mlp` and a valid `data/`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tiny.mlp", TINY.as_bytes());
    write_mnist(dir.path());
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    output(
        MLP.command(dir)
            .args(args)
            // No search or download outside the folder, whatever the environment says.
            .env_remove("MLP_DATA")
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("HOME", dir.join("home"))
            .env("NO_COLOR", "1"),
    )
}

/// Runs one case; the description of what went wrong, if anything did.
fn check(case: &Case) -> Option<String> {
    let dir = setup();
    let d = dir.path();
    (case.prepare)(d);
    let before = listing(d);
    let mut args = case.args.to_vec();
    if case.outputs {
        args.extend_from_slice(&OUTPUTS);
    }
    let output = run(d, &args);
    let stderr = text(&output.stderr);
    let mut problems = Vec::new();
    if output.status.code() != Some(case.code) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            output.status.code(),
            case.code
        ));
    }
    if stderr.contains("panicked") {
        problems.push("panicked".to_owned());
    }
    match case.cause {
        Cause::Line(names) => {
            let first = stderr.lines().next().unwrap_or_default();
            if !first.starts_with("error: ") || !first.contains(names) {
                problems.push(format!("first line does not name `{names}`"));
            }
            if stderr.matches("error: ").count() != 1 {
                problems.push("not exactly one `error:` line".to_owned());
            }
        }
        Cause::Diagnostics(file) => {
            if !stderr.contains(&format!("[{file}:")) {
                problems.push(format!("no diagnostic located in `{file}`"));
            }
            let last = stderr.lines().last().unwrap_or_default();
            if !(last.starts_with(&format!("{file}: ")) && last.contains(" error")) {
                problems.push(format!("last line is not the error count of `{file}`"));
            }
        }
    }
    let after = listing(d);
    if after != before {
        let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
        let gone: Vec<_> = before.iter().filter(|p| !after.contains(p)).collect();
        problems.push(format!("files appeared {new:?}, disappeared {gone:?}"));
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "{}: `mlp {}`: {}\nstdout:\n{}\nstderr:\n{}",
        case.name,
        args.join(" "),
        problems.join("; "),
        text(&output.stdout),
        stderr
    ))
}

// ---------------------------------------------------------------------------------------------
// The corpus.

fn nothing(_: &Path) {}

fn flag_cases() -> Vec<Case> {
    const T: &str = "train";
    const S: &str = "tiny.mlp";
    let flag = |name: &'static str, args: &'static [&'static str], names: &'static str| Case {
        name,
        prepare: nothing,
        args,
        outputs: false,
        code: 2,
        cause: Cause::Line(names),
    };
    vec![
        flag("batch 0", &[T, S, "--batch", "0"], "--batch"),
        flag("epochs 0", &[T, S, "--epochs", "0"], "--epochs"),
        flag("threads 0", &[T, S, "--threads", "0"], "--threads"),
        flag("threads -2", &[T, S, "--threads=-2"], "--threads"),
        flag("batch -1", &[T, S, "--batch", "-1"], "--batch"),
        flag("epochs -3", &[T, S, "--epochs=-3"], "--epochs"),
        flag(
            "compare epochs -1",
            &["compare", S, "--epochs", "-1"],
            "--epochs",
        ),
        flag("compare jobs -2", &["compare", S, "--jobs", "-2"], "--jobs"),
        flag("compare seed -1", &["compare", S, "--seed", "-1"], "--seed"),
        flag(
            "bench threads -1",
            &["bench", S, "--threads", "-1"],
            "--threads",
        ),
        flag("batch not a number", &[T, S, "--batch", "lots"], "--batch"),
        flag("epochs 1.5", &[T, S, "--epochs", "1.5"], "--epochs"),
        flag(
            "epochs past u64",
            &[T, S, "--epochs", "18446744073709551616"],
            "--epochs",
        ),
        flag(
            "batch past u128",
            &[
                T,
                S,
                "--batch",
                "999999999999999999999999999999999999999999",
            ],
            "--batch",
        ),
        flag("seed -1", &[T, S, "--seed", "-1"], "--seed"),
        flag("keep -2", &[T, S, "--keep", "-2"], "--keep"),
        flag(
            "seed past u64",
            &[T, S, "--seed", "18446744073709551616"],
            "--seed",
        ),
        flag("keep 0", &[T, S, "--keep", "0"], "--keep"),
        flag("on-nan maybe", &[T, S, "--on-nan", "maybe"], "--on-nan"),
        flag(
            "on-write-error maybe",
            &[T, S, "--on-write-error", "maybe"],
            "--on-write-error",
        ),
        flag("epochs empty", &[T, S, "--epochs", ""], "--epochs"),
        flag("epochs without value", &[T, S, "--epochs"], "--epochs"),
        flag(
            "unknown flag",
            &[T, S, "--learning-rate", "0.1"],
            "--learning-rate",
        ),
        flag("unknown command", &["teach", S], "teach"),
        flag("missing spec", &[T, "missing.mlp"], "missing.mlp"),
        Case {
            name: "spec is a folder",
            prepare: |d| fs::create_dir(d.join("folder.mlp")).unwrap(),
            ..flag("", &[T, "folder.mlp"], "folder.mlp")
        },
        flag("history x.txt", &[T, S, "--history", "x.txt"], "x.txt"),
        flag(
            "history without extension",
            &[T, S, "--history", "history"],
            "history",
        ),
        flag("plot x.jpg", &[T, S, "--plot", "x.jpg"], "x.jpg"),
        flag(
            "history into a missing folder",
            &[T, S, "--history", "nowhere/h.json"],
            "nowhere/h.json",
        ),
        flag(
            "plot into a missing folder",
            &[T, S, "--plot", "nowhere/p.png"],
            "nowhere/p.png",
        ),
        flag(
            "save into a missing folder",
            &[T, S, "--save", "nowhere/m.safetensors"],
            "nowhere/m.safetensors",
        ),
        Case {
            name: "save to a folder",
            prepare: |d| fs::create_dir(d.join("saved")).unwrap(),
            ..flag("", &[T, S, "--save", "saved"], "saved")
        },
        Case {
            name: "history is a folder",
            prepare: |d| fs::create_dir(d.join("h.json")).unwrap(),
            ..flag(
                "",
                // No `--data`: the path is refused before any data is looked for.
                &[T, S, "--quiet", "--history", "h.json"],
                "h.json",
            )
        },
        Case {
            name: "plot is a folder",
            prepare: |d| fs::create_dir(d.join("p.png")).unwrap(),
            ..flag("", &[T, S, "--quiet", "--plot", "p.png"], "p.png")
        },
        flag(
            "resume a missing folder",
            &[T, S, "--resume", "nowhere"],
            "nowhere",
        ),
        flag("resume a file", &[T, S, "--resume", "tiny.mlp"], "--resume"),
        flag(
            "checkpoint-dir is a file",
            &[T, S, "--checkpoint-dir", "tiny.mlp"],
            "--checkpoint-dir",
        ),
        Case {
            name: "two models and no --model",
            prepare: |d| write(d, "two.mlp", format!("{TINY}{OTHER}").as_bytes()),
            ..flag("", &[T, "two.mlp"], "two.mlp")
        },
        Case {
            name: "unknown model",
            code: 1,
            ..flag("", &[T, S, "--model", "Huge"], "Huge")
        },
        Case {
            name: "data in a missing folder",
            code: 1,
            ..flag("", &[T, S, "--quiet", "--data", "nowhere"], "nowhere")
        },
        Case {
            name: "data is a file",
            code: 1,
            ..flag("", &[T, S, "--quiet", "--data", "tiny.mlp"], "tiny.mlp")
        },
    ]
}

fn spec_cases() -> Vec<Case> {
    let bad = |name: &'static str, prepare: fn(&Path), command: &str| Case {
        name,
        prepare,
        args: if command == "check" {
            &["check", "bad.mlp"]
        } else {
            &["train", "bad.mlp", "--quiet", "--data", "data"]
        },
        outputs: command == "train",
        code: 1,
        cause: Cause::Diagnostics("bad.mlp"),
    };
    let mut cases = Vec::new();
    for command in ["check", "train"] {
        cases.extend([
            bad(
                "unknown layer",
                |d| spec(d, &TINY.replace("Flatten", "Flaten")),
                command,
            ),
            bad(
                "syntax error",
                |d| spec(d, &TINY.replace("Dense(10,", "Dense(10,,")),
                command,
            ),
            bad(
                "Dense without Flatten",
                |d| spec(d, &TINY.replace("Flatten\n", "")),
                command,
            ),
            bad(
                "unknown optimizer",
                |d| spec(d, &TINY.replace("adam", "adamm")),
                command,
            ),
            bad("empty spec", |d| spec(d, ""), command),
            bad(
                "unclosed brace",
                |d| spec(d, TINY.trim_end().trim_end_matches('}')),
                command,
            ),
            Case {
                name: "not UTF-8",
                code: 2,
                cause: Cause::Line("bad.mlp"),
                ..bad(
                    "",
                    |d| write(d, "bad.mlp", b"model \xff\xfe Tiny {\n}\n"),
                    command,
                )
            },
        ]);
    }
    cases
}

fn spec(dir: &Path, text: &str) {
    write(dir, "bad.mlp", text.as_bytes());
}

fn data_cases() -> Vec<Case> {
    let bad = |name: &'static str, prepare: fn(&Path), code: i32, names: &'static str| Case {
        name,
        prepare,
        args: &["train", "tiny.mlp", "--quiet", "--data", "data"],
        outputs: true,
        code,
        cause: Cause::Line(names),
    };
    let images_file = "train-images-idx3-ubyte";
    let labels_file = "train-labels-idx1-ubyte";
    vec![
        bad(
            "truncated images",
            |d| write(d, TRAIN_IMAGES, &images(TRAIN)[..1000]),
            1,
            images_file,
        ),
        bad(
            "truncated header",
            |d| write(d, TRAIN_IMAGES, &images(TRAIN)[..6]),
            1,
            images_file,
        ),
        bad(
            "empty images",
            |d| write(d, TRAIN_IMAGES, b""),
            1,
            images_file,
        ),
        bad(
            "empty labels",
            |d| write(d, TRAIN_LABELS, b""),
            1,
            labels_file,
        ),
        bad(
            "labels magic in the images file",
            |d| write(d, TRAIN_IMAGES, &idx::labels(TRAIN, &labels(TRAIN))),
            1,
            images_file,
        ),
        bad(
            "images magic in the labels file",
            |d| write(d, TRAIN_LABELS, &images(TRAIN)),
            1,
            labels_file,
        ),
        bad(
            "header claims 60000 images, file holds 10",
            |d| write(d, TRAIN_IMAGES, &idx_images(60_000, 28, 28, 10 * 784)),
            1,
            images_file,
        ),
        bad(
            "header claims 4 billion images of 4 billion squared pixels",
            |d| {
                write(
                    d,
                    TRAIN_IMAGES,
                    &idx_images(u32::MAX, u32::MAX, u32::MAX, 784),
                );
            },
            1,
            images_file,
        ),
        bad(
            "zero rows",
            |d| write(d, TRAIN_IMAGES, &idx_images(TRAIN, 0, 28, 0)),
            1,
            images_file,
        ),
        bad(
            "header claims 60000 labels, file holds 16",
            |d| write(d, TRAIN_LABELS, &idx::labels(60_000, &labels(TRAIN))),
            1,
            labels_file,
        ),
        bad(
            "label 10",
            |d| {
                let mut labels = labels(TRAIN);
                labels[3] = 10;
                write(d, TRAIN_LABELS, &idx::labels(TRAIN, &labels));
            },
            1,
            labels_file,
        ),
        bad(
            "label 255 in the test set",
            |d| write(d, TEST_LABELS, &idx::labels(TEST, &[255; TEST as usize])),
            1,
            "t10k-labels-idx1-ubyte",
        ),
        bad(
            "more labels than images",
            |d| write(d, TRAIN_LABELS, &idx::labels(TRAIN + 2, &labels(TRAIN + 2))),
            1,
            images_file,
        ),
        bad(
            "fewer test images than labels",
            |d| write(d, TEST_IMAGES, &images(TEST - 1)),
            1,
            "t10k-images-idx3-ubyte",
        ),
        bad(
            "corrupt gzip",
            |d| {
                // The first deflate block claims the reserved block type 3.
                let mut bytes = gzip(&images(TRAIN));
                bytes[10] = 0b111;
                gzipped_train_images(d, &bytes);
            },
            1,
            "train-images-idx3-ubyte.gz",
        ),
        bad(
            "truncated gzip",
            |d| {
                let bytes = gzip(&images(TRAIN));
                gzipped_train_images(d, &bytes[..bytes.len() / 2]);
            },
            1,
            "train-images-idx3-ubyte.gz",
        ),
        bad(
            "gzip with a wrong checksum",
            |d| {
                let mut bytes = gzip(&images(TRAIN));
                let crc = bytes.len() - 8;
                bytes[crc] ^= 0xff;
                gzipped_train_images(d, &bytes);
            },
            1,
            "train-images-idx3-ubyte.gz",
        ),
        bad(
            "gzip of a truncated file",
            |d| gzipped_train_images(d, &gzip(&images(TRAIN)[..900])),
            1,
            "train-images-idx3-ubyte.gz",
        ),
        bad(
            "empty gzip",
            |d| gzipped_train_images(d, &gzip(b"")),
            1,
            "train-images-idx3-ubyte.gz",
        ),
        bad(
            "only two of the four files",
            |d| {
                fs::remove_file(d.join(TEST_IMAGES)).unwrap();
                fs::remove_file(d.join(TEST_LABELS)).unwrap();
            },
            1,
            "t10k-images-idx3-ubyte",
        ),
        bad(
            "corrupt mnist.npz",
            |d| {
                for file in [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] {
                    fs::remove_file(d.join(file)).unwrap();
                }
                write(d, "data/mnist.npz", b"PK\x03\x04 this is not really a zip");
            },
            1,
            "mnist.npz",
        ),
        bad(
            "images of another size (14x14) than the model's input",
            images_14x14,
            1,
            "`data` have 196 (14×14) features per sample, but `Tiny` in `tiny.mlp` takes 784 (28×28) input features",
        ),
        Case {
            name: "a model of 13 input features on MNIST (said in words, not `13 (13)`)",
            prepare: |d| {
                spec(
                    d,
                    &TINY
                        .replace("input [28, 28]", "input [13]")
                        .replace("    Flatten\n", ""),
                );
            },
            args: &["train", "bad.mlp", "--quiet", "--data", "data"],
            outputs: true,
            code: 1,
            cause: Cause::Line("but `Tiny` in `bad.mlp` takes 13 input features"),
        },
        Case {
            name: "a corrupt .npz named directly by --data",
            prepare: |d| write(d, "data/mnist.npz", b"PK\x03\x04 this is not really a zip"),
            args: &["train", "tiny.mlp", "--quiet", "--data", "data/mnist.npz"],
            outputs: true,
            code: 1,
            cause: Cause::Line("mnist.npz"),
        },
        Case {
            name: "compare on images of another size",
            prepare: images_14x14,
            args: &[
                "compare", "tiny.mlp", "--quiet", "--data", "data", "--out", "cmp",
            ],
            outputs: false,
            code: 1,
            cause: Cause::Line("`data` have 196 (14×14) features per sample"),
        },
        Case {
            name: "bench on an empty test set",
            prepare: |d| {
                write(d, TEST_IMAGES, &images(0));
                write(d, TEST_LABELS, &idx::labels(0, &[]));
            },
            args: &["bench", "tiny.mlp", "--quick", "--data", "data"],
            outputs: false,
            code: 1,
            cause: Cause::Line("test set is empty"),
        },
    ]
}

/// The tabular model of the tabular cases: 4 features, 3 classes.
const TAB: &str = "
model Tab {
    input [4]
    Normalization
    Dense(3, activation = softmax)
    train {
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 4
        epochs = 1
    }
}
";

/// The header and rows of `t.csv` (iris-like, text labels last).
const TABLE_HEADER: &str = "sl,sw,pl,pw,species";
const TABLE_ROWS: [&str; 6] = [
    "5.1,3.5,1.4,0.2,setosa",
    "4.9,3.0,1.4,0.2,setosa",
    "6.4,3.2,4.5,1.5,versicolor",
    "6.3,3.3,6.0,2.5,virginica",
    "5.8,2.7,5.1,1.9,virginica",
    "7.0,3.2,4.7,1.4,versicolor",
];

/// `t.csv` with `rows` (each a line) after its header.
fn table(dir: &Path, rows: &[&str]) {
    let mut text = format!("{TABLE_HEADER}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    write(dir, "t.csv", text.as_bytes());
}

/// `t.csv` with row `index` (0-based, after the header) replaced by `row`.
fn table_with(dir: &Path, index: usize, row: &str) {
    let mut rows = TABLE_ROWS.to_vec();
    rows[index] = row;
    table(dir, &rows);
}

/// The table's features, 6×4, as f32.
fn table_features() -> Vec<f32> {
    TABLE_ROWS
        .iter()
        .flat_map(|row| row.split(',').take(4).map(|c| c.parse::<f32>().unwrap()))
        .collect()
}

/// A zip archive of `.npy` members named `name.npy`.
fn npz(dir: &Path, file: &str, members: &[(&str, Vec<u8>)]) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(fs::File::create(dir.join(file)).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// The valid tabular inputs: `tab.mlp`, `t.csv`, `x.npy` + `y.npy` (the same rows, class
/// indices 0..3), `t.npz` (`x_train`, `y_train`, `x_test`, `y_test`) and `w.safetensors`,
/// untrained weights of `Tab`.
fn tabular(d: &Path) {
    write(d, "tab.mlp", TAB.as_bytes());
    table(d, &TABLE_ROWS);
    let x = npy::f32s(&[6, 4], &table_features());
    let y = npy::i64s(&[6], &[0, 0, 1, 2, 2, 1]);
    write(d, "x.npy", &x);
    write(d, "y.npy", &y);
    npz(
        d,
        "t.npz",
        &[
            ("x_train", x.clone()),
            ("y_train", y.clone()),
            ("x_test", x),
            ("y_test", y),
        ],
    );
    weights_of(TAB, d, "w.safetensors");
}

/// Untrained weights of the model of `spec` in `dir/file`.
fn weights_of(spec: &str, dir: &Path, file: &str) {
    let model = mlp_spec::compile(spec).unwrap().models.remove(0);
    Network::new(&model, 0, 1)
        .unwrap()
        .save(&dir.join(file))
        .unwrap();
}

fn tabular_cases() -> Vec<Case> {
    const CSV: &[&str] = &["train", "tab.mlp", "--quiet", "--data", "t.csv"];
    let bad = |name: &'static str, prepare: fn(&Path), names: &'static str| Case {
        name,
        prepare,
        args: CSV,
        outputs: true,
        code: 1,
        cause: Cause::Line(names),
    };
    let npy_case = |name: &'static str, prepare: fn(&Path), names: &'static str| Case {
        args: &[
            "train", "tab.mlp", "--quiet", "--data", "x.npy", "--target", "y.npy",
        ],
        ..bad(name, prepare, names)
    };
    vec![
        bad(
            "a ragged row",
            |d| {
                tabular(d);
                table_with(d, 2, "6.4,3.2,4.5,versicolor");
            },
            "t.csv:4:5: row has 4 fields, expected 5 (as many as the header)",
        ),
        bad(
            "a word in a feature column",
            |d| {
                tabular(d);
                table_with(d, 1, "4.9,abc,1.4,0.2,setosa");
            },
            "t.csv:3:2: `abc` in column `sw` is not a number",
        ),
        bad(
            "a NaN cell",
            |d| {
                tabular(d);
                table_with(d, 3, "6.3,3.3,NaN,2.5,virginica");
            },
            "t.csv:5:3: `NaN` in column `pl` is not a finite number",
        ),
        bad(
            "an infinite cell",
            |d| {
                tabular(d);
                table_with(d, 0, "-inf,3.5,1.4,0.2,setosa");
            },
            "t.csv:2:1: `-inf` in column `sl` is not a finite number",
        ),
        bad(
            "a number beyond f32",
            |d| {
                tabular(d);
                table_with(d, 0, "5.1,3.5,1e39,0.2,setosa");
            },
            "t.csv:2:3: `1e39` in column `pl` is not a finite number",
        ),
        bad(
            "an empty CSV",
            |d| {
                tabular(d);
                write(d, "t.csv", b"");
            },
            "t.csv: no data rows (the file is empty)",
        ),
        bad(
            "a CSV with a header only",
            |d| {
                tabular(d);
                table(d, &[]);
            },
            "t.csv: no data rows (the file holds only a header)",
        ),
        Case {
            args: &["train", "tab.mlp", "--quiet", "--data", "t.csv", "--target", "specie"],
            ..bad(
                "a target column that does not exist",
                tabular,
                "t.csv:1: no column named `specie` in the header (did you mean `species`?)",
            )
        },
        bad(
            "a CSV without its target column to train on",
            |d| {
                tabular(d);
                let rows: Vec<&str> = TABLE_ROWS.iter().map(|r| r.rsplit_once(',').unwrap().0).collect();
                let text = format!("sl,sw,pl,pw\n{}\n", rows.join("\n"));
                write(d, "t.csv", text.as_bytes());
            },
            // Training reads the last column as the target whatever the width.
            "the samples in `t.csv` have 3 features per sample, but `Tab` in `tab.mlp` takes 4 input features",
        ),
        bad(
            "more classes than output units",
            |d| {
                tabular(d);
                table_with(d, 5, "7.0,3.2,4.7,1.4,unknown");
            },
            "the targets in column `species` of `t.csv` do not fit `Tab`: the targets are text labels of 4 classes (`setosa`, `unknown`, `versicolor`, `virginica`), but the output layer `dense` has 3 units",
        ),
        Case {
            args: &["train", "tab.mlp", "--quiet", "--data", "x.npy", "--target", "y.npy"],
            ..bad(
                "class indices past the output units",
                |d| {
                    tabular(d);
                    write(d, "y.npy", &npy::i64s(&[6], &[0, 0, 1, 2, 3, 1]));
                },
                "the targets in `y.npy` do not fit `Tab`: label 3 of sample 4 is not a class of the model's 3 outputs",
            )
        },
        bad(
            "a feature count that differs from the spec's input",
            |d| {
                tabular(d);
                write(d, "tab.mlp", TAB.replace("input [4]", "input [5]").as_bytes());
            },
            "the samples in `t.csv` have 4 features per sample, but `Tab` in `tab.mlp` takes 5 input features",
        ),
        bad(
            "text labels under mse",
            |d| {
                tabular(d);
                let spec = TAB
                    .replace("sparse_categorical_crossentropy", "mse")
                    .replace("[accuracy]", "[mae]");
                write(d, "tab.mlp", spec.as_bytes());
            },
            "the targets in column `species` of `t.csv` do not fit `Tab`: `mean_squared_error` compares each output with a number, but the targets are text labels (3 classes: `setosa`, `versicolor`, `virginica`)",
        ),
        bad(
            "values in [0, 5] under binary_crossentropy",
            |d| {
                tabular(d);
                let spec = TAB
                    .replace("sparse_categorical_crossentropy", "binary_crossentropy")
                    .replace("Dense(3, activation = softmax)", "Dense(1, activation = sigmoid)");
                write(d, "tab.mlp", spec.as_bytes());
                let rows: Vec<String> = TABLE_ROWS
                    .iter()
                    .enumerate()
                    .map(|(i, row)| format!("{},{}", row.rsplit_once(',').unwrap().0, i % 6))
                    .collect();
                let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
                table(d, &rows);
            },
            "the targets in column `species` of `t.csv` do not fit `Tab`: `binary_crossentropy` needs targets in [0, 1], but target 0 of sample 2 is 2",
        ),
        npy_case(
            "an npy header claiming more than the file holds",
            |d| {
                tabular(d);
                let data = npy::f32s(&[6, 4], &table_features());
                let lying = npy::with_header(&npy::dict("<f4", &[600, 4]), &data[128..]);
                write(d, "x.npy", &lying);
            },
            "x.npy: header says shape (600, 4) of float32 (9600 bytes) but the file holds 96 bytes",
        ),
        npy_case(
            "an npy of complex numbers",
            |d| {
                tabular(d);
                write(d, "x.npy", &npy::with_header(&npy::dict("<c8", &[6, 4]), &[0; 192]));
            },
            "x.npy: element type '<c8' is not read: it holds complex numbers",
        ),
        npy_case(
            "an npy of Python objects",
            |d| {
                tabular(d);
                write(d, "x.npy", &npy::with_header(&npy::dict("|O", &[6, 4]), &[0; 192]));
            },
            "x.npy: element type '|O' is not read: it holds Python objects",
        ),
        npy_case(
            "an npy header claiming 10 GB",
            |d| {
                tabular(d);
                let header = npy::dict("<f4", &[2_500_000_000, 1]);
                write(d, "x.npy", &npy::with_header(&header, &[0; 64]));
            },
            "x.npy: header says shape (2500000000, 1) of float32 (10000000000 bytes), more than the limit",
        ),
        npy_case(
            "targets of another length than the features",
            |d| {
                tabular(d);
                write(d, "y.npy", &npy::i64s(&[5], &[0, 0, 1, 2, 2]));
            },
            "y.npy: 5 targets for the 6 samples of x.npy",
        ),
        Case {
            args: &["train", "tab.mlp", "--quiet", "--data", "t.npz"],
            ..bad(
                "an npz without y_train",
                |d| {
                    tabular(d);
                    let x = npy::f32s(&[6, 4], &table_features());
                    npz(d, "t.npz", &[("x_train", x.clone()), ("x_test", x)]);
                },
                "t.npz: has no member `y_train` (it holds `x_test.npy`, `x_train.npy`)",
            )
        },
        Case {
            args: &["train", "tab.mlp", "--quiet", "--data", "t.npz"],
            ..bad(
                "an npz member with a lying header",
                |d| {
                    tabular(d);
                    let y = npy::i64s(&[6], &[0, 0, 1, 2, 2, 1]);
                    let x = npy::with_header(&npy::dict("<f4", &[60, 4]), &[0; 96]);
                    npz(d, "t.npz", &[("x_train", x), ("y_train", y)]);
                },
                "t.npz/x_train.npy: header says shape (60, 4)",
            )
        },
        Case {
            args: &["train", "tab.mlp", "--quiet", "--data", "t.npz"],
            ..bad(
                "npz targets of another length than the features",
                |d| {
                    tabular(d);
                    let x = npy::f32s(&[6, 4], &table_features());
                    let y = npy::i64s(&[4], &[0, 1, 2, 1]);
                    npz(d, "t.npz", &[("x_train", x), ("y_train", y)]);
                },
                "t.npz/y_train.npy: 4 targets for the 6 samples of t.npz/x_train.npy",
            )
        },
        Case {
            args: &["train", "tab.mlp", "--quiet", "--data", "t.npz"],
            ..bad(
                "npz test labels past the output units",
                |d| {
                    tabular(d);
                    let x = npy::f32s(&[6, 4], &table_features());
                    let y = npy::i64s(&[6], &[0, 0, 1, 2, 2, 1]);
                    let y_test = npy::i64s(&[6], &[0, 0, 1, 2, 5, 1]);
                    npz(
                        d,
                        "t.npz",
                        &[("x_train", x.clone()), ("y_train", y), ("x_test", x), ("y_test", y_test)],
                    );
                },
                "the targets in `t.npz/y_test.npy` do not fit `Tab`: label 5 of sample 4",
            )
        },
        Case {
            args: &[
                "predict", "tab.mlp", "--weights", "o.safetensors", "--data", "t.csv", "--out",
                "p.csv",
            ],
            outputs: false,
            ..bad(
                "predict with another spec's weights",
                |d| {
                    tabular(d);
                    let other = TAB.replace(
                        "    Dense(3, activation = softmax)",
                        "    Dense(8, activation = relu)\n    Dense(3, activation = softmax)",
                    );
                    weights_of(&other, d, "o.safetensors");
                },
                "cannot use the weights for `Tab`: o.safetensors: tensor `dense.kernel` has shape [4, 8] but model `Tab` needs [4, 3]",
            )
        },
        Case {
            args: &[
                "evaluate", "tab.mlp", "--weights", "w.safetensors", "--data", "t.csv",
            ],
            outputs: false,
            ..bad(
                "evaluate on a NaN cell",
                |d| {
                    tabular(d);
                    table_with(d, 3, "6.3,3.3,nan,2.5,virginica");
                },
                "t.csv:5:3: `nan` in column `pl` is not a finite number",
            )
        },
        Case {
            args: &[
                "predict", "tab.mlp", "--weights", "w.safetensors", "--data", "t.csv", "--out",
                "p.npy",
            ],
            outputs: false,
            ..bad(
                "predict on a ragged row",
                |d| {
                    tabular(d);
                    table_with(d, 4, "5.8,2.7,5.1,1.9,virginica,extra");
                },
                "t.csv:6:6: row has 6 fields, expected 5 (as many as the header)",
            )
        },
        Case {
            args: &[
                "predict", "tab.mlp", "--weights", "w.safetensors", "--data", "x.npy",
                "--target", "y.npy", "--out", "p.csv",
            ],
            outputs: false,
            ..bad(
                "predict on features of another width",
                |d| {
                    tabular(d);
                    write(d, "x.npy", &npy::f32s(&[6, 3], &[0.5; 18]));
                },
                "the samples in `x.npy` have 3 features per sample, but `Tab` in `tab.mlp` takes 4 input features",
            )
        },
    ]
}

fn checkpoint_cases() -> Vec<Case> {
    let bad = |name: &'static str, prepare: fn(&Path), names: &'static str| Case {
        name,
        prepare,
        args: &[
            "train", "tiny.mlp", "--quiet", "--data", "data", "--resume", "ck",
        ],
        outputs: true,
        code: 1,
        cause: Cause::Line(names),
    };
    let file = "epoch-0001.safetensors";
    vec![
        bad("empty checkpoint", |d| raw_checkpoint(d, b""), file),
        bad(
            "random bytes",
            |d| {
                let bytes: Vec<u8> = (0u32..4096)
                    .map(|i| u8::try_from(i.wrapping_mul(2_654_435_761) >> 24).unwrap())
                    .collect();
                raw_checkpoint(d, &bytes);
            },
            file,
        ),
        bad(
            "header length past the file",
            |d| raw_checkpoint(d, &u64::MAX.to_le_bytes()),
            file,
        ),
        bad(
            "header not JSON",
            |d| {
                let mut bytes = 16u64.to_le_bytes().to_vec();
                bytes.extend_from_slice(b"{not json at all");
                raw_checkpoint(d, &bytes);
            },
            file,
        ),
        bad(
            "truncated checkpoint",
            |d| {
                checkpoint_of(TINY, d);
                let path = d.join(CHECKPOINT);
                let bytes = fs::read(&path).unwrap();
                fs::write(&path, &bytes[..bytes.len() * 3 / 4]).unwrap();
            },
            file,
        ),
        bad(
            "checkpoint of another model",
            |d| checkpoint_of(OTHER, d),
            "it was written for another architecture: layer 1 `dense`: units 12 in the checkpoint, 10 in the spec",
        ),
        bad(
            "checkpoint of another training configuration",
            |d| checkpoint_of(&TINY.replace("optimizer = adam", "optimizer = sgd"), d),
            "its training configuration differs from this run's: optimizer",
        ),
        bad(
            "missing tensor",
            |d| edited_checkpoint(d, |t| t.retain(|t| t.name != "dense.bias")),
            "dense.bias",
        ),
        bad(
            "extra tensor",
            |d| {
                edited_checkpoint(d, |t| {
                    t.push(Tensor {
                        name: "dense_7.kernel".to_owned(),
                        dtype: "F32".to_owned(),
                        shape: vec![2],
                        bytes: vec![0; 8],
                    });
                });
            },
            "dense_7.kernel",
        ),
        bad(
            "float64 tensor",
            |d| {
                edited_checkpoint(d, |t| {
                    let bias = tensor(t, "dense.bias");
                    "F64".clone_into(&mut bias.dtype);
                    bias.bytes = vec![0; bias.bytes.len() * 2];
                });
            },
            "dense.bias",
        ),
        bad(
            "tensor of the wrong shape",
            |d| {
                edited_checkpoint(d, |t| {
                    let bias = tensor(t, "dense.bias");
                    bias.shape = vec![11];
                    bias.bytes = vec![0; 44];
                });
            },
            "dense.bias",
        ),
        bad(
            "NaN in a kernel",
            |d| {
                edited_checkpoint(d, |t| {
                    tensor(t, "dense.kernel").bytes[..4].copy_from_slice(&f32::NAN.to_le_bytes());
                });
            },
            file,
        ),
    ]
}

/// The folder every case starts from trains: each failure comes from what the case broke.
#[test]
fn the_unbroken_folder_trains_and_writes_every_output() {
    let dir = setup();
    let d = dir.path();
    checkpoint_of(TINY, d);
    let mut args = vec![
        "train", "tiny.mlp", "--quiet", "--data", "data", "--resume", "ck",
    ];
    args.extend_from_slice(&OUTPUTS);
    let output = run(d, &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        text(&output.stderr)
    );
    for file in ["out.json", "out.png", "out.safetensors"] {
        assert!(d.join(file).is_file(), "{file} missing");
    }
    // The gzip writer of the data cases writes what a gzip reader reads.
    gzipped_train_images(d, &gzip(&images(TRAIN)));
    let output = run(d, &["train", "tiny.mlp", "--quiet", "--data", "data"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr:\n{}",
        text(&output.stderr)
    );
    let output = run(d, &["check", "tiny.mlp"]);
    assert_eq!(output.status.code(), Some(0));
}

/// The tabular cases' folder trains on each of its files, and evaluates and predicts with
/// its weights: each tabular failure comes from what the case broke.
#[test]
fn the_unbroken_tabular_files_train_evaluate_and_predict() {
    let dir = setup();
    let d = dir.path();
    tabular(d);
    let ok = |args: &[&str]| {
        let output = run(d, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "mlp {}\nstderr:\n{}",
            args.join(" "),
            text(&output.stderr)
        );
        output
    };
    let mut train = vec!["train", "tab.mlp", "--quiet", "--data", "t.csv"];
    train.extend_from_slice(&OUTPUTS);
    ok(&train);
    for file in ["out.json", "out.png", "out.safetensors"] {
        assert!(d.join(file).is_file(), "{file} missing");
    }
    ok(&[
        "train", "tab.mlp", "--quiet", "--data", "x.npy", "--target", "y.npy",
    ]);
    ok(&["train", "tab.mlp", "--quiet", "--data", "t.npz"]);
    ok(&[
        "evaluate",
        "tab.mlp",
        "--weights",
        "w.safetensors",
        "--data",
        "t.csv",
    ]);
    ok(&[
        "predict",
        "tab.mlp",
        "--weights",
        "w.safetensors",
        "--data",
        "t.csv",
        "--out",
        "p.csv",
    ]);
    ok(&[
        "predict",
        "tab.mlp",
        "--weights",
        "w.safetensors",
        "--data",
        "t.csv",
        "--out",
        "p.npy",
    ]);
    let predictions = fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(predictions.lines().count(), 1 + TABLE_ROWS.len());
}

#[test]
fn every_bad_input_is_refused_naming_it_and_leaving_nothing_behind() {
    let cases: Vec<Case> = [
        flag_cases(),
        spec_cases(),
        data_cases(),
        tabular_cases(),
        checkpoint_cases(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| scope.spawn(move || chunk.iter().filter_map(check).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
