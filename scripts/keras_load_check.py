#!/usr/bin/env python3
"""Opens `.keras` files written by mlp in real Keras and checks them.

    keras_load_check.py DIR [--report REPORT.json]

DIR holds pairs `<Model>.keras` + `<Model>.json`, as written by
`cargo run --release -p mlp-keras --example export_specs -- DIR` (every spec of the
repository) or by `mlp export … --format keras` with a JSON of mlp's outputs beside it.
The JSON gives the input rows, mlp's outputs for them (`Network::forward`), the optimizer's
step count and the layers (Keras name and class) the file should hold.

For each model the script, on Keras 3 with the TensorFlow backend:
1. loads it with `keras.saving.load_model` (compiled), failing on any warning Keras
   raises while loading (a skipped optimizer or layer variable is a warning);
2. checks the architecture: a `Sequential` of the model's name, its input shape, the
   layers' names and classes, and that every layer's config and the compile config Keras
   reports after loading equal what the file's config.json says (numbers compared as
   float32), so no setting was dropped or read differently;
3. compares `model.predict` on the input rows with mlp's outputs: the largest
   |keras - mlp| / max(|mlp|, 1e-6) must be at most 1e-5;
4. checks the optimizer was restored: `optimizer.iterations` equals mlp's step count
   and every optimizer variable equals the file's `optimizer/vars/<i>` bit for bit;
5. runs one `model.fit` step on the rows with the JSON's targets (one batch of all the
   rows, no shuffling) and checks the step count went on from mlp's and, for models
   without Dropout (whose masks Keras and mlp draw differently), that the predictions
   after the step equal mlp's after its own step on the same batch, within 1e-4 relative
   (the step amplifies float32 rounding: Adam divides by sqrt(v)).

Prints one JSON line per model (the report) and a summary; `--report` writes the
reports as a JSON list. Exits 1 if any check fails. Needs Keras 3, TensorFlow, h5py and
numpy, e.g. in a throwaway environment outside the repository:

    python3 -m venv /tmp/venv-keras
    /tmp/venv-keras/bin/pip install tensorflow-cpu keras h5py
"""

import io
import json
import os
import pathlib
import sys
import warnings
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import keras  # noqa: E402

TOLERANCE = 1e-5


def same(a, b, path="config"):
    """Compares two serialised configs; numbers as float32. Returns the first difference."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys_a = {k for k in a if k != "shared_object_id"}
        keys_b = {k for k in b if k != "shared_object_id"}
        if keys_a != keys_b:
            return f"{path}: keys {sorted(keys_a ^ keys_b)} differ"
        for k in sorted(keys_a):
            d = same(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return None if a == b else f"{path}: {a!r} vs {b!r}"
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return None if np.float32(a) == np.float32(b) else f"{path}: {a!r} vs {b!r}"
    return None if a == b else f"{path}: {a!r} vs {b!r}"


STEP_TOLERANCE = 1e-4


def fit_targets(expected, units):
    """The JSON's targets, shaped as Keras's losses take them."""
    rows = expected["rows"]
    t = np.asarray(expected["targets"], dtype="float32")
    if expected["target_kind"] == "classes":
        return t.astype("int64") if units > 1 else t.reshape(rows, 1)
    return t.reshape(rows, units)


def relative(got, want):
    return float((np.abs(got - want) / np.maximum(np.abs(want), 1e-6)).max())


def check(keras_path, expected):
    report = {"model": expected["model"], "spec": expected["spec"]}
    problems = []
    with zipfile.ZipFile(keras_path) as z:
        file_config = json.loads(z.read("config.json"))
        h5_bytes = z.read("model.weights.h5")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(keras_path)
    for w in caught:
        problems.append(f"warning while loading: {w.message}")

    if type(model).__name__ != "Sequential":
        problems.append(f"loaded a {type(model).__name__}, not a Sequential")
    if model.name != expected["model"]:
        problems.append(f"model name {model.name!r}")
    want_shape = (None, *expected["input_shape"])
    if tuple(model.input_shape) != want_shape:
        problems.append(f"input shape {model.input_shape} vs {want_shape}")
    layers = [[l.name, type(l).__name__] for l in model.layers]
    if layers != expected["layers"]:
        problems.append(f"layers {layers} vs {expected['layers']}")
    loaded = model.get_config()["layers"]
    written = file_config["config"]["layers"]
    for got, want in zip(loaded, written):
        d = same(got["config"], want["config"], f"layer {want['config'].get('name')}")
        if d:
            problems.append(d)
    d = same(model.get_compile_config(), file_config["compile_config"], "compile_config")
    if d:
        problems.append(d)
    report["layers"] = layers
    report["compile_config"] = model.get_compile_config()

    rows = expected["rows"]
    x = np.asarray(expected["inputs"], dtype="float32").reshape(rows, *expected["input_shape"])
    want = np.asarray(expected["outputs"], dtype="float32").reshape(rows, -1)
    got = model.predict(x, verbose=0).reshape(rows, -1)
    err = relative(got, want)
    report["max_relative_difference"] = err
    report["keras_outputs"] = [float(v) for v in got.reshape(-1)]
    if not err <= TOLERANCE:
        problems.append(f"predictions differ by {err:.3e} (relative) from mlp's")

    opt = model.optimizer
    report["optimizer"] = type(opt).__name__
    report["iterations_loaded"] = int(opt.iterations.numpy())
    if report["iterations_loaded"] != expected["iterations"]:
        problems.append(f"optimizer.iterations {report['iterations_loaded']} vs mlp's "
                        f"{expected['iterations']}")
    with h5py.File(io.BytesIO(h5_bytes), "r") as h5:
        stored = h5["optimizer/vars"]
        if len(stored) != len(opt.variables):
            problems.append(f"{len(opt.variables)} optimizer variables, file has {len(stored)}")
        for i, var in enumerate(opt.variables):
            a = np.asarray(var.numpy())
            b = np.asarray(stored[str(i)])
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                problems.append(f"optimizer variable {i} ({var.path}) differs from the file")
                break
    report["optimizer_variables"] = len(opt.variables)

    y = fit_targets(expected, want.shape[1])
    history = model.fit(x, y, epochs=1, batch_size=rows, shuffle=False, verbose=0)
    report["iterations_after_fit"] = int(opt.iterations.numpy())
    report["fit_loss"] = float(history.history["loss"][0])
    if report["iterations_after_fit"] != expected["iterations"] + 1:
        problems.append(f"after one epoch of one batch, iterations = "
                        f"{report['iterations_after_fit']}, not {expected['iterations'] + 1}")
    if not np.isfinite(report["fit_loss"]):
        problems.append(f"fit loss {report['fit_loss']}")
    if expected["dropout"]:
        report["after_step_relative_difference"] = None
    else:
        after = np.asarray(expected["outputs_after_step"], dtype="float32").reshape(rows, -1)
        step_err = relative(model.predict(x, verbose=0).reshape(rows, -1), after)
        report["after_step_relative_difference"] = step_err
        if not step_err <= STEP_TOLERANCE:
            problems.append(f"after one step, predictions differ by {step_err:.3e} "
                            f"(relative) from mlp's after its step")
    report["keras_version"] = keras.__version__
    report["problems"] = problems
    return report


def main() -> int:
    args = sys.argv[1:]
    report_path = None
    if "--report" in args:
        i = args.index("--report")
        report_path = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    folder = pathlib.Path(args[0])
    reports = []
    for keras_path in sorted(folder.glob("*.keras")):
        expected = json.loads(keras_path.with_suffix(".json").read_text())
        report = check(str(keras_path), expected)
        reports.append(report)
        status = "ok" if not report["problems"] else "FAILED"
        print(json.dumps({k: report[k] for k in
                          ("model", "spec", "max_relative_difference", "iterations_loaded",
                           "iterations_after_fit", "after_step_relative_difference",
                           "problems")}))
        print(f"{status}: {report['model']} ({report['spec']})", file=sys.stderr)
    if report_path:
        pathlib.Path(report_path).write_text(json.dumps(reports, indent=1) + "\n")
    failed = sum(1 for r in reports if r["problems"])
    print(f"keras {keras.__version__}: {len(reports) - failed} passed, {failed} failed")
    return 1 if failed or not reports else 0


if __name__ == "__main__":
    sys.exit(main())
