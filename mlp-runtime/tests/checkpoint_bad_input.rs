//! Bad-input corpus for checkpoints: every broken file gives an error that names the file
//! and the problem (the tensor, for a tensor problem), never a panic, and leaves the model
//! untouched. Also: the fuzz seeds (written by an independent Python encoder) load as
//! they should.

use mlp_runtime::checkpoint::{load_with, Limits};
use mlp_runtime::ir;
use mlp_runtime::Targets;
use mlp_runtime::{Model, Network};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SPEC: &str = "
model Tiny {
    input [3, 4]
    Flatten
    Dense(10, activation = relu)
    BatchNorm
    Dense(3, activation = softmax)
    train { optimizer = adam }
}
";

fn compile(source: &str) -> ir::Model {
    mlp_spec::compile(source)
        .unwrap()
        .models
        .into_iter()
        .next()
        .unwrap()
}

/// A checkpoint of `Tiny` written during `fit` (so with History tensors), as bytes.
fn valid() -> Vec<u8> {
    let mut net = Network::new(&compile(SPEC), 1, 4).unwrap();
    let x: Vec<f32> = (0..48).map(|i| (i * 29 % 256) as f32).collect();
    net.train_step(&x, Targets::Classes(&[0, 1, 2, 1]), 4);
    let state = mlp_runtime::TrainingState {
        epoch: 2,
        shuffle_seed: 9,
        history: mlp_runtime::History {
            loss: vec![1.0, 0.5],
            val_loss: vec![],
            epoch_seconds: vec![0.1, 0.2],
            ..mlp_runtime::History::default()
        }
        .with_metric("accuracy", vec![0.5, 0.75]),
        labels: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("valid.safetensors");
    mlp_runtime::checkpoint::save(&net, &path, Some(&state)).unwrap();
    std::fs::read(path).unwrap()
}

/// A tensor as (dtype, shape, bytes).
type Raw = (Dtype, Vec<usize>, Vec<u8>);

/// `valid()` decoded, changed by `edit`, encoded again (a well-formed safetensors file).
fn rebuild(edit: impl FnOnce(&mut HashMap<String, Raw>, &mut HashMap<String, String>)) -> Vec<u8> {
    let bytes = valid();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: HashMap<String, Raw> = file
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, (t.dtype(), t.shape().to_vec(), t.data().to_vec())))
        .collect();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    edit(&mut tensors, &mut meta);
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, (d, s, b))| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

/// `valid()` with its JSON header replaced by `edit(header)` (length prefix fixed up).
fn with_header(edit: impl FnOnce(&str) -> String) -> Vec<u8> {
    let bytes = valid();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    let new = edit(header);
    let mut out = (new.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn model_bits(m: &Network) -> Vec<u32> {
    m.params()
        .iter()
        .chain(m.state())
        .chain(m.optimizer_slots().unwrap())
        .map(|v| v.to_bits())
        .collect()
}

/// Loads `path` into a fresh `Tiny` and checks the error: names the file, contains
/// `expected`, leaves the model unchanged.
fn check_path(case: &str, path: &Path, limits: Limits, expected: &str) {
    let mut net = Network::new(&compile(SPEC), 7, 4).unwrap();
    let before = model_bits(&net);
    let err = match load_with(&mut net, path, limits) {
        Ok(_) => panic!("{case}: loaded"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with(&format!("{}: ", path.display())),
        "{case}: the error does not start with the file: {err}"
    );
    assert!(err.contains(expected), "{case}: `{expected}` not in: {err}");
    assert!(!err.contains('\n'), "{case}: not one line: {err}");
    assert_eq!(model_bits(&net), before, "{case}: the model changed");
    assert_eq!(net.iterations(), 0, "{case}");
    assert_eq!(net.rng_seed(), Some(7), "{case}");
}

/// Writes `bytes` to `<dir>/<case>.safetensors` and checks loading it fails as expected.
fn check(dir: &Path, case: &str, bytes: &[u8], expected: &str) {
    let path: PathBuf = dir.join(format!("{case}.safetensors"));
    std::fs::write(&path, bytes).unwrap();
    check_path(case, &path, Limits::default(), expected);
}

#[test]
fn broken_checkpoints_give_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = valid();
    // Sanity: the base file loads.
    let mut net = Network::new(&compile(SPEC), 7, 4).unwrap();
    let path = d.join("good.safetensors");
    std::fs::write(&path, &good).unwrap();
    assert_eq!(net.load(&path).unwrap().training.unwrap().epoch, 2);

    // Truncations and lying lengths.
    check(d, "empty", b"", "header too small");
    check(d, "five_bytes", &good[..5], "header too small");
    check(d, "header_cut", &good[..40], "invalid header length");
    let data_start = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mid_data = usize::midpoint(data_start, good.len());
    check(d, "data_cut_half", &good[..mid_data], "incomplete metadata");
    check(
        d,
        "data_cut_last_byte",
        &good[..good.len() - 1],
        "incomplete metadata",
    );
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 4]);
    check(d, "trailing_bytes", &longer, "incomplete metadata");
    let mut lying = good.clone();
    lying[..8].copy_from_slice(&(good.len() as u64 + 100).to_le_bytes());
    check(
        d,
        "header_length_past_the_end",
        &lying,
        "invalid header length",
    );
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    check(d, "header_length_u64_max", &huge, "header too large");
    let mut not_utf8 = good.clone();
    not_utf8[9] = 0xFF;
    check(d, "header_not_utf8", &not_utf8, "invalid UTF-8 in header");
    check(
        d,
        "header_not_json",
        &with_header(|h| h.replacen('{', "[", 1)),
        "invalid JSON in header",
    );
    check(
        d,
        "offsets_past_the_data",
        &with_header(|h| {
            let i = h.rfind("\"data_offsets\":[").unwrap() + 16;
            let end = i + h[i..].find(']').unwrap();
            let start: usize = h[i..end].split(',').next().unwrap().parse().unwrap();
            format!("{}{},{}{}", &h[..i], start, 1u64 << 40, &h[end..])
        }),
        "not a valid safetensors file",
    );
    check(
        d,
        "shape_larger_than_data",
        &with_header(|h| h.replacen("\"shape\":[12,10]", "\"shape\":[12,11]", 1)),
        "invalid shape, data type, or offset",
    );
    check(
        d,
        "shape_overflowing",
        &with_header(|h| {
            h.replacen(
                "\"shape\":[12,10]",
                "\"shape\":[18446744073709551615,18446744073709551615]",
                1,
            )
        }),
        "overflow",
    );

    // Wrong dtype, shape, missing or extra tensors: the tensor is named.
    check(
        d,
        "kernel_as_f64",
        &rebuild(|t, _| {
            let k = t.get_mut("dense.kernel").unwrap();
            k.0 = Dtype::F64;
            k.2.extend_from_slice(&k.2.clone());
        }),
        "tensor `dense.kernel` has dtype F64 but checkpoints store F32",
    );
    check(
        d,
        "bias_as_f16",
        &rebuild(|t, _| {
            let k = t.get_mut("dense_1.bias").unwrap();
            k.0 = Dtype::F16;
            k.2.truncate(6);
        }),
        "tensor `dense_1.bias` has dtype F16",
    );
    check(
        d,
        "history_seconds_as_f32",
        &rebuild(|t, _| {
            let s = t.get_mut("history.epoch_seconds").unwrap();
            s.0 = Dtype::F32;
            s.2.truncate(8);
        }),
        "tensor `history.epoch_seconds` has dtype F32 but checkpoints store F64",
    );
    check(
        d,
        "kernel_transposed",
        &rebuild(|t, _| t.get_mut("dense.kernel").unwrap().1 = vec![10, 12]),
        "tensor `dense.kernel` has shape [10, 12] but model `Tiny` needs [12, 10]",
    );
    check(
        d,
        "gamma_flattened_to_2d",
        &rebuild(|t, _| t.get_mut("batch_normalization.gamma").unwrap().1 = vec![1, 10]),
        "tensor `batch_normalization.gamma` has shape [1, 10]",
    );
    check(
        d,
        "missing_bias",
        &rebuild(|t, _| {
            t.remove("dense_1.bias");
        }),
        "tensor `dense_1.bias` is missing",
    );
    check(
        d,
        "missing_optimizer_slot",
        &rebuild(|t, _| {
            t.remove("optimizer.velocity.batch_normalization.beta");
        }),
        "tensor `optimizer.velocity.batch_normalization.beta` is missing",
    );
    check(
        d,
        "missing_history",
        &rebuild(|t, _| {
            t.remove("history.loss");
        }),
        "tensor `history.loss` is missing",
    );
    check(
        d,
        "extra_tensor",
        &rebuild(|t, _| {
            t.insert("dense_2.kernel".into(), (Dtype::F32, vec![1], vec![0; 4]));
        }),
        "unexpected tensor `dense_2.kernel`: model `Tiny` has no tensor of that name",
    );
    check(
        d,
        "history_without_epoch",
        &rebuild(|_, m| {
            m.remove("epoch");
            m.remove("shuffle_seed");
        }),
        "unexpected tensor `history.epoch_seconds`",
    );
    check(
        d,
        "history_longer_than_the_epochs",
        &rebuild(|t, _| {
            let l = t.get_mut("history.loss").unwrap();
            l.1 = vec![3];
            l.2.extend_from_slice(&1f32.to_le_bytes());
        }),
        "tensor `history.loss` has shape [3] but model `Tiny` needs [2]",
    );
    check(
        d,
        "history_lengths_disagree",
        &rebuild(|t, _| {
            let l = t.get_mut("history.loss").unwrap();
            l.1 = vec![1];
            l.2.truncate(4);
        }),
        "tensor `history.accuracy` has shape [2] but model `Tiny` needs [1]",
    );

    // Non-finite values: the tensor and the element are named.
    check(
        d,
        "nan_in_moving_variance",
        &rebuild(|t, _| {
            let v = t.get_mut("batch_normalization.moving_variance").unwrap();
            v.2[12..16].copy_from_slice(&f32::NAN.to_le_bytes());
        }),
        "tensor `batch_normalization.moving_variance` holds a non-finite value (NaN) at index 3",
    );
    check(
        d,
        "inf_in_optimizer_state",
        &rebuild(|t, _| {
            let v = t.get_mut("optimizer.velocity.dense.kernel").unwrap();
            v.2[..4].copy_from_slice(&f32::INFINITY.to_le_bytes());
        }),
        "tensor `optimizer.velocity.dense.kernel` holds a non-finite value (inf) at index 0",
    );
    check(
        d,
        "all_nan_kernel",
        &rebuild(|t, _| {
            let v = t.get_mut("dense_1.kernel").unwrap();
            v.2 = f32_bytes(&[f32::NAN; 30]);
        }),
        "tensor `dense_1.kernel` holds a non-finite value (NaN) at index 0",
    );

    // Metadata.
    check(
        d,
        "not_an_mlp_checkpoint",
        &rebuild(|_, m| m.clear()),
        "a safetensors file without the `format` metadata of an mlp checkpoint",
    );
    check(
        d,
        "other_format",
        &rebuild(|_, m| {
            m.insert("format".into(), "pt".into());
        }),
        "a safetensors file of format `pt`, not an mlp checkpoint",
    );
    check(
        d,
        "newer_version",
        &rebuild(|_, m| {
            m.insert("format_version".into(), "2".into());
        }),
        "checkpoint format version 2; this build reads version 1",
    );
    check(
        d,
        "bad_iterations",
        &rebuild(|_, m| {
            m.insert("iterations".into(), "-1".into());
        }),
        "metadata `iterations` = \"-1\" is not a valid number",
    );
    check(
        d,
        "missing_seed",
        &rebuild(|_, m| {
            m.remove("seed");
        }),
        "the metadata has no `seed` entry",
    );
    check(
        d,
        "epoch_without_shuffle_seed",
        &rebuild(|_, m| {
            m.remove("shuffle_seed");
        }),
        "metadata `epoch` and `shuffle_seed` must come together",
    );

    // Files that are not checkpoint files at all.
    check_path(
        "a_folder",
        d,
        Limits::default(),
        "is a folder, not a checkpoint file",
    );
    #[cfg(unix)]
    check_path(
        "a_device",
        Path::new("/dev/zero"),
        Limits::default(),
        "is not a regular file",
    );
    check_path(
        "missing_file",
        &d.join("nope.safetensors"),
        Limits::default(),
        "No such file",
    );
    check_path(
        "over_the_size_limit",
        &path,
        Limits { max_bytes: 100 },
        &format!(
            "the file has {} bytes, more than the limit of 100 bytes",
            good.len()
        ),
    );
}

/// The model of `fuzz/fuzz_targets/checkpoint.rs`, whose seeds are checked here.
const FUZZ_SPEC: &str = "
model FuzzNet {
    input [2, 3]
    Flatten
    Dense(4, activation = relu)
    BatchNorm
    Dropout(0.5)
    Dense(3, activation = softmax)
    train { optimizer = adam }
}
";

#[test]
fn fuzz_seed_checkpoints_load_or_fail_as_named() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/checkpoint");
    let model = compile(FUZZ_SPEC);
    let mut net = Network::new(&model, 0, 2).unwrap();
    let info = net.load(&seeds.join("weights.safetensors")).unwrap();
    assert_eq!((info.seed, info.iterations), (1, 7));
    assert!(info.training.is_none());
    // The seed's values are 0.01·(i+1) per tensor, as the Python encoder wrote them.
    assert_eq!(net.params()[0].to_bits(), 0.01f32.to_bits());
    let info = net.load(&seeds.join("training.safetensors")).unwrap();
    let state = info.training.unwrap();
    assert_eq!((state.epoch, state.shuffle_seed), (2, 5));
    assert_eq!(state.history.loss, vec![1.5, 0.5]);
    for (seed, expected) in [
        ("wrong_dtype", "tensor `dense.bias` has dtype F64"),
        ("extra", "unexpected tensor `extra`"),
        ("truncated", "invalid header length"),
    ] {
        let mut fresh = Network::new(&model, 0, 2).unwrap();
        let err = fresh
            .load(&seeds.join(format!("{seed}.safetensors")))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{seed}: {err}");
    }
}
