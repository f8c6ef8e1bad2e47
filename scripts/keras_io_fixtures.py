#!/usr/bin/env python3
"""Small `.keras` files made by real Keras, with Keras's outputs, for mlp-keras's tests.

Builds and briefly trains three small Sequential models on fixed synthetic data, saves
each with `model.save` and records, in a JSON beside it:
- `inputs` (8 fixed rows) and Keras's `outputs` for them (`model.predict`, float32);
- `optimizer_variables`: every optimizer variable by its Keras path
  (`adam/dense_kernel_momentum`, …) with its shape and values, and `iterations`;
- `step`: targets for the 8 rows and Keras's outputs after one more `fit` step on them
  (one batch, no shuffling), taken after saving (so the file holds the state before it).

The models:
- `tabular`: Normalization (adapted) → Dense(16, relu) → Dropout(0.2) → Dense(3, softmax),
  Adam(lr 0.01), sparse categorical cross-entropy, accuracy;
- `leaky`: Flatten of a (2, 4) input → Dense(12, HeNormal, Constant(0.05) bias, L2(1e-3))
  → BatchNormalization(momentum 0.9, epsilon 1e-4) → LeakyReLU(0.1) → Dense(4, softmax,
  RandomUniform(-0.2, 0.2), L1(1e-4) bias), Adam(lr 0.005, beta_2 0.99), categorical
  cross-entropy, categorical accuracy;
- `rmsprop`: Rescaling(0.5, offset 0.1) → Dense(4, tanh, GlorotNormal) → Dense(1,
  sigmoid), RMSprop(lr 0.01, momentum 0.9), binary cross-entropy, AUC(num_thresholds 50)
  and Precision(thresholds 0.3).

And two files mlp must refuse: `functional_branches.keras` (two Dense layers on one
input, added) and `unknown_layer.keras` (a LayerNormalization).

Run it in a throwaway virtual environment outside the repository:

    python3 -m venv /tmp/venv-keras
    /tmp/venv-keras/bin/pip install tensorflow-cpu keras
    /tmp/venv-keras/bin/python scripts/keras_io_fixtures.py

It writes `mlp-keras/tests/fixtures/keras/` (see the README there).
"""

import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import initializers, layers, losses, metrics, optimizers, regularizers  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "mlp-keras/tests/fixtures/keras"


def floats(a):
    return [float(v) for v in np.asarray(a, dtype="float32").reshape(-1)]


def record(name, model, x_train, y_train, x, step_targets):
    """Trains, saves, records outputs and optimizer state, then steps once more."""
    model.fit(x_train, y_train, epochs=2, batch_size=16, shuffle=True, verbose=0)
    model.save(OUT / f"{name}.keras")
    out = {
        "keras_version": keras.__version__,
        "input_shape": list(x.shape[1:]),
        "rows": int(x.shape[0]),
        "inputs": floats(x),
        "outputs": floats(model.predict(x, verbose=0)),
        "iterations": int(model.optimizer.iterations.numpy()),
        "optimizer_variables": {
            v.path: {"shape": list(v.shape), "values": floats(v.numpy())}
            for v in model.optimizer.variables[2:]
        },
        "learning_rate": float(model.optimizer.learning_rate.numpy()),
    }
    model.fit(x, step_targets, epochs=1, batch_size=x.shape[0], shuffle=False, verbose=0)
    out["step"] = {
        "targets": floats(step_targets),
        "outputs_after": floats(model.predict(x, verbose=0)),
        "iterations_after": int(model.optimizer.iterations.numpy()),
    }
    (OUT / f"{name}.json").write_text(json.dumps(out) + "\n")
    print(f"{name}: {out['iterations']} steps, {len(out['optimizer_variables'])} slots")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(14)
    keras.utils.set_random_seed(14)

    # tabular: Normalization adapted on the training features.
    x_train = (rng.normal(size=(96, 5)) * [1.0, 3.0, 0.5, 10.0, 2.0] + [0, 5, -1, 50, 0])
    x_train = x_train.astype("float32")
    y_train = (x_train[:, 0] + x_train[:, 2] > 0).astype("int64") + (x_train[:, 1] > 6)
    norm = layers.Normalization()
    norm.adapt(x_train)
    model = keras.Sequential([
        keras.Input((5,)),
        norm,
        layers.Dense(16, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(3, activation="softmax"),
    ], name="tabular")
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = x_train[:8] + np.float32(0.25)
    record("tabular", model, x_train, y_train, x, y_train[:8])

    # leaky: BatchNormalization with its own momentum and epsilon, LeakyReLU, initialisers
    # and penalties that are not Keras's defaults.
    x_train = rng.uniform(-1, 1, size=(64, 2, 4)).astype("float32")
    labels = np.argmax(x_train.reshape(64, 8)[:, :4], axis=1)
    y_train = np.eye(4, dtype="float32")[labels]
    model = keras.Sequential([
        keras.Input((2, 4)),
        layers.Flatten(),
        layers.Dense(12, kernel_initializer=initializers.HeNormal(),
                     bias_initializer=initializers.Constant(0.05),
                     kernel_regularizer=regularizers.L2(1e-3)),
        layers.BatchNormalization(momentum=0.9, epsilon=1e-4),
        layers.LeakyReLU(negative_slope=0.1),
        layers.Dense(4, activation="softmax",
                     kernel_initializer=initializers.RandomUniform(-0.2, 0.2),
                     bias_regularizer=regularizers.L1(1e-4)),
    ], name="leaky")
    model.compile(optimizer=optimizers.Adam(learning_rate=0.005, beta_2=0.99),
                  loss="categorical_crossentropy", metrics=["categorical_accuracy"])
    x = x_train[:8] * np.float32(0.9)
    record("leaky", model, x_train, y_train, x, y_train[:8])

    # rmsprop: RMSprop with momentum (its slots are laid out slot by slot), a Rescaling,
    # metric objects with arguments.
    x_train = rng.normal(size=(64, 3)).astype("float32")
    y_train = (x_train.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = keras.Sequential([
        keras.Input((3,)),
        layers.Rescaling(0.5, offset=0.1),
        layers.Dense(4, activation="tanh", kernel_initializer="glorot_normal"),
        layers.Dense(1, activation="sigmoid"),
    ], name="rmsprop")
    model.compile(optimizer=optimizers.RMSprop(learning_rate=0.01, momentum=0.9),
                  loss="binary_crossentropy",
                  metrics=[metrics.AUC(num_thresholds=50), metrics.Precision(thresholds=0.3)])
    x = x_train[:8]
    record("rmsprop", model, x_train, y_train, x, y_train[:8])

    # Refused: a functional model with branches, and a layer mlp does not have.
    inp = keras.Input((4,))
    a = layers.Dense(3)(inp)
    b = layers.Dense(3)(inp)
    out = layers.Dense(2, activation="softmax")(layers.Add()([a, b]))
    keras.Model(inp, out, name="branches").save(OUT / "functional_branches.keras")
    keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.LayerNormalization()],
                     name="unknown").save(OUT / "unknown_layer.keras")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
