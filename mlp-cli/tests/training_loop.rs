//! `mlp train --set`: the training-loop settings (callbacks, schedules, optimisers) from
//! the command line, on iris (`$MLP_DATA/tabular/iris.csv`), end to end: the files the
//! callbacks write, an early stop in the History, and a mistake in a `--set` value
//! reported as a spec mistake.

use std::fs;
use std::path::Path;

use mlp_test_support::{assert_exit, output, stderr, tabular_dir, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

fn spec() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/examples/tabular.mlp")
        .display()
        .to_string()
}

fn train(dir: &Path, extra: &[&str]) -> std::process::Output {
    let (spec, data) = (spec(), tabular_dir().join("iris.csv").display().to_string());
    let mut args = vec![
        "train",
        spec.as_str(),
        "--model",
        "Iris",
        "--data",
        data.as_str(),
        "--skip-rows",
        "1",
        "--validation-split",
        "0.2",
        "--quiet",
    ];
    args.extend(extra);
    output(MLP.command(dir).args(&args))
}

#[test]
fn callbacks_from_the_command_line_write_their_files_and_stop_early() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = train(
        d,
        &[
            "--set",
            "optimizer = adamw(learning_rate = cosine_decay(0.01, decay_steps = 400), global_clipnorm = 1)",
            "--set",
            "callbacks = [early_stopping(monitor = loss, min_delta = 10, patience = 1), csv_logger(\"log.csv\"), tensorboard(log_dir = \"tb\"), model_checkpoint(\"ckpt_{epoch:02d}.safetensors\")]",
            "--history",
            "h.json",
        ],
    );
    assert_exit(&out, 0);
    // min_delta 10 on the loss: epoch 0 is the first best, epoch 1 cannot improve by 10,
    // and with patience 1 training stops there (Keras: wait 1 >= patience, epoch > 0).
    let history: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("h.json")).unwrap()).unwrap();
    assert_eq!(
        history["loss"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
    assert_eq!(history["stopped_epoch"], 1, "{history}");
    let csv = fs::read_to_string(d.join("log.csv")).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0], "epoch,accuracy,loss,val_accuracy,val_loss",
        "{csv}"
    );
    assert!(
        lines[1].starts_with("0,") && lines[2].starts_with("1,"),
        "{csv}"
    );
    assert_eq!(lines.len(), 4, "two rows and the final line end: {csv}");
    for f in ["ckpt_01.safetensors", "ckpt_02.safetensors"] {
        assert!(d.join(f).is_file(), "{f}");
    }
    for sub in ["tb/train", "tb/validation"] {
        let files: Vec<_> = fs::read_dir(d.join(sub)).unwrap().collect();
        assert_eq!(files.len(), 1, "{sub}");
    }
}

#[test]
fn a_mistake_in_a_set_value_is_a_spec_mistake_and_a_malformed_set_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = train(d, &["--set", "callbacks = [early_stoping(patience = 2)]"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("unknown callback `early_stoping`"), "{err}");
    assert!(err.contains("did you mean `early_stopping`"), "{err}");
    let out = train(d, &["--set", "epochs"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("KEY = VALUE"), "{}", stderr(&out));
    let out = train(
        d,
        &["--set", "callbacks = [early_stopping(monitor = val_auc)]"],
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("does not log"), "{}", stderr(&out));
}
