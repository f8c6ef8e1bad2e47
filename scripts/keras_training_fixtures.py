#!/usr/bin/env python3
"""Golden fixtures of Keras 3's training loop, for `tests/fixtures/keras_training/`.

Writes, with real Keras 3 on TensorFlow (CPU), deterministic reference values for the
training-loop features of issue 16:

* `optimizers.json`: every optimiser configuration (incl. weight decay and the three
  clipping modes) trained 12 steps on model A, with the weights, the optimiser variables
  and the learning rate after steps 1, 2 and 12, and the History; and model B
  (BatchNormalization) with adam and sgd, whose moving statistics pin BatchNorm's
  `1 - momentum`.
* `schedules.json`: every learning-rate schedule in a few configurations, evaluated at the
  optimiser's `iterations` = 0..=40 exactly as the optimiser does; and two training runs
  with a scheduled optimiser.
* `callbacks.json`: EarlyStopping, ReduceLROnPlateau, CSVLogger, ModelCheckpoint and
  TerminateOnNaN.
* `weights.json`: class weights and sample weights on model C (binary), with and without
  `weighted_metrics`; `evaluate` with sample weights; class_weight + sample_weight together.

Nothing depends on Keras's RNG: the data and the initial weights are drawn by numpy from
fixed seeds and written into each file (`data`, `initial_weights`); training uses
`shuffle=False` and `jit_compile=False`, one TensorFlow thread, and op determinism.
Every float is a float32 value written as the JSON number of `float(np.float32(x))`, so
parsing it as f32 gives back the exact value.

Run it in a throwaway virtual environment outside the repository, at low priority:

    python3 -m venv /tmp/venv-keras
    nice -n 19 /tmp/venv-keras/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1
    nice -n 19 /tmp/venv-keras/bin/python scripts/keras_training_fixtures.py

`--only NAME` (optimizers, schedules, callbacks, weights) writes one file.
"""

import argparse
import json
import math
import os
import pathlib
import platform
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.config.experimental.enable_op_determinism()

import keras  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "keras_training"

BATCH = 8
N_TRAIN = 48
N_VAL = 24
SNAPSHOT_STEPS = (1, 2, 12)


# ---------------------------------------------------------------------------------------
# JSON helpers


def f32(x):
    """A float32 value as the Python float that round-trips it exactly."""
    return float(np.float32(x))


def f32_tree(a):
    """Nested lists of float32 values (or one value) from an array-like."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return a.tolist()
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def json_safe(obj):
    """Config dicts (get_config) with numpy scalars and tuples made JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def history_json(history):
    """History.history with every value a float32-exact float (NaN/inf as strings)."""
    out = {}
    for k, vs in history.items():
        row = []
        for v in vs:
            v = float(np.float32(v))
            row.append(v if math.isfinite(v) else repr(v))
        out[k] = row
    return out


def versions():
    return {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def write(name, payload):
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    text = json.dumps(payload, indent=None, separators=(",", ":"), allow_nan=False)
    path.write_text(text + "\n")
    print(f"wrote {path.relative_to(REPO)} ({len(text)} bytes)")


# ---------------------------------------------------------------------------------------
# Data and models


def glorot(rng, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def small_bias(rng, n):
    return rng.uniform(-0.1, 0.1, size=(n,)).astype(np.float32)


def multiclass_data(seed=1):
    """48 + 24 rows of 4 N(0,1) features; label = argmax of a linear rule plus noise."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    x = rng.normal(size=(N_TRAIN + N_VAL, 4)).astype(np.float32)
    noise = rng.normal(scale=0.5, size=(N_TRAIN + N_VAL, 3)).astype(np.float32)
    y = np.argmax(x @ w + noise, axis=1).astype(np.int64)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def binary_data(seed=3):
    """48 + 24 rows; label 1 for roughly the top quarter of a noisy linear score."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(4,)).astype(np.float32)
    x = rng.normal(size=(N_TRAIN + N_VAL, 4)).astype(np.float32)
    score = x @ w + rng.normal(scale=0.5, size=(N_TRAIN + N_VAL,)).astype(np.float32)
    threshold = np.quantile(score, 0.75)
    y = (score > threshold).astype(np.float32)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def data_json(x, y, xv, yv):
    return {"x": f32_tree(x), "y": f32_tree(y), "x_val": f32_tree(xv), "y_val": f32_tree(yv)}


def initial_weights_a(seed=2):
    rng = np.random.default_rng(seed)
    return {
        "dense/kernel": glorot(rng, 4, 5),
        "dense/bias": small_bias(rng, 5),
        "dense_1/kernel": glorot(rng, 5, 3),
        "dense_1/bias": small_bias(rng, 3),
    }


def initial_weights_b(seed=4):
    rng = np.random.default_rng(seed)
    return {
        "dense/kernel": glorot(rng, 4, 6),
        "dense/bias": small_bias(rng, 6),
        "batch_normalization/gamma": rng.uniform(0.8, 1.2, size=(6,)).astype(np.float32),
        "batch_normalization/beta": small_bias(rng, 6),
        "batch_normalization/moving_mean": small_bias(rng, 6),
        "batch_normalization/moving_variance": rng.uniform(0.8, 1.2, size=(6,)).astype(
            np.float32
        ),
        "dense_1/kernel": glorot(rng, 6, 3),
        "dense_1/bias": small_bias(rng, 3),
    }


def initial_weights_c(seed=5):
    rng = np.random.default_rng(seed)
    return {
        "dense/kernel": glorot(rng, 4, 4),
        "dense/bias": small_bias(rng, 4),
        "dense_1/kernel": glorot(rng, 4, 1),
        "dense_1/bias": small_bias(rng, 1),
    }


def build(kind):
    L = keras.layers
    if kind == "A":
        layers = [L.Dense(5, activation="relu", name="dense"),
                  L.Dense(3, activation="softmax", name="dense_1")]
    elif kind == "B":
        layers = [L.Dense(6, name="dense"),
                  L.BatchNormalization(momentum=0.99, epsilon=1e-3, name="batch_normalization"),
                  L.Activation("relu", name="activation"),
                  L.Dense(3, activation="softmax", name="dense_1")]
    elif kind == "C":
        layers = [L.Dense(4, activation="relu", name="dense"),
                  L.Dense(1, activation="sigmoid", name="dense_1")]
    else:
        raise ValueError(kind)
    return keras.Sequential([keras.Input(shape=(4,))] + layers, name="sequential")


def weight_dict(model):
    """{layer/weight: values} over every weight (trainable and not), Keras layer names."""
    out = {}
    for layer in model.layers:
        for w in layer.weights:
            out[f"{layer.name}/{w.name}"] = np.array(w.numpy())
    return out


def set_weights(model, weights):
    for layer in model.layers:
        for w in layer.weights:
            w.assign(weights[f"{layer.name}/{w.name}"])


def weights_json(d):
    return {k: f32_tree(v) for k, v in d.items()}


def optimizer_variables(opt):
    """{variable path less the optimiser's name: values} of every optimiser variable
    (`iteration` included). Keras numbers optimiser names per session (`adam`, `adam_1`,
    ...), so the `<name>/` prefix of `variable.path` is dropped."""
    out = {}
    for v in opt.variables:
        key = v.path.split("/", 1)[1] if "/" in v.path else v.path
        out[key] = f32_tree(v.numpy())
    return out


def compile_model(model, opt, loss, **kw):
    model.compile(optimizer=opt, loss=loss, jit_compile=False, **kw)


class Snapshots(keras.callbacks.Callback):
    """Weights, optimiser variables and learning rate after chosen global steps."""

    def __init__(self, steps=SNAPSHOT_STEPS):
        super().__init__()
        self.steps = set(steps)
        self.step = 0
        self.snaps = []

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step not in self.steps:
            return
        opt = self.model.optimizer
        self.snaps.append({
            "step": self.step,
            "iterations": int(opt.iterations.numpy()),
            # What `optimizer.learning_rate` reads now: for a schedule, its value at the
            # current `iterations`, i.e. the rate of the NEXT step.
            "learning_rate": f32(float(opt.learning_rate)),
            "batch_logs": {k: f32(v) for k, v in (logs or {}).items()},
            "weights": weights_json(weight_dict(self.model)),
            "optimizer_variables": optimizer_variables(opt),
        })


def fit(model, x, y, xv=None, yv=None, epochs=2, callbacks=(), **kw):
    val = None if xv is None else (xv, yv)
    return model.fit(x, y, batch_size=BATCH, epochs=epochs, validation_data=val,
                     shuffle=False, verbose=0, callbacks=list(callbacks), **kw)


# ---------------------------------------------------------------------------------------
# optimizers.json

O = keras.optimizers

OPTIMIZER_CASES = [
    ("adam", lambda: O.Adam()),
    ("adam_lr0.01", lambda: O.Adam(learning_rate=0.01)),
    ("adam_amsgrad", lambda: O.Adam(learning_rate=0.01, amsgrad=True)),
    ("adamw", lambda: O.AdamW()),
    ("adamw_lr0.01", lambda: O.AdamW(learning_rate=0.01)),
    ("nadam", lambda: O.Nadam(learning_rate=0.01)),
    ("adamax", lambda: O.Adamax(learning_rate=0.01)),
    ("adagrad", lambda: O.Adagrad(learning_rate=0.05)),
    ("adadelta", lambda: O.Adadelta(learning_rate=1.0)),
    ("lion", lambda: O.Lion(learning_rate=1e-3)),
    ("sgd_momentum", lambda: O.SGD(learning_rate=0.05, momentum=0.9)),
    ("sgd_nesterov", lambda: O.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)),
    ("rmsprop", lambda: O.RMSprop(learning_rate=0.01)),
    ("rmsprop_momentum0.5", lambda: O.RMSprop(learning_rate=0.01, momentum=0.5)),
    ("rmsprop_centered", lambda: O.RMSprop(learning_rate=0.01, centered=True)),
    ("adam_weight_decay", lambda: O.Adam(learning_rate=0.01, weight_decay=0.01)),
    ("sgd_weight_decay", lambda: O.SGD(learning_rate=0.05, weight_decay=0.01)),
    ("rmsprop_weight_decay", lambda: O.RMSprop(learning_rate=0.01, weight_decay=0.01)),
    ("adam_clipnorm", lambda: O.Adam(learning_rate=0.01, clipnorm=0.1)),
    ("adam_clipvalue", lambda: O.Adam(learning_rate=0.01, clipvalue=0.01)),
    ("adam_global_clipnorm", lambda: O.Adam(learning_rate=0.01, global_clipnorm=0.1)),
    ("sgd_clipnorm", lambda: O.SGD(learning_rate=0.05, clipnorm=0.1)),
]

BN_OPTIMIZER_CASES = [
    ("adam", lambda: O.Adam(learning_rate=0.01)),
    ("sgd_momentum", lambda: O.SGD(learning_rate=0.05, momentum=0.9)),
]


def train_case(kind, init, data, opt, loss, metrics, epochs=2, steps=SNAPSHOT_STEPS, **fit_kw):
    x, y, xv, yv = data
    model = build(kind)
    set_weights(model, init)
    compile_model(model, opt, loss, metrics=metrics)
    snaps = Snapshots(steps)
    h = fit(model, x, y, xv, yv, epochs=epochs, callbacks=[snaps], **fit_kw)
    return {
        "optimizer": json_safe(opt.get_config()),
        "history": history_json(h.history),
        # Step 12 is the end of training: its weights are the final weights.
        "steps": snaps.snaps,
    }


def make_optimizers():
    data_a = multiclass_data()
    init_a = initial_weights_a()
    init_b = initial_weights_b()
    cases = {}
    for name, make in OPTIMIZER_CASES:
        cases[name] = train_case("A", init_a, data_a, make(),
                                 "sparse_categorical_crossentropy", ["accuracy"])
        print(f"  optimizers/{name}: loss {cases[name]['history']['loss']}")
    bn_cases = {}
    for name, make in BN_OPTIMIZER_CASES:
        bn_cases[name] = train_case("B", init_b, data_a, make(),
                                    "sparse_categorical_crossentropy", ["accuracy"])
    return {
        "versions": versions(),
        "batch_size": BATCH,
        "epochs": 2,
        "snapshot_steps": list(SNAPSHOT_STEPS),
        "model_a": "input 4 -> Dense(5, relu) 'dense' -> Dense(3, softmax) 'dense_1'; "
                   "sparse_categorical_crossentropy; metrics [accuracy]",
        "model_b": "input 4 -> Dense(6) 'dense' -> BatchNormalization(momentum=0.99, "
                   "epsilon=1e-3) 'batch_normalization' -> Activation(relu) -> "
                   "Dense(3, softmax) 'dense_1'; same loss and metrics",
        "data": data_json(*data_a),
        "initial_weights": {"model_a": weights_json(init_a), "model_b": weights_json(init_b)},
        "cases": cases,
        "batchnorm_cases": bn_cases,
    }


# ---------------------------------------------------------------------------------------
# schedules.json

S = keras.optimizers.schedules

SCHEDULE_CASES = [
    ("exponential", lambda: S.ExponentialDecay(0.1, decay_steps=7, decay_rate=0.5)),
    ("exponential_staircase",
     lambda: S.ExponentialDecay(0.1, decay_steps=7, decay_rate=0.5, staircase=True)),
    ("exponential_rate0.96", lambda: S.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.96)),
    ("inverse_time", lambda: S.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5)),
    ("inverse_time_staircase",
     lambda: S.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True)),
    ("polynomial_power1",
     lambda: S.PolynomialDecay(0.1, decay_steps=20, end_learning_rate=0.01, power=1.0)),
    ("polynomial_power2",
     lambda: S.PolynomialDecay(0.1, decay_steps=20, end_learning_rate=0.01, power=2.0)),
    ("polynomial_power1_cycle",
     lambda: S.PolynomialDecay(0.1, decay_steps=15, end_learning_rate=0.01, power=1.0,
                               cycle=True)),
    ("polynomial_power2_cycle",
     lambda: S.PolynomialDecay(0.1, decay_steps=15, end_learning_rate=0.01, power=2.0,
                               cycle=True)),
    ("piecewise_constant",
     lambda: S.PiecewiseConstantDecay(boundaries=[5, 10], values=[0.1, 0.05, 0.01])),
    ("cosine", lambda: S.CosineDecay(0.1, decay_steps=30)),
    ("cosine_alpha0.1", lambda: S.CosineDecay(0.1, decay_steps=30, alpha=0.1)),
    ("cosine_warmup",
     lambda: S.CosineDecay(0.0, decay_steps=25, alpha=0.1, warmup_target=0.1, warmup_steps=8)),
    ("cosine_warmup_from0.01",
     lambda: S.CosineDecay(0.01, decay_steps=25, warmup_target=0.1, warmup_steps=8)),
    ("cosine_restarts", lambda: S.CosineDecayRestarts(0.1, first_decay_steps=5)),
    ("cosine_restarts_tmul1.5_mmul0.8_alpha0.1",
     lambda: S.CosineDecayRestarts(0.1, first_decay_steps=5, t_mul=1.5, m_mul=0.8, alpha=0.1)),
]


def schedule_values(schedule, steps=range(0, 41)):
    """The schedule at iterations = step, read the way the optimiser reads it.

    `BaseOptimizer._get_current_learning_rate` calls `self._learning_rate(self._iterations)`
    with the int64 `iterations` variable; so this sets a real optimiser's `iterations` and
    reads `optimizer.learning_rate`.
    """
    opt = O.SGD(learning_rate=schedule)
    out = []
    for step in steps:
        opt.iterations.assign(step)
        out.append(f32(float(opt.learning_rate)))
    return out


def make_schedules():
    cases = {}
    for name, make in SCHEDULE_CASES:
        sched = make()
        cases[name] = {
            "class_name": type(sched).__name__,
            "config": json_safe(sched.get_config()),
            "values": schedule_values(sched),
        }
    data_a = multiclass_data()
    init_a = initial_weights_a()
    training = {}
    for name, make in [
        ("adam_exponential", lambda: O.Adam(learning_rate=S.ExponentialDecay(0.01, 4, 0.5))),
        ("sgd_cosine", lambda: O.SGD(learning_rate=S.CosineDecay(0.1, 12))),
    ]:
        training[name] = train_case("A", init_a, data_a, make(),
                                    "sparse_categorical_crossentropy", ["accuracy"])
    return {
        "versions": versions(),
        "steps": "values[i] is the schedule at optimizer.iterations == i, i = 0..=40",
        "cases": cases,
        "training": {
            "batch_size": BATCH,
            "epochs": 2,
            "data": "optimizers.json data",
            "initial_weights": "optimizers.json initial_weights.model_a",
            "cases": training,
        },
    }


# ---------------------------------------------------------------------------------------
# callbacks.json

C = keras.callbacks


def callback_run(kind, init, data, opt, callbacks, epochs, loss, metrics, extra=None):
    x, y, xv, yv = data
    model = build(kind)
    set_weights(model, init)
    compile_model(model, opt, loss, metrics=metrics)
    # The weights at the end of every epoch, to say which epoch a restore picked.
    per_epoch = []

    class EpochWeights(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append(weights_json(weight_dict(self.model)))

    h = fit(model, x, y, xv, yv, epochs=epochs, callbacks=list(callbacks) + [EpochWeights()])
    final = weights_json(weight_dict(model))
    restored = [i for i, w in enumerate(per_epoch) if w == final]
    out = {
        "optimizer": json_safe(opt.get_config()),
        "epochs_requested": epochs,
        "epochs_run": len(h.epoch),
        "history": history_json(h.history),
        "final_weights": final,
        # 0-based epochs whose end-of-epoch weights equal the final weights.
        "final_weights_equal_epoch_end": restored,
        "final_learning_rate": f32(float(opt.learning_rate)),
    }
    if extra:
        out.update(extra)
    return out, model


def early_stopping_cases(data_a, init_a):
    configs = [
        ("val_loss_patience2", dict(monitor="val_loss", patience=2)),
        ("val_loss_patience2_restore", dict(monitor="val_loss", patience=2,
                                            restore_best_weights=True)),
        ("val_accuracy_auto_patience3", dict(monitor="val_accuracy", patience=3)),
        ("val_accuracy_auto_patience3_restore",
         dict(monitor="val_accuracy", patience=3, restore_best_weights=True)),
        ("val_loss_min_delta0.01", dict(monitor="val_loss", patience=2, min_delta=0.01)),
        ("val_loss_min_delta0.01_restore",
         dict(monitor="val_loss", patience=2, min_delta=0.01, restore_best_weights=True)),
        # Training loss improves every epoch: with a baseline it never beats, `wait` grows
        # but an improvement on `best` returns before the patience test, so it never stops.
        ("loss_baseline_never_beaten", dict(monitor="loss", patience=3, baseline=0.3)),
        # val_loss improves for a few epochs without beating the baseline, so `wait` is
        # never reset: it stops at the first epoch that does not improve.
        ("val_loss_baseline", dict(monitor="val_loss", patience=3, baseline=0.5)),
        ("val_loss_baseline_restore", dict(monitor="val_loss", patience=3, baseline=0.5,
                                           restore_best_weights=True)),
        ("val_loss_patience3", dict(monitor="val_loss", patience=3)),
        ("val_loss_start_from_epoch3", dict(monitor="val_loss", patience=1, start_from_epoch=3)),
        ("val_loss_patience0", dict(monitor="val_loss")),
        ("val_accuracy_mode_min", dict(monitor="val_accuracy", mode="min", patience=2)),
        ("restore_without_stop", dict(monitor="val_loss", patience=100,
                                      restore_best_weights=True)),
    ]
    out = {}
    for name, cfg in configs:
        es = C.EarlyStopping(**cfg)
        epochs = 12 if name == "restore_without_stop" else 30
        case, _ = callback_run("A", init_a, data_a, O.Adam(learning_rate=0.05), [es], epochs,
                               "sparse_categorical_crossentropy", ["accuracy"])
        case["callback"] = {"class_name": "EarlyStopping", "args": cfg}
        case["stopped_epoch"] = int(es.stopped_epoch)
        case["best_epoch"] = int(es.best_epoch)
        case["best"] = None if es.best is None else f32(float(es.best))
        case["wait"] = int(es.wait)
        out[name] = case
        print(f"  early_stopping/{name}: ran {case['epochs_run']}, stopped {es.stopped_epoch}, "
              f"best {es.best_epoch}, final == epoch end {case['final_weights_equal_epoch_end']}")
    return out


def reduce_lr_cases(data_a, init_a):
    out = {}
    for name, cfg, lr, epochs in [
        ("val_loss", dict(monitor="val_loss", factor=0.5, patience=1, min_delta=1e-4,
                          cooldown=1, min_lr=1e-4), 0.05, 30),
        # Reduced to 0.005, then clamped to min_lr 0.003; then the f32 rate 0.003 is not
        # `> np.float32(min_lr)`, so it stays.
        ("val_loss_patience0_min_lr", dict(monitor="val_loss", factor=0.1, patience=0,
                                           min_lr=0.003), 0.05, 12),
    ]:
        cb = C.ReduceLROnPlateau(**cfg)
        case, _ = callback_run("A", init_a, data_a, O.Adam(learning_rate=lr), [cb], epochs,
                               "sparse_categorical_crossentropy", ["accuracy"])
        case["callback"] = {"class_name": "ReduceLROnPlateau", "args": cfg}
        out[name] = case
        print(f"  reduce_lr/{name}: lr {case['history'].get('learning_rate')}")
    return out


def csv_logger_cases(data_a, init_a):
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, order in [("alone", "csv"), ("after_reduce_lr", "reduce_then_csv"),
                            ("before_reduce_lr", "csv_then_reduce")]:
            path = os.path.join(tmp, f"{name}.csv")
            csv_cb = C.CSVLogger(path)
            reduce = C.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0)
            cbs = {"csv": [csv_cb], "reduce_then_csv": [reduce, csv_cb],
                   "csv_then_reduce": [csv_cb, reduce]}[order]
            case, _ = callback_run("A", init_a, data_a, O.Adam(learning_rate=0.05), cbs, 3,
                                   "sparse_categorical_crossentropy", ["accuracy"])
            with open(path, "rb") as f:
                raw = f.read()
            out[name] = {
                "callbacks": [type(c).__name__ for c in cbs],
                "history": case["history"],
                "text": raw.decode("utf-8"),
            }
        # A run without validation data: CSVLogger adds val_ columns filled with NA.
        path = os.path.join(tmp, "no_validation.csv")
        x, y, _, _ = data_a
        model = build("A")
        set_weights(model, init_a)
        compile_model(model, O.Adam(learning_rate=0.05), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        h = fit(model, x, y, epochs=2, callbacks=[C.CSVLogger(path)])
        with open(path, "rb") as f:
            out["no_validation"] = {"callbacks": ["CSVLogger"],
                                    "history": history_json(h.history),
                                    "text": f.read().decode("utf-8")}
    return out


def model_checkpoint_cases(data_a, init_a):
    out = {}
    pattern = "ckpt_{epoch:02d}_{val_loss:.4f}.weights.h5"
    for name, cfg in [
        ("save_best_only", dict(save_best_only=True, save_weights_only=True)),
        ("save_all", dict(save_best_only=False, save_weights_only=True)),
        ("save_best_only_val_accuracy",
         dict(monitor="val_accuracy", save_best_only=True, save_weights_only=True)),
    ]:
        with tempfile.TemporaryDirectory() as tmp:
            cb = C.ModelCheckpoint(os.path.join(tmp, pattern), **cfg)
            case, _ = callback_run("A", init_a, data_a, O.Adam(learning_rate=0.05), [cb], 8,
                                   "sparse_categorical_crossentropy", ["accuracy"])
            files = sorted(os.listdir(tmp))
        out[name] = {"callback": {"class_name": "ModelCheckpoint",
                                  "args": dict(filepath=pattern, **cfg)},
                     "history": case["history"], "files": files}
        print(f"  model_checkpoint/{name}: {files}")
    return out


def terminate_on_nan_cases(data_a, init_a):
    cb = C.TerminateOnNaN()

    class BatchLosses(C.Callback):
        def __init__(self):
            super().__init__()
            self.step = 0
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            self.losses.append(f32((logs or {}).get("loss")))

    steps = BatchLosses()
    x, y, xv, yv = data_a
    model = build("A")
    set_weights(model, init_a)
    compile_model(model, O.SGD(learning_rate=1e12), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = fit(model, x, y, xv, yv, epochs=5, callbacks=[cb, steps])
    return {"sgd_lr1e12": {
        "optimizer": json_safe(model.optimizer.get_config()),
        "epochs_requested": 5,
        "epochs_run": len(h.epoch),
        "steps_run": steps.step,
        # The running-mean `loss` of the batch logs TerminateOnNaN reads, per step.
        "batch_losses": steps.losses,
        "history": history_json(h.history),
    }}


def json_float_batch_losses(case):
    case["batch_losses"] = [v if v is None or math.isfinite(v) else repr(v)
                            for v in case["batch_losses"]]
    return case


def make_callbacks():
    data_a = multiclass_data()
    init_a = initial_weights_a()
    tn = terminate_on_nan_cases(data_a, init_a)
    tn = {k: json_float_batch_losses(v) for k, v in tn.items()}
    return {
        "versions": versions(),
        "batch_size": BATCH,
        "data": "optimizers.json data",
        "initial_weights": "optimizers.json initial_weights.model_a",
        "early_stopping": early_stopping_cases(data_a, init_a),
        "reduce_lr_on_plateau": reduce_lr_cases(data_a, init_a),
        "csv_logger": csv_logger_cases(data_a, init_a),
        "model_checkpoint": model_checkpoint_cases(data_a, init_a),
        "terminate_on_nan": tn,
    }


# ---------------------------------------------------------------------------------------
# weights.json


def make_weights():
    data_c = binary_data()
    init_c = initial_weights_c()
    x, y, xv, yv = data_c
    rng = np.random.default_rng(6)
    sample_weight = rng.uniform(0.25, 2.0, size=(N_TRAIN,)).astype(np.float32)
    val_sample_weight = rng.uniform(0.25, 2.0, size=(N_VAL,)).astype(np.float32)
    class_weight = {0: 1.0, 1: 3.0}
    metric_variants = {
        "metrics": dict(metrics=["accuracy"]),
        "weighted_metrics": dict(weighted_metrics=["accuracy"]),
        "both": dict(metrics=["accuracy"], weighted_metrics=["accuracy"]),
    }
    cases = {}
    for weighting in ["class_weight", "sample_weight", "sample_weight_and_val_sample_weight"]:
        for variant, mkw in metric_variants.items():
            model = build("C")
            set_weights(model, init_c)
            compile_model(model, O.Adam(learning_rate=0.01), "binary_crossentropy", **mkw)
            snaps = Snapshots()
            fit_kw = {}
            val = (xv, yv)
            if weighting == "class_weight":
                fit_kw["class_weight"] = class_weight
            else:
                fit_kw["sample_weight"] = sample_weight
            if weighting == "sample_weight_and_val_sample_weight":
                val = (xv, yv, val_sample_weight)
            h = model.fit(x, y, batch_size=BATCH, epochs=2, validation_data=val, shuffle=False,
                          verbose=0, callbacks=[snaps], **fit_kw)
            ev = model.evaluate(xv, yv, sample_weight=val_sample_weight, batch_size=BATCH,
                                verbose=0, return_dict=True)
            ev_unweighted = model.evaluate(xv, yv, batch_size=BATCH, verbose=0, return_dict=True)
            name = f"{weighting}/{variant}"
            cases[name] = {
                "weighting": weighting,
                "compile": {k: v for k, v in mkw.items()},
                "history": history_json(h.history),
                "steps": snaps.snaps,
                "final_weights": weights_json(weight_dict(model)),
                "evaluate_val_with_sample_weight": {k: f32(v) for k, v in ev.items()},
                "evaluate_val_unweighted": {k: f32(v) for k, v in ev_unweighted.items()},
            }
            print(f"  weights/{name}: {cases[name]['history']}")
    # Both at once.
    model = build("C")
    set_weights(model, init_c)
    compile_model(model, O.Adam(learning_rate=0.01), "binary_crossentropy", metrics=["accuracy"])
    try:
        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                  class_weight=class_weight, sample_weight=sample_weight)
        both = {"raised": None}
    except Exception as e:  # noqa: BLE001 - recording what Keras raises
        both = {"raised": type(e).__name__, "message": str(e)}
    # One evaluate of the initial model on the training rows with sample weights.
    model = build("C")
    set_weights(model, init_c)
    compile_model(model, O.Adam(learning_rate=0.01), "binary_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    ev = model.evaluate(x, y, sample_weight=sample_weight, batch_size=BATCH, verbose=0,
                        return_dict=True)
    ev_full = model.evaluate(x, y, sample_weight=sample_weight, batch_size=N_TRAIN, verbose=0,
                             return_dict=True)
    # The per-sample losses of the initial model, for checking the reduction by hand.
    p = np.asarray(model.predict(x, batch_size=N_TRAIN, verbose=0), dtype=np.float32)
    per_sample = keras.losses.binary_crossentropy(y.reshape(-1, 1), p).numpy()
    return {
        "versions": versions(),
        "batch_size": BATCH,
        "model_c": "input 4 -> Dense(4, relu) 'dense' -> Dense(1, sigmoid) 'dense_1'; "
                   "binary_crossentropy; adam(lr=0.01)",
        "data": data_json(*data_c),
        "positives_train": int(y.sum()),
        "sample_weight": f32_tree(sample_weight),
        "val_sample_weight": f32_tree(val_sample_weight),
        "class_weight": {str(k): v for k, v in class_weight.items()},
        "initial_weights": weights_json(init_c),
        "cases": cases,
        "class_weight_and_sample_weight": both,
        "initial_model_evaluate_train_with_sample_weight": {
            "batch_size_8": {k: f32(v) for k, v in ev.items()},
            "batch_size_48": {k: f32(v) for k, v in ev_full.items()},
            "per_sample_loss": f32_tree(per_sample),
            "predictions": f32_tree(p.reshape(-1)),
        },
    }


MAKERS = {
    "optimizers": ("optimizers.json", make_optimizers),
    "schedules": ("schedules.json", make_schedules),
    "callbacks": ("callbacks.json", make_callbacks),
    "weights": ("weights.json", make_weights),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(MAKERS), action="append")
    args = parser.parse_args()
    for name in args.only or list(MAKERS):
        file_name, make = MAKERS[name]
        print(f"{name} ...", flush=True)
        write(file_name, make())
    return 0


if __name__ == "__main__":
    sys.exit(main())
