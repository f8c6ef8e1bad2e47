#!/usr/bin/env python3
"""Keras 3 reference results for the CSV/tabular path, for `tests/fixtures/keras_tabular/`.

Writes two fixtures:

* `results.json`: four small MLPs trained by real Keras on scikit-learn's bundled tabular
  sets (iris, wine, a binary task made from wine, and boston housing), each over seeds
  0..4 on one thread: per-epoch history, final values, mean and min/max over the seeds,
  wall-clock seconds per epoch, and one 2-thread run (seed 0) of each model. Also the row
  permutations the split uses, and the Normalization statistics Keras adapted.
* `losses.json`: deterministic golden values for exact-semantics unit tests: the losses
  (binary cross-entropy from a sigmoid Dense layer, both the path Keras takes and the
  clipped-probability one; from_logits; mae; mse; huber with delta 1 and 0.5) and their
  gradients with respect to a Dense kernel; metric results (AUC, Precision, Recall,
  BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, RootMeanSquaredError,
  MeanAbsoluteError) on a fixed batch with ties and values exactly at thresholds; and
  Normalization's adapt statistics and outputs on a fixed 6x3 array with a constant column.

The split (reproduce it exactly on the Rust side):
  1. read the CSV, skipping line 1 (scikit-learn's metadata line `n_samples,n_features,...`)
     and, for boston, line 2 (the column names); every other line is a data row, in file
     order; the last column is the target, the others are the features (parsed as f32);
  2. permute the rows: row i of the permuted set is file row `perm[i]` (0-based data-row
     index), with `perm = np.random.default_rng(0).permutation(n)`, written literally into
     `results.json` (`datasets.<name>.permutation`) so the Rust side reads it rather than
     re-implementing numpy's PCG64/SeedSequence;
  3. `split_at = floor(n * (1 - 0.2))` (Keras's `validation_split=0.2` rule): permuted rows
     [0, split_at) train, [split_at, n) validate;
  4. `Normalization(axis=-1)` is adapted on the training rows only.

Run it in a throwaway virtual environment outside the repository, at low priority:

    python3 -m venv /tmp/kerasvenv
    nice -n 19 /tmp/kerasvenv/bin/pip install tensorflow-cpu keras
    nice -n 19 /tmp/kerasvenv/bin/python scripts/keras_tabular.py

The data are read from `/work/shared/data/tabular/` (override with `--data DIR`, or
`MLP_TABULAR_DATA`); they are never copied into the repository.

Internal mode (used by the main run for the 2-thread timing): `--threads 2 --worker OUT`.
"""

import argparse
import fractions
import json
import math
import os
import pathlib
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "keras_tabular"
DEFAULT_DATA = os.environ.get("MLP_TABULAR_DATA", "/work/shared/data/tabular")

SEEDS = [0, 1, 2, 3, 4]
VALIDATION_SPLIT = 0.2
PERMUTATION_SEED = 0

# (file, number of lines before the data rows, target kind)
DATASETS = {
    "iris": ("iris.csv", 1, "class"),
    "wine": ("wine_data.csv", 1, "class"),
    "boston": ("boston_house_prices.csv", 2, "real"),
}

# The four models. `layers` lists the Dense layers after Normalization; `target` maps the
# dataset's target column to the training target.
MODELS = {
    "iris": dict(
        dataset="iris", layers=[(16, "relu"), (3, "softmax")],
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
        lr=0.01, batch_size=16, epochs=100, target="class",
    ),
    "wine": dict(
        dataset="wine", layers=[(32, "relu"), (3, "softmax")],
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
        lr=0.01, batch_size=16, epochs=60, target="class",
    ),
    "housing": dict(
        dataset="boston", layers=[(64, "relu"), (64, "relu"), (1, None)],
        loss="mse", metrics=["mae"],
        lr=0.001, batch_size=32, epochs=200, target="real",
    ),
    "wine_binary": dict(
        dataset="wine", layers=[(16, "relu"), (1, "sigmoid")],
        loss="binary_crossentropy",
        metrics=["accuracy", "AUC", "Precision", "Recall"],
        lr=0.01, batch_size=16, epochs=40, target="class==0",
    ),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="folder with the three CSV files")
    p.add_argument("--out", default=str(OUT_DIR), help="folder the fixtures are written to")
    p.add_argument("--threads", type=int, default=1, help="TF intra- and inter-op threads")
    p.add_argument("--worker", default=None,
                   help="internal: train seed 0 of every model and write the runs here")
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated")
    p.add_argument("--losses-only", action="store_true", help="write losses.json only")
    return p.parse_args()


ARGS = parse_args()

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must happen before TensorFlow creates its runtime (i.e. before the first op).
tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
tf.config.threading.set_inter_op_parallelism_threads(ARGS.threads)

import keras  # noqa: E402


# ---------------------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------------------

def f32(v):
    """A float32 as a JSON number that round-trips (9 significant digits)."""
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        return str(v)
    return float(f"{v:.9g}")


def g7(v):
    """Training-curve values: 7 significant digits (runs are not bit-reproducible in Rust)."""
    return float(f"{float(v):.7g}")


def tolist(a, conv=f32):
    a = np.asarray(a)
    if a.ndim == 0:
        return conv(a)
    return [tolist(x, conv) for x in a]


def dump_compact(obj, path):
    """JSON with an indent, but every list of scalars (or of such lists, up to a short
    width) on one line, so that the files stay small and diffable."""

    def is_scalar(x):
        return not isinstance(x, (list, dict))

    def enc(x, ind):
        pad = " " * ind
        if isinstance(x, dict):
            if not x:
                return "{}"
            items = [f'{pad} {json.dumps(k)}: {enc(v, ind + 1)}' for k, v in x.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(x, list):
            if all(is_scalar(e) for e in x):
                return "[" + ", ".join(json.dumps(e) for e in x) + "]"
            if all(isinstance(e, list) and all(is_scalar(f) for f in e) for e in x):
                one = "[" + ", ".join(enc(e, 0) for e in x) + "]"
                if len(one) <= 200:
                    return one
            items = [pad + " " + enc(e, ind + 1) for e in x]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return json.dumps(x)

    pathlib.Path(path).write_text(enc(obj, 0) + "\n")


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------

def correctly_rounded_f32(token):
    """The float32 nearest to the decimal `token` (ties to even), computed exactly."""
    q = fractions.Fraction(token)
    c = np.float32(float(token))
    cands = [np.nextafter(c, np.float32(-np.inf)), c, np.nextafter(c, np.float32(np.inf))]
    best = min(cands, key=lambda v: (abs(fractions.Fraction(float(v)) - q),
                                     int(np.array(v).view(np.uint32)) & 1))
    return best


def load_csv(data_dir, name):
    fname, skip, kind = DATASETS[name]
    path = pathlib.Path(data_dir) / fname
    lines = path.read_text().splitlines()
    meta = lines[0].split(",")
    header = [h.strip('"') for h in lines[1].split(",")] if skip == 2 else None
    rows = [ln.split(",") for ln in lines[skip:] if ln.strip()]
    n = len(rows)
    assert n == int(meta[0]), (name, n, meta[0])
    assert all(len(r) == int(meta[1]) + 1 for r in rows), name
    # Parse via float64 then cast (what numpy does); check that this equals the correctly
    # rounded decimal -> f32 conversion for every cell, so a Rust `str::parse::<f32>` gets
    # bit-identical inputs.
    table64 = np.array([[float(t) for t in r] for r in rows], dtype=np.float64)
    table = table64.astype(np.float32)
    double_rounding = 0
    for r in rows:
        for t in r:
            if np.float32(float(t)) != correctly_rounded_f32(t):
                double_rounding += 1
    x = table[:, :-1]
    y = table64[:, -1]
    if kind == "class":
        assert np.all(y == np.round(y))
        y = y.astype(np.int32)
    else:
        y = y.astype(np.float32)
    return dict(path=str(path), x=x, y=y, n=n, n_features=x.shape[1], header=header,
                metadata_line=lines[0], skip_lines=skip,
                f32_double_rounding_cells=double_rounding)


def split(data):
    n = data["n"]
    perm = np.random.default_rng(PERMUTATION_SEED).permutation(n)
    split_at = int(math.floor(n * (1.0 - VALIDATION_SPLIT)))
    x, y = data["x"][perm], data["y"][perm]
    return perm, split_at, (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])


def target_for(model_spec, y):
    if model_spec["target"] == "class==0":
        return (y == 0).astype(np.float32)
    return y


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------

class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch (training steps + the validation pass)."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)


def make_metric(name):
    """A compile() metric. The metric classes get their names explicitly: Keras numbers
    the default names of later instances in one process (auc_1, precision_2, ...), and the
    history keys should be the ones a fresh process gives (auc, precision, recall)."""
    classes = {"AUC": keras.metrics.AUC, "Precision": keras.metrics.Precision,
               "Recall": keras.metrics.Recall}
    if name in classes:
        return classes[name](name=name.lower())
    return name


def train_one(spec, splits, seed):
    (xtr, ytr), (xva, yva) = splits
    keras.utils.set_random_seed(seed)
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(xtr)
    layers = [keras.Input((xtr.shape[1],)), norm]
    layers += [keras.layers.Dense(u, activation=a) for u, a in spec["layers"]]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=spec["lr"]),
                  loss=spec["loss"], metrics=[make_metric(m) for m in spec["metrics"]])
    timer = EpochTimer()
    t0 = time.perf_counter()
    hist = model.fit(xtr, ytr, batch_size=spec["batch_size"], epochs=spec["epochs"],
                     validation_data=(xva, yva), shuffle=True, verbose=0,
                     callbacks=[timer])
    total = time.perf_counter() - t0
    train_eval = model.evaluate(xtr, ytr, batch_size=spec["batch_size"], verbose=0,
                                return_dict=True)
    history = {k: [g7(v) for v in vs] for k, vs in hist.history.items()}
    secs = timer.seconds
    run = dict(
        seed=seed,
        history=history,
        final={k: g7(vs[-1]) for k, vs in hist.history.items()},
        final_weights_train_eval={k: g7(v) for k, v in train_eval.items()},
        seconds_per_epoch=[round(s, 5) for s in secs],
        seconds_first_epoch=round(secs[0], 5),
        seconds_per_epoch_median_after_first=round(float(np.median(secs[1:])), 5),
        seconds_fit_total=round(total, 4),
    )
    norm_stats = dict(mean=tolist(norm.adapt_mean.numpy()),
                      variance=tolist(norm.adapt_variance.numpy()),
                      count=int(norm.count.numpy()))
    return run, norm_stats, model


def summarize(runs):
    keys = runs[0]["final"].keys()
    out = {}
    for k in keys:
        vals = np.array([r["final"][k] for r in runs], dtype=np.float64)
        out[k] = dict(mean=g7(vals.mean()), min=g7(vals.min()), max=g7(vals.max()))
    med = np.array([r["seconds_per_epoch_median_after_first"] for r in runs])
    out["seconds_per_epoch_median_after_first"] = dict(
        mean=round(float(med.mean()), 5), min=round(float(med.min()), 5),
        max=round(float(med.max()), 5))
    return out


# ---------------------------------------------------------------------------------------
# losses.json: exact semantics on fixed small inputs
# ---------------------------------------------------------------------------------------

# A Dense(2) layer on 3 inputs. The kernel makes some logits large (|z| > 17, where the
# float32 sigmoid is exactly 0 or 1 and the clipped-probability formula differs from the
# logits one) and some moderate.
DENSE_KERNEL = [[4.0, -6.0], [-2.5, 3.0], [1.5, 0.5]]
DENSE_BIAS = [0.25, -0.5]
DENSE_X = [
    [1.0, 2.0, 3.0],
    [4.0, -1.0, 0.5],
    [-3.0, 2.0, 1.0],
    [0.1, 0.2, -0.3],
    [0.0, 0.0, 0.0],
]
BCE_Y = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
# Regression model: same shape, smaller weights so errors straddle the huber deltas.
REG_KERNEL = [[0.5, -0.25], [0.125, 0.75], [-0.5, 0.25]]
REG_BIAS = [0.1, -0.2]
REG_Y = [[0.0, 1.0], [2.0, -1.0], [-2.0, 1.5], [0.5, 0.0], [0.1, -0.2]]

# Literal predictions/targets for the element-wise losses (errors exactly 0, +-0.5, +-1,
# i.e. at both huber deltas, and beyond).
LIT_Y_TRUE = [[0.0, 1.0, 2.0, -1.0], [0.5, 0.5, 3.0, 0.0], [1.0, -2.0, 0.0, 0.25]]
LIT_Y_PRED = [[0.0, 1.5, 1.0, -0.5], [1.5, -0.5, 0.0, 0.75], [1.0, -2.5, 2.0, 0.25]]
# Literal sigmoid probabilities for BCE on probabilities (including exact 0 and 1, which
# the 1e-7 clip turns into -log(1e-7)-ish terms).
LIT_P = [[0.0, 1.0, 0.5, 0.9], [1e-8, 0.9999999, 0.25, 0.75], [0.3, 0.7, 1.0, 0.0]]
LIT_PY = [[0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]

# AUC(num_thresholds=200) thresholds are 0-eps, 1/199, ..., 198/199, 1+eps.
T199 = [float(np.float32(i / 199.0)) for i in (1, 50, 99, 100, 150, 198)]
BIN_Y = [0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0]
BIN_P = [0.0, 0.1, 0.35, 0.8, 0.5, 0.5, 0.5, 1.0, 0.65, 0.65, 0.2, 0.9,
         T199[0], T199[1], T199[2], T199[3], T199[4], T199[5], 0.5000001, 0.4999999,
         0.35, 0.999]
CAT_P = [
    [0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2], [0.4, 0.4, 0.2],
    [0.3, 0.3, 0.4], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.5, 0.5],
    [0.0, 0.5, 0.5], [0.6, 0.3, 0.1], [0.05, 0.05, 0.9], [0.2, 0.5, 0.3], [0.5, 0.25, 0.25],
    [0.25, 0.25, 0.5], [0.1, 0.6, 0.3], [0.45, 0.1, 0.45], [0.45, 0.1, 0.45],
    [0.3, 0.6, 0.1], [0.9, 0.05, 0.05],
]
CAT_Y = [0, 1, 2, 0, 1, 2, 0, 1, 1, 2, 1, 2, 1, 0, 2, 0, 0, 2, 1, 2]
REG_T = [1.0, 2.5, -0.5, 0.0, 3.0, 10.0, -4.0, 0.25, 0.5, 7.0,
         1.0, 1.0, -1.0, 2.0, 0.0, 5.5, -2.25, 0.75, 100.0, 0.125]
REG_P = [1.0, 2.0, 0.5, 0.0, 2.0, 12.0, -3.0, 0.5, 0.5, 6.0,
         1.5, 0.5, -1.0, 2.5, -0.1, 5.0, -2.0, 0.75, 98.0, 0.0]

NORM_X = [
    [1.0, 10.0, 5.0],
    [2.0, 20.0, 5.0],
    [3.0, 40.0, 5.0],
    [4.0, 80.0, 5.0],
    [5.0, 160.0, 5.0],
    [6.5, 0.5, 5.0],
]
NORM_EXTRA = [[0.0, 0.0, 5.0], [3.5, 51.75, 5.0000005], [-1.0, 1000.0, 4.0]]


def dense_model(kernel, bias, activation):
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=activation)])
    m.layers[-1].set_weights([np.array(kernel, np.float32), np.array(bias, np.float32)])
    return m


def kernel_grad_var(model, x, fn):
    kernel = model.layers[-1].kernel
    with tf.GradientTape() as tape:
        tape.watch(kernel.value)
        loss = fn(model(x))
    g = tape.gradient(loss, kernel.value)
    return float(loss), np.asarray(g)


def pred_grad(y_pred, fn):
    v = tf.Variable(np.array(y_pred, np.float32))
    with tf.GradientTape() as tape:
        loss = fn(v)
    return float(loss), np.asarray(tape.gradient(loss, v))


def losses_fixture():
    x = np.array(DENSE_X, np.float32)
    yb = np.array(BCE_Y, np.float32)
    yr = np.array(REG_Y, np.float32)
    sig = dense_model(DENSE_KERNEL, DENSE_BIAS, "sigmoid")
    lin = dense_model(DENSE_KERNEL, DENSE_BIAS, None)
    reg = dense_model(REG_KERNEL, REG_BIAS, None)
    logits = lin(x).numpy()
    probs = sig(x).numpy()
    eps = keras.config.epsilon()
    bce = keras.losses.BinaryCrossentropy()

    # --- Which path does BCE on a sigmoid Dense output take?
    p_out = sig(x)
    has_attr = hasattr(p_out, "_keras_logits")
    v_loss_fn = float(bce(yb, p_out))
    v_fn = float(keras.ops.mean(keras.losses.binary_crossentropy(yb, p_out)))
    v_numpy = float(bce(yb, p_out.numpy()))          # plain probabilities: no logits
    v_identity = float(bce(yb, tf.identity(p_out)))   # a new tensor: no logits
    v_fromlog_on_sig = float(keras.losses.BinaryCrossentropy(from_logits=True)(yb, p_out))
    sig.compile(loss="binary_crossentropy")
    v_compute_loss = float(sig.compute_loss(x=x, y=yb, y_pred=sig(x)))
    v_evaluate = float(sig.evaluate(x, yb, batch_size=len(x), verbose=0))

    @tf.function
    def in_graph(xx):
        return bce(yb, sig(xx))
    v_graph = float(in_graph(x))

    z = logits.astype(np.float64)
    logits_formula = np.mean(np.maximum(z, 0) - z * yb + np.log1p(np.exp(-np.abs(z))))
    pc = np.clip(probs, np.float32(eps), np.float32(1.0 - eps)).astype(np.float64)
    prob_formula = -np.mean(yb * np.log(pc) + (1 - yb) * np.log(1 - pc))

    # The 1-unit model of the binary task, with targets of shape (n,) (as the training
    # uses) and (n, 1): squeeze_or_expand_to_same_rank expands y_true, y_pred keeps the
    # cached logits.
    sig1 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    sig1.layers[-1].set_weights([np.array(DENSE_KERNEL, np.float32)[:, :1],
                                 np.array(DENSE_BIAS[:1], np.float32)])
    y1 = yb[:, 0]
    z1 = logits[:, :1].astype(np.float64)
    one_unit = dict(
        y_shape_n=f32(bce(y1, sig1(x))),
        y_shape_n1=f32(bce(y1[:, None], sig1(x))),
        logits_formula=f32(np.mean(np.maximum(z1, 0) - z1 * y1[:, None]
                                   + np.log1p(np.exp(-np.abs(z1))))),
    )

    # --- Gradients w.r.t. the Dense kernel.
    l_keras, g_keras = kernel_grad_var(sig, x, lambda p: bce(yb, p))
    l_clip, g_clip = kernel_grad_var(sig, x, lambda p: bce(yb, tf.identity(p)))
    l_logit, g_logit = kernel_grad_var(
        lin, x, lambda z_: keras.losses.BinaryCrossentropy(from_logits=True)(yb, z_))

    bce_section = dict(
        note=("BinaryCrossentropy on the output of Dense(activation='sigmoid'): Keras's "
              "sigmoid caches its input as `_keras_logits` on the output tensor (eager and "
              "graph), and backend binary_crossentropy then uses "
              "tf.nn.sigmoid_cross_entropy_with_logits on those logits; from a plain "
              "probability tensor (a numpy copy, tf.identity) it clips p to "
              "[eps, 1-eps], eps=1e-7, and takes -(y log p + (1-y) log(1-p)). Both are "
              "then averaged over the last axis, then over the batch."),
        output_has_keras_logits_attribute=has_attr,
        loss_fn_on_model_output=f32(v_loss_fn),
        losses_binary_crossentropy_fn=f32(v_fn),
        model_compute_loss=f32(v_compute_loss),
        model_evaluate=f32(v_evaluate),
        loss_fn_inside_tf_function=f32(v_graph),
        from_logits_true_on_sigmoid_output=f32(v_fromlog_on_sig),
        loss_fn_on_numpy_probabilities=f32(v_numpy),
        loss_fn_on_tf_identity_probabilities=f32(v_identity),
        logits_formula_float64=f32(logits_formula),
        clipped_probability_formula_float64=f32(prob_formula),
        path_taken=("logits" if abs(v_loss_fn - logits_formula) < abs(v_loss_fn - prob_formula)
                    else "clipped_probabilities"),
        one_unit_model=one_unit,
        grad_kernel_keras_path=tolist(g_keras),
        grad_kernel_clipped_probability_path=tolist(g_clip),
        grad_kernel_from_logits_on_linear_model=tolist(g_logit),
        loss_keras_path=f32(l_keras),
        loss_clipped_probability_path=f32(l_clip),
        loss_from_logits_on_linear_model=f32(l_logit),
    )

    # --- Regression losses through the linear model, and on literal predictions.
    reg_losses = {
        "mse": keras.losses.MeanSquaredError(),
        "mae": keras.losses.MeanAbsoluteError(),
        "huber_delta_1.0": keras.losses.Huber(delta=1.0),
        "huber_delta_0.5": keras.losses.Huber(delta=0.5),
    }
    model_losses = {}
    for name, fn in reg_losses.items():
        val, g = kernel_grad_var(reg, x, lambda p, fn=fn: fn(yr, p))
        model_losses[name] = dict(value=f32(val), grad_kernel=tolist(g))
    val, g = kernel_grad_var(
        lin, x, lambda z_: keras.losses.BinaryCrossentropy(from_logits=True)(yb, z_))
    model_losses["binary_crossentropy_from_logits"] = dict(
        value=f32(val), grad_kernel=tolist(g), y_true="bce.y_true", model="dense (linear)")

    lyt = np.array(LIT_Y_TRUE, np.float32)
    literal = {}
    for name, fn in reg_losses.items():
        val, g = pred_grad(LIT_Y_PRED, lambda p, fn=fn: fn(lyt, p))
        per_sample = fn.fn(lyt, np.array(LIT_Y_PRED, np.float32), **fn._fn_kwargs)
        literal[name] = dict(value=f32(val), per_sample=tolist(per_sample),
                             grad_y_pred=tolist(g))
    lpy = np.array(LIT_PY, np.float32)
    val, g = pred_grad(LIT_P, lambda p: bce(lpy, p))
    literal["binary_crossentropy_on_probabilities"] = dict(
        y_true=LIT_PY, y_pred=LIT_P, value=f32(val),
        per_sample=tolist(keras.losses.binary_crossentropy(lpy, np.array(LIT_P, np.float32))),
        grad_y_pred=tolist(g))
    val, g = pred_grad(LIT_Y_PRED, lambda p: keras.losses.BinaryCrossentropy(
        from_logits=True)(lpy, p))
    literal["binary_crossentropy_from_logits"] = dict(
        y_true=LIT_PY, y_pred="y_pred (as logits)", value=f32(val), grad_y_pred=tolist(g))

    # --- Metrics on fixed batches.
    by = np.array(BIN_Y, np.float32)
    bp = np.array(BIN_P, np.float32)
    metrics = {}

    def run_metric(m, yt, yp, halves=False):
        if halves:
            k = len(yt) // 2 + 1
            m.update_state(yt[:k], yp[:k])
            m.update_state(yt[k:], yp[k:])
        else:
            m.update_state(yt, yp)
        return float(m.result())

    auc = keras.metrics.AUC(num_thresholds=200)
    metrics["auc_roc_200"] = dict(value=f32(run_metric(auc, by, bp)),
                                  tp=tolist(auc.true_positives.numpy(), int),
                                  fp=tolist(auc.false_positives.numpy(), int),
                                  tn=tolist(auc.true_negatives.numpy(), int),
                                  fn=tolist(auc.false_negatives.numpy(), int))
    # Keras buckets each prediction as max(ceil(p * 199) - 1, 0) (float32); check that this
    # equals the plain rule "p > threshold" with the thresholds rounded to float32.
    th32 = np.array(auc.thresholds, np.float32)
    naive_tp = [int(((bp > t) & (by == 1)).sum()) for t in th32]
    naive_fp = [int(((bp > t) & (by == 0)).sum()) for t in th32]
    metrics["auc_roc_200"]["equals_p_greater_than_float32_threshold"] = bool(
        naive_tp == metrics["auc_roc_200"]["tp"] and naive_fp == metrics["auc_roc_200"]["fp"])
    metrics["auc_roc_200"]["formula"] = (
        "tpr_i = tp_i/(tp_i+fn_i), fpr_i = fp_i/(fp_i+tn_i) (0 where the denominator is 0) "
        "at the 200 thresholds in increasing order; "
        "auc = sum_i (fpr_i - fpr_{i+1}) * (tpr_i + tpr_{i+1}) / 2 (trapezoids)")
    metrics["auc_roc_200_two_updates"] = f32(
        run_metric(keras.metrics.AUC(num_thresholds=200), by, bp, halves=True))
    metrics["auc_roc_200_minoring"] = f32(run_metric(
        keras.metrics.AUC(num_thresholds=200, summation_method="minoring"), by, bp))
    metrics["auc_roc_200_majoring"] = f32(run_metric(
        keras.metrics.AUC(num_thresholds=200, summation_method="majoring"), by, bp))
    metrics["auc_pr_200"] = f32(run_metric(
        keras.metrics.AUC(num_thresholds=200, curve="PR"), by, bp))
    metrics["auc_roc_3"] = f32(run_metric(keras.metrics.AUC(num_thresholds=3), by, bp))
    # Exact (Mann-Whitney, ties count 1/2) ROC AUC for comparison.
    pos, neg = bp[by == 1].astype(np.float64), bp[by == 0].astype(np.float64)
    exact = np.mean([(1.0 if a > b else 0.5 if a == b else 0.0) for a in pos for b in neg])
    metrics["exact_roc_auc_mann_whitney"] = f32(exact)
    metrics["auc_thresholds_200"] = dict(
        rule="[0 - 1e-7] + [i/199 for i in 1..=198] + [1 + 1e-7] (computed in float64, "
             "used as float32); a prediction counts as positive at threshold t iff p > t",
        at_thresholds_used_in_y_pred=T199)
    pm = keras.metrics.Precision()
    metrics["precision"] = dict(value=f32(run_metric(pm, by, bp)),
                                tp=int(pm.true_positives.numpy()[0]),
                                fp=int(pm.false_positives.numpy()[0]))
    rm = keras.metrics.Recall()
    metrics["recall"] = dict(value=f32(run_metric(rm, by, bp)),
                             tp=int(rm.true_positives.numpy()[0]),
                             fn=int(rm.false_negatives.numpy()[0]))
    metrics["precision_no_positive_predictions"] = f32(run_metric(
        keras.metrics.Precision(), np.array([1.0, 0.0], np.float32),
        np.array([0.1, 0.5], np.float32)))
    metrics["binary_accuracy_0.5"] = f32(run_metric(
        keras.metrics.BinaryAccuracy(threshold=0.5), by, bp))
    metrics["binary_accuracy_0.5_two_updates"] = f32(run_metric(
        keras.metrics.BinaryAccuracy(threshold=0.5), by, bp, halves=True))
    cp = np.array(CAT_P, np.float32)
    cy = np.array(CAT_Y, np.int32)
    onehot = np.eye(3, dtype=np.float32)[cy]
    metrics["categorical_accuracy"] = f32(run_metric(
        keras.metrics.CategoricalAccuracy(), onehot, cp))
    metrics["sparse_categorical_accuracy"] = f32(run_metric(
        keras.metrics.SparseCategoricalAccuracy(), cy, cp))
    metrics["sparse_categorical_accuracy_y_n1"] = f32(run_metric(
        keras.metrics.SparseCategoricalAccuracy(), cy[:, None].astype(np.float32), cp))
    metrics["argmax_of_y_pred"] = [int(i) for i in np.argmax(cp, axis=-1)]
    rt = np.array(REG_T, np.float32)
    rp = np.array(REG_P, np.float32)
    metrics["root_mean_squared_error"] = f32(run_metric(
        keras.metrics.RootMeanSquaredError(), rt, rp))
    metrics["root_mean_squared_error_two_updates"] = f32(run_metric(
        keras.metrics.RootMeanSquaredError(), rt, rp, halves=True))
    metrics["mean_absolute_error"] = f32(run_metric(
        keras.metrics.MeanAbsoluteError(), rt, rp))
    metrics["root_mean_squared_error_n1"] = f32(run_metric(
        keras.metrics.RootMeanSquaredError(), rt[:, None], rp[:, None]))
    metrics["mean_absolute_error_n1"] = f32(run_metric(
        keras.metrics.MeanAbsoluteError(), rt[:, None], rp[:, None]))

    # --- Normalization.
    nx = np.array(NORM_X, np.float32)
    ne = np.array(NORM_EXTRA, np.float32)
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(nx)
    norm64 = keras.layers.Normalization(axis=-1)
    norm64.adapt(nx.astype(np.float64))
    norm_ds = keras.layers.Normalization(axis=-1)
    norm_ds.adapt(tf.data.Dataset.from_tensor_slices(nx).batch(4))
    normalization = dict(
        note=("adapt on a numpy array: mean = np.mean(x, axis=0), variance = np.var(x, "
              "axis=0) (population, ddof=0), in the array's dtype, stored as float32; "
              "count stays 0 for array input. call: (x - mean) / max(sqrt(variance), "
              "1e-7). A tf.data input is merged batch by batch instead."),
        x=tolist(nx), extra_x=tolist(ne),
        adapt_mean=tolist(norm.adapt_mean.numpy()),
        adapt_variance=tolist(norm.adapt_variance.numpy()),
        count=int(norm.count.numpy()),
        output=tolist(norm(nx).numpy()),
        output_extra=tolist(norm(ne).numpy()),
        adapt_from_float64_array=dict(mean=tolist(norm64.adapt_mean.numpy()),
                                      variance=tolist(norm64.adapt_variance.numpy())),
        adapt_from_dataset_batches_of_4=dict(mean=tolist(norm_ds.adapt_mean.numpy()),
                                             variance=tolist(norm_ds.adapt_variance.numpy()),
                                             count=int(norm_ds.count.numpy())),
    )

    return dict(
        source=f"keras {keras.__version__}, tensorflow {tf.__version__}, numpy "
               f"{np.__version__}, by scripts/keras_tabular.py",
        epsilon=eps,
        reduction=("every loss: per-sample value = mean over the last axis, then the mean "
                   "over the batch (reduction 'sum_over_batch_size')"),
        dense=dict(x=DENSE_X, kernel=DENSE_KERNEL, bias=DENSE_BIAS,
                   logits=tolist(logits), sigmoid=tolist(probs)),
        bce=dict(y_true=BCE_Y, **bce_section),
        regression_model=dict(kernel=REG_KERNEL, bias=REG_BIAS, y_true=REG_Y,
                              y_pred=tolist(reg(x).numpy())),
        model_losses=model_losses,
        literal_losses=dict(y_true=LIT_Y_TRUE, y_pred=LIT_Y_PRED, **literal),
        metrics=dict(binary_y_true=BIN_Y, binary_y_pred=tolist(bp),
                     categorical_y_true=CAT_Y, categorical_y_pred=tolist(cp),
                     regression_y_true=REG_T, regression_y_pred=REG_P, **metrics),
        normalization=normalization,
    )


# ---------------------------------------------------------------------------------------

def versions():
    return dict(keras=keras.__version__, tensorflow=tf.__version__, numpy=np.__version__,
                python=platform.python_version(), backend=keras.backend.backend(),
                floatx=keras.config.floatx(),
                tf_enable_onednn_opts=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(unset)"),
                machine=platform.machine(), cpu_count=os.cpu_count())


def train_all(data_dir, models, seeds):
    cache = {}
    out = {}
    for name in models:
        spec = MODELS[name]
        if spec["dataset"] not in cache:
            cache[spec["dataset"]] = split(load_csv(data_dir, spec["dataset"]))
        perm, split_at, (xtr, ytr), (xva, yva) = cache[spec["dataset"]]
        splits = ((xtr, target_for(spec, ytr)), (xva, target_for(spec, yva)))
        runs, norm_stats = [], None
        for seed in seeds:
            t0 = time.perf_counter()
            run, stats, _ = train_one(spec, splits, seed)
            runs.append(run)
            if seed == 0:
                norm_stats = stats
            print(f"{name} seed {seed}: {run['final']} "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
        out[name] = (runs, norm_stats)
    return out, cache


def main():
    models = [m for m in ARGS.models.split(",") if m]
    if ARGS.worker:
        res, _ = train_all(ARGS.data, models, [0])
        pathlib.Path(ARGS.worker).write_text(json.dumps(
            {k: runs[0] for k, (runs, _) in res.items()}))
        return

    seeds = [int(s) for s in ARGS.seeds.split(",")]
    out_dir = pathlib.Path(ARGS.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    losses = losses_fixture()
    losses["versions"] = versions()
    dump_compact(losses, out_dir / "losses.json")
    print(f"wrote {out_dir / 'losses.json'}", file=sys.stderr)
    if ARGS.losses_only:
        return

    t0 = time.perf_counter()
    res, cache = train_all(ARGS.data, models, seeds)
    one_thread_seconds = time.perf_counter() - t0
    load_mid = os.getloadavg()

    # 2-thread run of seed 0 of every model, in a fresh process (the thread counts can
    # only be set before TensorFlow starts).
    tmp = out_dir / ".two_threads.tmp.json"
    subprocess.run([sys.executable, __file__, "--threads", "2", "--worker", str(tmp),
                    "--data", ARGS.data, "--models", ",".join(models)], check=True)
    two = json.loads(tmp.read_text())
    tmp.unlink()
    load_after = os.getloadavg()

    datasets = {}
    for dname, (perm, split_at, (xtr, ytr), (xva, yva)) in cache.items():
        d = load_csv(ARGS.data, dname)
        info = dict(file=pathlib.Path(d["path"]).name, metadata_line=d["metadata_line"],
                    lines_skipped=d["skip_lines"], header=d["header"], n=d["n"],
                    n_features=d["n_features"], split_at=split_at,
                    n_train=len(ytr), n_val=len(yva),
                    f32_double_rounding_cells=d["f32_double_rounding_cells"],
                    permutation=[int(i) for i in perm])
        if DATASETS[dname][2] == "class":
            info["val_class_counts"] = np.bincount(yva, minlength=3).tolist()
            info["train_class_counts"] = np.bincount(ytr, minlength=3).tolist()
        else:
            info["train_target_mean"] = g7(ytr.mean())
            info["val_target_mean"] = g7(yva.mean())
        datasets[dname] = info

    results = dict(
        source="by scripts/keras_tabular.py (see tests/fixtures/keras_tabular/README.md)",
        versions=versions(),
        protocol=dict(
            seeds=seeds, validation_split=VALIDATION_SPLIT,
            split_rule="split_at = floor(n * (1 - 0.2)); permuted rows [0, split_at) "
                       "train, [split_at, n) validation",
            permutation_rule=f"np.random.default_rng({PERMUTATION_SEED}).permutation(n); "
                             "permuted row i = data row permutation[i] (0-based, after the "
                             "skipped lines)",
            seeding="keras.utils.set_random_seed(seed) before each model is built",
            normalization="Normalization(axis=-1).adapt(x_train) on the float32 training "
                          "features (np.mean / np.var, ddof=0)",
            init="Dense defaults: glorot_uniform kernel, zeros bias; float32",
            optimizer="keras.optimizers.Adam(learning_rate=lr), other arguments default "
                      "(beta_1 0.9, beta_2 0.999, epsilon 1e-7)",
            fit="model.fit(x_train, y_train, batch_size, epochs, validation_data=(x_val, "
                "y_val), shuffle=True); the train loss/metrics in the history are the "
                "running values over the epoch (loss weighted by batch size), the val_ ones "
                "an evaluation at the epoch's end",
            timing="seconds per epoch = wall clock from on_epoch_begin to on_epoch_end "
                   "(training steps and the validation pass; epoch 1 includes tf.function "
                   "tracing); single TF thread (intra 1, inter 1) except `two_threads`; "
                   "measured under nice -n 19 on a 2-core machine shared with other builds",
            load_average_1_5_15=dict(before=[round(v, 2) for v in load_before],
                                     after_one_thread_runs=[round(v, 2) for v in load_mid],
                                     after_two_thread_runs=[round(v, 2) for v in load_after]),
            one_thread_total_seconds=round(one_thread_seconds, 1),
        ),
        datasets=datasets,
        models={},
    )
    for name, (runs, norm_stats) in res.items():
        spec = MODELS[name]
        t2 = two[name]
        one0 = next(r for r in runs if r["seed"] == 0)
        results["models"][name] = dict(
            spec=dict(
                dataset=spec["dataset"],
                target=("1.0 if class == 0 else 0.0" if spec["target"] == "class==0"
                        else "last column"),
                layers=["Input(%d)" % cache[spec["dataset"]][2][0].shape[1],
                        "Normalization(axis=-1)"]
                + [f"Dense({u}, {a or 'linear'})" for u, a in spec["layers"]],
                loss=spec["loss"], metrics=spec["metrics"], optimizer="adam",
                learning_rate=spec["lr"], batch_size=spec["batch_size"],
                epochs=spec["epochs"], shuffle=True),
            normalization_seed0=norm_stats,
            summary=summarize(runs),
            runs=runs,
            two_threads=dict(
                seed=0,
                seconds_first_epoch=t2["seconds_first_epoch"],
                seconds_per_epoch_median_after_first=t2[
                    "seconds_per_epoch_median_after_first"],
                seconds_fit_total=t2["seconds_fit_total"],
                final=t2["final"],
                history_identical_to_one_thread=(t2["history"] == one0["history"]),
            ),
        )
    dump_compact(results, out_dir / "results.json")
    print(f"wrote {out_dir / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()
