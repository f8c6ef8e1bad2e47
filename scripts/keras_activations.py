#!/usr/bin/env python3
"""Golden values of Keras 3's activations and their gradients, for
`mlp-runtime/tests/keras_activations.rs`.

Evaluates every activation the `mlp` language knows beyond the classic four (elu, selu,
gelu in both forms, silu, softplus, leaky_relu, with their default and a non-default
argument) and its derivative, through `keras.activations` on the TensorFlow backend, in
float32, at fixed points: large of both signs, near 0, and the thresholds where the
kernels switch formulas. The derivative is `tf.GradientTape`'s gradient of the sum, i.e.
the element-wise derivative TensorFlow back-propagates.

Run it in a throwaway virtual environment outside the repository:

    python3 -m venv /tmp/kvenv
    /tmp/kvenv/bin/pip install tensorflow-cpu keras
    /tmp/kvenv/bin/python scripts/keras_activations.py

It writes `mlp-runtime/tests/fixtures/keras_activations.json` (values printed with 9
significant digits, which round-trip f32 exactly).
"""

import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

# Fixed points: large of both signs, the softplus and erfc thresholds, near 0 (both signed
# zeros), and ordinary values.
POINTS = [
    -100.0, -50.0, -20.0, -14.0, -13.9, -12.0, -9.0, -7.5, -5.0, -4.0, -3.0, -2.5, -2.0,
    -1.5, -1.0, -0.75, -0.5, -0.3, -0.1, -0.01, -1e-3, -1e-4, -1e-6, -1e-9, -0.0, 0.0,
    1e-9, 1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0,
    7.5, 9.0, 12.0, 13.9, 14.0, 20.0, 50.0, 100.0,
]

# (name in the fixture, keras activation, keyword arguments)
CASES = [
    ("elu", keras.activations.elu, {}),
    ("elu_alpha_0.5", keras.activations.elu, {"alpha": 0.5}),
    ("selu", keras.activations.selu, {}),
    ("gelu", keras.activations.gelu, {}),
    ("gelu_approximate", keras.activations.gelu, {"approximate": True}),
    ("silu", keras.activations.silu, {}),
    ("softplus", keras.activations.softplus, {}),
    ("leaky_relu", keras.activations.leaky_relu, {}),
    ("leaky_relu_0.1", keras.activations.leaky_relu, {"negative_slope": 0.1}),
]


def f32(v):
    """A float32 as a JSON number that round-trips (9 significant digits)."""
    return float(f"{float(v):.9g}")


def main():
    x = tf.Variable(np.array(POINTS, dtype=np.float32))
    out = {
        "source": (
            f"keras {keras.__version__}, tensorflow {tf.__version__}, "
            "by scripts/keras_activations.py"
        ),
        "x": [f32(v) for v in x.numpy()],
        "activations": {},
    }
    for name, fn, kwargs in CASES:
        with tf.GradientTape() as tape:
            y = fn(x, **kwargs)
            total = tf.reduce_sum(y)
        dy = tape.gradient(total, x)
        out["activations"][name] = {
            "args": kwargs,
            "y": [f32(v) for v in y.numpy()],
            "dy": [f32(v) for v in dy.numpy()],
        }
    path = (
        pathlib.Path(__file__).resolve().parent.parent
        / "mlp-runtime/tests/fixtures/keras_activations.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
