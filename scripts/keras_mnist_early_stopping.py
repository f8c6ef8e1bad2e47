#!/usr/bin/env python3
"""Keras 3's run of `specs/examples/early_stopping.mlp`, for the notebook-scale check of issue 16.

Trains the notebook's baseline (Flatten -> Dense(64, relu) -> Dense(32, relu) ->
Dense(10, softmax)) on raw 0..255 MNIST pixels, as the notebook feeds them, with

* `keras.optimizers.Adam(learning_rate=keras.optimizers.schedules.CosineDecay(0.001, 37500))`
  (20 epochs x 1,875 steps of 32),
* `keras.callbacks.EarlyStopping(monitor='val_loss', patience=2, restore_best_weights=True)`,
* batch 32, 20 epochs, validation on the 10,000 test images (what `mlp train` validates on
  by default),

for seeds 0, 1 and 2 (`keras.utils.set_random_seed`), and writes per seed the epochs run,
EarlyStopping's `stopped_epoch` and `best_epoch` (both 0-based, as Keras keeps them; 0 for
`stopped_epoch` means it never stopped), `model.evaluate` on the test set after `fit` (so
with the restored weights) and the History, into
`tests/fixtures/keras_training/mnist_early_stopping.json`.

MNIST is read with numpy from the IDX files (gzipped or not) or a Keras `mnist.npz` in
`--data` (default `$MLP_DATA/mnist`), never downloaded. Run it in a throwaway virtual
environment outside the repository, at low priority:

    python3 -m venv /tmp/venv-keras
    nice -n 19 /tmp/venv-keras/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1
    MLP_DATA=../shared/data nice -n 10 /tmp/venv-keras/bin/python scripts/keras_mnist_early_stopping.py

About 3 minutes on one TensorFlow thread. TensorFlow's random streams are not mlp's, so the
file is a spread to land in, not values to reproduce.
"""

import argparse
import gzip
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.experimental.enable_op_determinism()

import keras  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "keras_training" / "mnist_early_stopping.json"

SEEDS = (0, 1, 2)
BATCH = 32
EPOCHS = 20
STEPS_PER_EPOCH = 60_000 // BATCH
DECAY_STEPS = EPOCHS * STEPS_PER_EPOCH  # 37,500
PATIENCE = 2


def read_idx(path):
    """An IDX file (gzipped or not) as a numpy array, after checking its header."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        sys.exit(f"{path}: {len(data) - header} data bytes for shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    sys.exit(f"{folder}: no {stem} or {stem}.gz")


def load_mnist(folder):
    """(x_train, y_train, x_test, y_test): the IDX files, else Keras's mnist.npz."""
    npz = folder / "mnist.npz"
    if npz.is_file() and not (folder / "train-images-idx3-ubyte.gz").is_file():
        with np.load(npz) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    return (
        read_idx(find(folder, "train-images-idx3-ubyte")),
        read_idx(find(folder, "train-labels-idx1-ubyte")),
        read_idx(find(folder, "t10k-images-idx3-ubyte")),
        read_idx(find(folder, "t10k-labels-idx1-ubyte")),
    )


def f32(x):
    """A float32 value as the Python float that round-trips it exactly."""
    return float(np.float32(x))


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of each epoch (training steps and the validation pass)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def run(seed, x_train, y_train, x_test, y_test):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    schedule = keras.optimizers.schedules.CosineDecay(0.001, DECAY_STEPS)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=PATIENCE, restore_best_weights=True
    )
    timer = EpochTimer()
    history = model.fit(
        x_train,
        y_train,
        batch_size=BATCH,
        epochs=EPOCHS,
        validation_data=(x_test, y_test),
        callbacks=[stopping, timer],
        verbose=2,
    )
    final = model.evaluate(x_test, y_test, batch_size=BATCH, return_dict=True, verbose=0)
    epochs_run = len(history.history["loss"])
    result = {
        "seed": seed,
        "epochs_run": epochs_run,
        "stopped_epoch": int(stopping.stopped_epoch),
        "best_epoch": int(stopping.best_epoch),
        "iterations": int(model.optimizer.iterations.numpy()),
        "final_val_loss": f32(final["loss"]),
        "final_val_accuracy": f32(final["accuracy"]),
        "history": {k: [f32(v) for v in vs] for k, vs in history.history.items()},
        "median_epoch_seconds": round(statistics.median(timer.seconds), 3),
    }
    print(
        f"seed {seed}: {epochs_run} epochs, stopped_epoch {result['stopped_epoch']}, "
        f"best_epoch {result['best_epoch']}, val_loss {final['loss']:.4f}, "
        f"val_accuracy {final['accuracy']:.4f}",
        flush=True,
    )
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = pathlib.Path(os.environ.get("MLP_DATA", REPO.parent / "shared" / "data")) / "mnist"
    parser.add_argument("--data", type=pathlib.Path, default=default, help="MNIST folder")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()

    x_train, y_train, x_test, y_test = load_mnist(args.data)
    # Raw 0..255 pixels, as the notebook feeds them (Keras casts its uint8 arrays to the
    # model's float32 the same way).
    x_train = x_train.astype(np.float32)
    x_test = x_test.astype(np.float32)
    y_train = y_train.astype(np.int64)
    y_test = y_test.astype(np.int64)

    runs = [run(seed, x_train, y_train, x_test, y_test) for seed in SEEDS]
    accuracies = [r["final_val_accuracy"] for r in runs]
    epochs = [r["epochs_run"] for r in runs]
    out = {
        "about": (
            "Keras 3 run of specs/examples/early_stopping.mlp: the notebook baseline on raw "
            "MNIST pixels, Adam with CosineDecay(0.001, 37500), EarlyStopping(monitor="
            "'val_loss', patience=2, restore_best_weights=True), batch 32, at most 20 "
            "epochs, validation on the 10k test images; stopped_epoch and best_epoch are "
            "Keras's 0-based attributes; final_* is model.evaluate on the test set after "
            "fit (the restored weights). Written by scripts/keras_mnist_early_stopping.py."
        ),
        "versions": {
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "tf_threads": 1,
        },
        "config": {
            "batch": BATCH,
            "epochs": EPOCHS,
            "decay_steps": DECAY_STEPS,
            "initial_learning_rate": 0.001,
            "monitor": "val_loss",
            "patience": PATIENCE,
            "restore_best_weights": True,
        },
        "summary": {
            "epochs_run": [min(epochs), max(epochs)],
            "final_val_accuracy": [min(accuracies), max(accuracies)],
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
