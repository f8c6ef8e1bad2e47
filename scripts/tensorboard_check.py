#!/usr/bin/env python3
"""TensorBoard's own reading of Keras's event files and of mlp's, for
`mlp-runtime/tests/fixtures/tensorboard/`.

(a) Runs a tiny Keras 3 fit (fixed data and weights, 3 epochs, validation data, Adam with
    an ExponentialDecay learning rate) with `keras.callbacks.TensorBoard`, and dumps what
    TensorBoard's `event_processing` reads from the files Keras wrote to `keras.json`.
(b) Reads the event files mlp's writer wrote (`mlp/train/`, `mlp/validation/`, committed;
    written by the Rust test `tensorboard` in `mlp-runtime/tests/tensorboard.rs` from the
    values of `keras.json`) the same way and dumps them to `mlp.json`.

For each folder (`train`, `validation`) a dump holds: the event files (their names split
into TensorFlow's parts), the events in file order as `EventFileLoader` yields them
(`file_version`, `source_metadata.writer`, and per summary value its tag and step), and,
per tag as `EventAccumulator` reports it, the plugin name, the dtype, and every (step,
value). Wall times are left out (they are the clock's), except whether they increase.

Run it in a throwaway virtual environment outside the repository (tensorflow-cpu, keras,
tensorboard):

    nice -n 19 /tmp/venv-keras/bin/python scripts/tensorboard_check.py            # both
    nice -n 19 /tmp/venv-keras/bin/python scripts/tensorboard_check.py --mlp-only # (b)

then `cargo test --release -p mlp-runtime --test tensorboard` checks that mlp's files are
byte for byte what the writer produces and that `mlp.json` matches `keras.json`.
"""

import argparse
import json
import os
import pathlib
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT = REPO / "mlp-runtime" / "tests" / "fixtures" / "tensorboard"

NAME_RE = re.compile(
    r"^events\.out\.tfevents\.(?P<secs>\d{10})\.(?P<hostname>.+)\.(?P<pid>\d+)\."
    r"(?P<index>\d+)(?P<suffix>.*)$"
)


def dump_folder(folder):
    from tensorboard.backend.event_processing import event_accumulator, event_file_loader
    from tensorboard.util import tensor_util
    from tensorboard.compat.proto import types_pb2

    files = sorted(p for p in folder.iterdir() if p.name.startswith("events.out.tfevents."))
    out = {"files": [], "events": [], "tags": {}}
    last_wall_time = None
    wall_times_increase = True
    for path in files:
        m = NAME_RE.match(path.name)
        out["files"].append({
            "matches_tensorflow_pattern": m is not None,
            "index": int(m["index"]) if m else None,
            "suffix": m["suffix"] if m else None,
        })
        for event in event_file_loader.EventFileLoader(str(path)).Load():
            if last_wall_time is not None and event.wall_time < last_wall_time:
                wall_times_increase = False
            last_wall_time = event.wall_time
            what = event.WhichOneof("what")
            record = {"what": what, "step": event.step}
            if what == "file_version":
                record["file_version"] = event.file_version
                record["writer"] = event.source_metadata.writer
                record["wall_time_is_whole_seconds"] = float(event.wall_time).is_integer()
            elif what == "summary":
                record["tags"] = [v.tag for v in event.summary.value]
            out["events"].append(record)
    out["wall_times_increase"] = wall_times_increase

    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.TENSORS: 0}
    )
    acc.Reload()
    for tag in acc.Tags()["tensors"]:
        meta = acc.SummaryMetadata(tag)
        events = acc.Tensors(tag)
        dtype = types_pb2.DataType.Name(events[0].tensor_proto.dtype) if events else None
        values = []
        for e in events:
            a = tensor_util.make_ndarray(e.tensor_proto)
            if a.dtype.kind == "f":
                values.append([e.step, float(a)])
            else:
                values.append([e.step, None])
        out["tags"][tag] = {
            "plugin_name": meta.plugin_data.plugin_name,
            "dtype": dtype,
            "shape": list(events[0].tensor_proto.tensor_shape.dim) if events else None,
            "values": values,
        }
    return out


def dump_run(log_dir):
    return {
        sub: dump_folder(log_dir / sub)
        for sub in ("train", "validation")
        if (log_dir / sub).is_dir()
    }


def keras_run():
    import numpy as np
    import keras
    import tensorflow as tf
    import tensorboard

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1).astype(np.int64)
    xv = rng.normal(size=(16, 4)).astype(np.float32)
    yv = (xv[:, 0] + 0.5 * xv[:, 1] > 0).astype(np.int64) + (xv[:, 2] > 1).astype(np.int64)
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(5, activation="relu", name="dense"),
        keras.layers.Dense(3, activation="softmax", name="dense_1"),
    ], name="sequential")
    for layer in model.layers:
        for w in layer.weights:
            w.assign(rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32))
    lr = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.5)
    model.compile(keras.optimizers.Adam(learning_rate=lr), "sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = pathlib.Path(tmp) / "logs"
        h = model.fit(x, y, batch_size=8, epochs=3, validation_data=(xv, yv), shuffle=False,
                      verbose=0, callbacks=[keras.callbacks.TensorBoard(str(log_dir))])
        dump = dump_run(log_dir)
    return {
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__,
                     "tensorboard": tensorboard.__version__},
        "run": "3 epochs x 4 steps, batch 8, validation data, "
               "Adam(ExponentialDecay(0.01, 4, 0.5)), TensorBoard(log_dir) defaults",
        "history": {k: [float(v) for v in vs] for k, vs in h.history.items()},
        "folders": dump,
    }


def write(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mlp-only", action="store_true", help="only (b)")
    args = parser.parse_args()
    if not args.mlp_only:
        write(OUT / "keras.json", keras_run())
    mlp_dir = OUT / "mlp"
    if not mlp_dir.is_dir():
        print(f"{mlp_dir} does not exist yet: run the Rust test `tensorboard` with "
              "MLP_WRITE_TENSORBOARD_FIXTURE=1 first", file=sys.stderr)
        return 1
    import tensorboard
    write(OUT / "mlp.json", {"versions": {"tensorboard": tensorboard.__version__},
                             "folders": dump_run(mlp_dir)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
