//! Files mlp must refuse, each with a clean error naming the file and the first problem:
//! not a zip, a truncated zip, a missing member, invalid JSON, corrupt and truncated HDF5,
//! a functional model with branches, an unknown layer class, an unsupported setting,
//! weights of the wrong shape, a missing weight, and sizes claimed far beyond the file.
//! Built from the Keras-made fixtures by changing one thing each.

mod common;

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;

use mlp_keras::{import, import_bytes, ImportOptions, KerasErrorKind};

fn fixture(name: &str) -> PathBuf {
    common::fixtures().join("keras").join(name)
}

/// The members of a zip archive, in order.
fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().unwrap().into_owned(), data)
        })
        .collect()
}

fn zip(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The `tabular` fixture with `edit` applied to its members.
fn edited(edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut m = members(&std::fs::read(fixture("tabular.keras")).unwrap());
    edit(&mut m);
    zip(&m)
}

/// The `tabular` fixture with `config.json`'s text edited.
fn with_config(edit: impl FnOnce(String) -> String) -> Vec<u8> {
    edited(|m| {
        let config = m.iter_mut().find(|(n, _)| n == "config.json").unwrap();
        let text = String::from_utf8(config.1.clone()).unwrap();
        let new = edit(text.clone());
        assert_ne!(new, text, "the edit changed nothing");
        config.1 = new.into_bytes();
    })
}

/// The `tabular` fixture with `model.weights.h5` replaced.
fn with_weights(edit: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
    edited(|m| {
        let weights = m.iter_mut().find(|(n, _)| n == "model.weights.h5").unwrap();
        weights.1 = edit(std::mem::take(&mut weights.1));
    })
}

/// The error of importing `bytes`.
fn error(bytes: &[u8]) -> KerasErrorKind {
    match import_bytes(bytes, &ImportOptions::default()) {
        Ok(i) => panic!("imported {}", i.model.name),
        Err(e) => e,
    }
}

fn message(bytes: &[u8]) -> String {
    error(bytes).to_string()
}

/// Replaces the first occurrence of `from` by `to` (same length) in `bytes`.
fn patch(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the pattern is in the file");
    bytes[at..at + from.len()].copy_from_slice(to);
    bytes
}

fn dims(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn not_a_zip_and_a_truncated_zip_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.keras");
    std::fs::write(&path, b"this is not a zip archive").unwrap();
    let e = import(&path, &ImportOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: not a valid .keras file", path.display())),
        "{e}"
    );

    let whole = std::fs::read(fixture("tabular.keras")).unwrap();
    for cut in [whole.len() / 2, whole.len() - 10, 30] {
        let m = message(&whole[..cut]);
        assert!(
            m.starts_with("not a valid .keras file (a zip archive): "),
            "{cut}: {m}"
        );
    }
    assert!(message(&[]).starts_with("not a valid .keras file"));
}

#[test]
fn a_missing_member_is_named_with_what_the_archive_holds() {
    let bytes = edited(|m| m.retain(|(n, _)| n != "config.json"));
    assert_eq!(
        message(&bytes),
        "the archive has no `config.json` (a .keras file holds metadata.json, config.json and \
         model.weights.h5; this one holds `metadata.json`, `model.weights.h5`)"
    );
    let bytes = edited(|m| m.retain(|(n, _)| n != "model.weights.h5"));
    assert!(message(&bytes).starts_with("the archive has no `model.weights.h5`"));
}

#[test]
fn invalid_json_names_the_member_and_the_place() {
    let bytes = with_config(|t| t[..t.len() / 2].to_owned());
    let m = message(&bytes);
    assert!(
        m.starts_with("config.json is not valid JSON: EOF while parsing"),
        "{m}"
    );
    assert!(m.contains("line 1 column"), "{m}");
}

#[test]
fn corrupt_or_truncated_hdf5_is_refused() {
    let garbage = with_weights(|_| b"\x89HDF\r\n\x1a\nnot really".to_vec());
    let m = message(&garbage);
    assert!(
        m.starts_with("model.weights.h5: not a readable HDF5 file: "),
        "{m}"
    );
    for keep in [100, 1000, 5000] {
        let bytes = with_weights(|w| w[..keep].to_vec());
        let m = message(&bytes);
        assert!(m.starts_with("model.weights.h5"), "{keep}: {m}");
    }
    // Flipped bytes in the middle of the file (metadata or data): an error or, where only
    // data changed, a successful read; never a panic.
    let whole = members(&std::fs::read(fixture("tabular.keras")).unwrap());
    let h5 = &whole
        .iter()
        .find(|(n, _)| n == "model.weights.h5")
        .unwrap()
        .1;
    for at in (0..h5.len()).step_by(97) {
        let bytes = with_weights(|mut w| {
            w[at] ^= 0x5a;
            w
        });
        let _ = import_bytes(&bytes, &ImportOptions::default());
    }
}

#[test]
fn a_functional_model_with_branches_names_the_merging_layer() {
    let bytes = std::fs::read(fixture("functional_branches.keras")).unwrap();
    assert_eq!(
        message(&bytes),
        "config.json: layer 3 `add` (Add): the layer takes 2 inputs (`dense_6`, `dense_7`); mlp \
         imports a chain of layers (a Sequential model), not a functional model with branches"
    );
}

#[test]
fn an_unknown_layer_class_is_named() {
    let bytes = std::fs::read(fixture("unknown_layer.keras")).unwrap();
    let m = message(&bytes);
    assert!(
        m.starts_with(
            "config.json: layer 2 `layer_normalization` (LayerNormalization): layer class \
             `LayerNormalization` is not supported; mlp reads InputLayer, Dense,"
        ),
        "{m}"
    );
}

#[test]
fn unsupported_settings_are_named_with_their_layer() {
    let cases: [(&str, &str, &str); 6] = [
        (
            "\"activation\": \"relu\"",
            "\"activation\": \"hard_sigmoid\"",
            "config.json: layer 2 `dense` (Dense): `activation` = \"hard_sigmoid\" is not \
             supported; mlp has linear, relu,",
        ),
        (
            "\"kernel_constraint\": null",
            "\"kernel_constraint\": {\"class_name\": \"NonNeg\", \"config\": {}}",
            "config.json: layer 2 `dense` (Dense): `kernel_constraint` = ",
        ),
        (
            "\"name\": \"dense\", \"trainable\": true",
            "\"name\": \"dense\", \"trainable\": false",
            "config.json: layer 2 `dense` (Dense): `trainable` = false is not supported (mlp \
             trains every layer; frozen layers are not supported; mlp reads only true)",
        ),
        (
            "\"noise_shape\": null",
            "\"noise_shape\": [null, 1]",
            "config.json: layer 3 `dropout` (Dropout): `noise_shape` = [null,1] is not \
             supported",
        ),
        (
            "\"amsgrad\": false",
            "\"amsgrad\": true",
            "config.json: compile_config: `optimizer`: `amsgrad` = true is not supported",
        ),
        (
            "\"invert\": false",
            "\"invert\": true",
            "config.json: layer 1 `normalization` (Normalization): `invert` = true is not \
             supported",
        ),
    ];
    for (from, to, expected) in cases {
        let bytes = with_config(|t| t.replacen(from, to, 1));
        let m = message(&bytes);
        assert!(m.starts_with(expected), "{to}:\n{m}\n{expected}");
    }
}

#[test]
fn weights_of_the_wrong_shape_or_missing_are_named_by_path() {
    // The config says 17 units; the file holds the kernel of 16.
    let bytes = with_config(|t| t.replacen("\"units\": 16", "\"units\": 17", 1));
    assert_eq!(
        message(&bytes),
        "model.weights.h5: layers/dense/vars/0: the kernel of layer `dense` has shape (5, 16) \
         but the layer needs (5, 17)"
    );
    // A layer the file has no weights for.
    let bytes = with_config(|t| {
        t.replacen(
            "\"class_name\": \"Dropout\"",
            "\"class_name\": \"BatchNormalization\"",
            1,
        )
        .replacen(
            "\"rate\": 0.2, \"seed\": null, \"noise_shape\": null",
            "\"momentum\": 0.99",
            1,
        )
    });
    assert_eq!(
        message(&bytes),
        "model.weights.h5: layers/batch_normalization/vars: layer `dropout` \
         (BatchNormalization) has no weights in the file, but needs 4"
    );
}

#[test]
fn a_huge_claimed_dataset_is_refused_before_anything_is_allocated() {
    // The kernel's dataspace claims 2^40 rows.
    let huge = with_weights(|w| patch(w, &dims(&[5, 16]), &dims(&[1 << 40, 16])));
    assert_eq!(
        message(&huge),
        "model.weights.h5: layers/dense/vars/0: the kernel of layer `dense` has shape \
         (1099511627776, 16) but the layer needs (5, 16)"
    );
    // The config and the dataspace both claim 2^24 units (1.3 GB of parameters with the
    // next layer): refused on the file's size before any buffer is made.
    let bytes = edited(|m| {
        for (name, data) in m.iter_mut() {
            if name == "config.json" {
                let text = String::from_utf8(data.clone()).unwrap();
                *data = text
                    .replacen("\"units\": 16", "\"units\": 16777216", 1)
                    .into_bytes();
            } else if name == "model.weights.h5" {
                *data = patch(std::mem::take(data), &dims(&[5, 16]), &dims(&[5, 1 << 24]));
            }
        }
    });
    let m = message(&bytes);
    assert!(
        m.starts_with(
            "model.weights.h5: layers/dense/vars/0: the kernel of layer `dense` claims \
             (5, 16777216) float32 values, more than the"
        ),
        "{m}"
    );
}

#[test]
fn a_file_over_the_limit_is_refused_before_it_is_read() {
    let bytes = std::fs::read(fixture("tabular.keras")).unwrap();
    let options = ImportOptions {
        limits: mlp_keras::Limits {
            max_bytes: 1000,
            ..mlp_keras::Limits::default()
        },
        ..ImportOptions::default()
    };
    let e = import_bytes(&bytes, &options).unwrap_err().to_string();
    assert!(e.starts_with("the file has "), "{e}");
    assert!(
        e.ends_with("bytes, more than the limit of 1000 bytes"),
        "{e}"
    );
    let options = ImportOptions {
        limits: mlp_keras::Limits {
            max_json_bytes: 100,
            ..mlp_keras::Limits::default()
        },
        ..ImportOptions::default()
    };
    let e = import_bytes(&bytes, &options).unwrap_err().to_string();
    assert!(e.starts_with("member `config.json` has "), "{e}");
}
