//! The TensorBoard writer against TensorBoard's own reader and against Keras's files.
//!
//! `tests/fixtures/tensorboard/` holds (see its README):
//! - `keras.json`: what TensorBoard's `event_processing` read from the files Keras 3.15's
//!   `TensorBoard` callback wrote for a 3-epoch fit (`scripts/tensorboard_check.py`);
//! - `mlp/train/…`, `mlp/validation/…`: the files this test's run writes, committed;
//! - `mlp.json`: what TensorBoard's reader read from those committed files.
//!
//! The run below replays Keras's values (from `keras.json`) through [`TensorBoardLog`] in
//! the order Keras's callback writes them, with fixed wall times and file names. The test
//! checks that it writes the committed files byte for byte, and that TensorBoard read
//! from them (`mlp.json`) the same folders, tags, steps, values, plugin and dtype it read
//! from Keras's (`keras.json`).
//!
//! `MLP_WRITE_TENSORBOARD_FIXTURE=1` rewrites `mlp/` instead of comparing with it; then
//! re-run `scripts/tensorboard_check.py --mlp-only` to refresh `mlp.json`.

use mlp_runtime::tensorboard::{FileNaming, TensorBoardLog, TF2_SUFFIX};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tensorboard")
}

fn load(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 2026-01-01T00:00:00Z.
const BASE_TIME: f64 = 1_767_225_600.0;

/// The scalar value TensorBoard read for `tag` at `step` in `folder` of a dump.
fn value_at(dump: &Value, folder: &str, tag: &str, step: i64) -> f32 {
    let values = dump["folders"][folder]["tags"][tag]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("no {folder}/{tag} in the dump"));
    let v = values
        .iter()
        .find(|v| v[0].as_i64() == Some(step))
        .unwrap_or_else(|| panic!("no step {step} of {folder}/{tag}"));
    v[1].as_f64().unwrap() as f32
}

/// The summary events of a dump's folder in file order, as (tag, step).
fn summary_events(dump: &Value, folder: &str) -> Vec<(String, i64)> {
    dump["folders"][folder]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["what"] == "summary")
        .map(|e| {
            let tags = e["tags"].as_array().unwrap();
            assert_eq!(tags.len(), 1, "one value per summary event: {e}");
            (
                tags[0].as_str().unwrap().to_owned(),
                e["step"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Replays the Keras run of `keras.json` through our writer into `log_dir`: per epoch,
/// the evaluation's `evaluation_*_vs_iterations` (Keras's `on_test_end`, during `fit`'s
/// validation), then the epoch's scalars (`on_epoch_end`), in Keras's order.
fn replay_keras_run(keras: &Value, log_dir: &Path) {
    let naming = FileNaming {
        hostname: "mlp-fixture".to_owned(),
        pid: 4242,
        first_index: Some(0),
        suffix: TF2_SUFFIX.to_owned(),
    };
    let mut clock = BASE_TIME + 0.25;
    let mut tick = || {
        clock += 0.125;
        clock
    };
    let mut log = TensorBoardLog::create(log_dir, naming, BASE_TIME + 0.25).unwrap();
    let train = summary_events(keras, "train");
    let validation = summary_events(keras, "validation");
    let epochs = train.iter().filter(|(tag, _)| tag == "epoch_loss").count() as i64;
    assert_eq!(epochs, 3);
    for epoch in 0..epochs {
        // The evaluation of this epoch: the epoch-th distinct step of the evaluation_*
        // events, their tags in file order.
        let mut steps: Vec<i64> = validation
            .iter()
            .filter(|(tag, _)| tag.starts_with("evaluation_"))
            .map(|(_, step)| *step)
            .collect();
        steps.dedup();
        let iterations = steps[epoch as usize];
        let mut results = Vec::new();
        for (tag, step) in &validation {
            if *step != iterations {
                continue;
            }
            if let Some(name) = tag
                .strip_prefix("evaluation_")
                .and_then(|t| t.strip_suffix("_vs_iterations"))
            {
                results.push((
                    name.to_owned(),
                    value_at(keras, "validation", tag, iterations),
                ));
            }
        }
        let results: Vec<(&str, f32)> = results.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        log.log_evaluation(iterations, &results, tick()).unwrap();

        // The History entries in Keras's order: training ones, then val_ ones.
        let mut logs = Vec::new();
        for (tag, step) in &train {
            if *step == epoch && tag != "epoch_learning_rate" && tag.starts_with("epoch_") {
                logs.push((
                    tag["epoch_".len()..].to_owned(),
                    value_at(keras, "train", tag, epoch),
                ));
            }
        }
        for (tag, step) in &validation {
            if *step == epoch && tag.starts_with("epoch_") {
                logs.push((
                    format!("val_{}", &tag["epoch_".len()..]),
                    value_at(keras, "validation", tag, epoch),
                ));
            }
        }
        let logs: Vec<(&str, f32)> = logs.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        let learning_rate = value_at(keras, "train", "epoch_learning_rate", epoch);
        log.log_epoch(epoch, &logs, learning_rate, tick()).unwrap();
    }
    log.close().unwrap();
}

/// The files under `dir`, as (path relative to `dir`, bytes), sorted.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["train", "validation"] {
        let folder = dir.join(sub);
        let mut names: Vec<_> = fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in names {
            out.push((
                format!("{sub}/{name}"),
                fs::read(folder.join(&name)).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn our_files_are_the_committed_ones_byte_for_byte() {
    let keras = load("keras.json");
    let tmp = tempfile::tempdir().unwrap();
    replay_keras_run(&keras, tmp.path());
    let ours = files_under(tmp.path());
    let committed_dir = fixtures().join("mlp");
    if std::env::var_os("MLP_WRITE_TENSORBOARD_FIXTURE").is_some() {
        let _ = fs::remove_dir_all(&committed_dir);
        for (rel, bytes) in &ours {
            let path = committed_dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, bytes).unwrap();
        }
        return;
    }
    let committed = files_under(&committed_dir);
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&committed));
    for ((name, a), (_, b)) in ours.iter().zip(&committed) {
        assert!(a == b, "{name} differs from the committed file");
    }
}

#[test]
fn tensorboard_reads_from_ours_what_it_reads_from_keras() {
    let keras = load("keras.json");
    let ours = load("mlp.json");
    for folder in ["train", "validation"] {
        let k = &keras["folders"][folder];
        let o = &ours["folders"][folder];
        assert!(o.is_object(), "no {folder}/ in mlp.json");

        // One file each, named as TensorFlow names them, same index and suffix.
        assert_eq!(o["files"], k["files"], "{folder}: files");
        assert_eq!(o["files"][0]["matches_tensorflow_pattern"], true);

        // The first event: the file version, at whole seconds.
        let (ke, oe) = (&k["events"][0], &o["events"][0]);
        assert_eq!(oe["what"], "file_version");
        assert_eq!(oe["file_version"], ke["file_version"]);
        assert_eq!(oe["file_version"], "brain.Event:2");
        assert_eq!(oe["wall_time_is_whole_seconds"], true);
        assert_eq!(oe["writer"], "mlp");
        assert_eq!(o["wall_times_increase"], true);

        // The scalar tags: same plugin, dtype, shape, steps and values.
        let scalar_tags = |dump: &Value| {
            let mut tags: Vec<String> = dump["tags"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, t)| t["plugin_name"] == "scalars")
                .map(|(tag, _)| tag.clone())
                .collect();
            tags.sort();
            tags
        };
        let tags = scalar_tags(k);
        assert!(!tags.is_empty());
        assert_eq!(scalar_tags(o), tags, "{folder}: scalar tags");
        for tag in &tags {
            for field in ["plugin_name", "dtype", "shape", "values"] {
                assert_eq!(
                    o["tags"][tag][field], k["tags"][tag][field],
                    "{folder}/{tag}: {field}"
                );
            }
        }
        assert_eq!(k["tags"]["epoch_loss"]["dtype"], "DT_FLOAT");

        // Every tag of ours is one of Keras's scalars (Keras's `keras` model-config text
        // summary in train/ is the one tag mlp does not write).
        for tag in o["tags"].as_object().unwrap().keys() {
            assert!(
                tags.contains(tag),
                "{folder}/{tag} is not a Keras scalar tag"
            );
        }

        // The events in the same order, less Keras's model-config summary.
        let keras_events: Vec<_> = summary_events(&keras, folder)
            .into_iter()
            .filter(|(tag, _)| tags.contains(tag))
            .collect();
        assert_eq!(
            summary_events(&ours, folder),
            keras_events,
            "{folder}: event order"
        );
    }
    assert_eq!(
        keras["folders"]["train"]["tags"]["keras"]["plugin_name"],
        "graph_keras_model"
    );
}
