#!/usr/bin/env python3
"""ONNX files written by PyTorch (and by Keras) for `mlp import`'s tests, with the source
framework's outputs on fixed inputs.

Writes into `mlp-onnx/tests/fixtures/import/`:

- `torch_batchnorm.onnx`: `nn.Sequential(Linear, BatchNorm1d(eps=2e-4, momentum=0.3),
  ReLU, Linear, BatchNorm1d(eps=5e-5, momentum=0.05), Tanh, Linear, Softmax)`, its running
  statistics moved away from 0 and 1 by training steps on shifted, scaled data, exported
  in eval mode by the TorchScript exporter (`dynamo=False`), which keeps
  `BatchNormalization` nodes (the default exporter folds them into the `Gemm`).
- `torch_dropout.onnx`: `nn.Sequential(Flatten, Linear, ReLU, Dropout(0.25), Linear,
  Sigmoid)` on `[3, 4]` samples, by the default (dynamo) exporter.
- `torch_mix.onnx`: Linear layers with LeakyReLU(0.05), Tanh, Sigmoid, ELU(0.7), GELU,
  SiLU and a final Softmax, by the default exporter (a `Gelu` node, opset 20), and
  `torch_mix_legacy.onnx`, the same by the TorchScript exporter at opset 17 (GELU as `Div`,
  `Erf`, `Add`, `Mul`, `Mul`).
- `torch_dynamo_batchnorm.onnx`: the batch-norm model again, by the default exporter.
- `keras_mlp.onnx` (when run with `--keras`, in an environment with TensorFlow, Keras 3
  and tf2onnx): a Keras `Sequential` (Flatten, Dense relu, BatchNormalization(momentum
  0.8, epsilon 1e-4), Dropout, Dense, LeakyReLU(0.1), Dense tanh, Dense softmax) fitted
  for two epochs, written by `model.export(format="onnx")`.

and for each `NAME.onnx` a `NAME.json`: `input_shape` (one sample), `inputs` (8 fixed
samples, flattened), `outputs` (what the source framework computed: PyTorch's module in
eval mode, Keras's `model.predict`) and `onnxruntime` (what onnxruntime computed from the
file), and for the PyTorch models `modules`: each Linear's `weight` (`[out, in]`) and
`bias`, each BatchNorm1d's `eps`, `momentum`, `weight`, `bias`, `running_mean` and
`running_var`, as PyTorch holds them. Numbers are written with 9 significant digits, which round-trip float32.

Run it outside the repository, in throwaway environments:

    python3 -m venv /tmp/venv-torch && /tmp/venv-torch/bin/pip install torch onnx onnxscript onnxruntime
    /tmp/venv-torch/bin/python scripts/torch_onnx_fixtures.py
    python3 -m venv /tmp/venv-keras && /tmp/venv-keras/bin/pip install tensorflow-cpu keras tf2onnx onnxruntime
    /tmp/venv-keras/bin/python scripts/torch_onnx_fixtures.py --keras
"""

import json
import os
import pathlib
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "mlp-onnx/tests/fixtures/import"


def inputs(shape, seed):
    """8 fixed samples of `shape`, of both signs and several magnitudes."""
    rng = np.random.RandomState(seed)
    x = rng.randn(8, *shape).astype(np.float32) * 1.5
    x[0] = 0.0
    return x


def rows(a):
    return [[float(f"{v:.9g}") for v in r.reshape(-1)] for r in a]


def record(name, x, outputs, modules=None):
    path = OUT / f"{name}.onnx"
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    ort = session.run(None, feed)[0]
    err = np.max(np.abs(ort - outputs) / np.maximum(np.abs(outputs), 1e-3))
    assert err < 1e-5, (name, err)
    data = {
        "input_shape": list(x.shape[1:]),
        "inputs": rows(x),
        "outputs": rows(outputs),
        "onnxruntime": rows(ort),
    }
    if modules is not None:
        data["modules"] = modules
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    print(f"{name}: {len(model.graph.node)} nodes, onnxruntime vs source {err:.2e}")


def torch_fixtures():
    import torch
    from torch import nn

    torch.manual_seed(14)

    def export(model, name, shape, dynamo):
        model.eval()
        x = inputs(shape, seed=len(name))
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        example = (torch.from_numpy(x),)
        path = str(OUT / f"{name}.onnx")
        if dynamo:
            torch.onnx.export(
                model,
                example,
                path,
                dynamo=True,
                external_data=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
            )
        else:
            torch.onnx.export(
                model,
                example,
                path,
                dynamo=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                opset_version=17,
            )
        record(name, x, want, describe(model))

    def describe(model):
        """The weights of the Linear and BatchNorm1d modules, as PyTorch holds them."""
        out = []
        for m in model:
            if isinstance(m, nn.Linear):
                out.append(
                    {
                        "type": "Linear",
                        "weight": rows(m.weight.detach().numpy()),
                        "bias": rows(m.bias.detach().numpy()[None])[0],
                    }
                )
            elif isinstance(m, nn.BatchNorm1d):
                out.append(
                    {
                        "type": "BatchNorm1d",
                        "eps": m.eps,
                        "momentum": m.momentum,
                        "weight": rows(m.weight.detach().numpy()[None])[0],
                        "bias": rows(m.bias.detach().numpy()[None])[0],
                        "running_mean": rows(m.running_mean.numpy()[None])[0],
                        "running_var": rows(m.running_var.numpy()[None])[0],
                    }
                )
        return out

    def batchnorm_model():
        m = nn.Sequential(
            nn.Linear(4, 16),
            nn.BatchNorm1d(16, eps=2e-4, momentum=0.3),
            nn.ReLU(),
            nn.Linear(16, 8),
            nn.BatchNorm1d(8, eps=5e-5, momentum=0.05),
            nn.Tanh(),
            nn.Linear(8, 3),
            nn.Softmax(dim=1),
        )
        # Training steps on shifted, scaled data move the running statistics (and the
        # weights) away from their initial 0 and 1.
        opt = torch.optim.SGD(m.parameters(), lr=0.05)
        gen = torch.Generator().manual_seed(3)
        m.train()
        for _ in range(40):
            x = torch.randn(32, 4, generator=gen) * 3.0 + 1.5
            y = torch.randint(0, 3, (32,), generator=gen)
            loss = nn.functional.nll_loss(torch.log(m(x) + 1e-7), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return m

    bn = batchnorm_model()
    export(bn, "torch_batchnorm", [4], dynamo=False)
    export(bn, "torch_dynamo_batchnorm", [4], dynamo=True)
    export(
        nn.Sequential(
            nn.Flatten(),
            nn.Linear(12, 16),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(16, 1),
            nn.Sigmoid(),
        ),
        "torch_dropout",
        [3, 4],
        dynamo=True,
    )
    mix = nn.Sequential(
        nn.Linear(5, 10),
        nn.LeakyReLU(0.05),
        nn.Linear(10, 8),
        nn.Tanh(),
        nn.Linear(8, 8),
        nn.Sigmoid(),
        nn.Linear(8, 7),
        nn.ELU(alpha=0.7),
        nn.Linear(7, 6),
        nn.GELU(),
        nn.Linear(6, 6),
        nn.SiLU(),
        nn.Linear(6, 4),
        nn.Softmax(dim=1),
    )
    export(mix, "torch_mix", [5], dynamo=True)
    export(mix, "torch_mix_legacy", [5], dynamo=False)


def keras_fixture():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    keras.utils.set_random_seed(14)
    model = keras.Sequential(
        [
            keras.Input((2, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(momentum=0.8, epsilon=1e-4),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(5),
            keras.layers.LeakyReLU(0.1),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    rng = np.random.RandomState(5)
    x = (rng.randn(256, 2, 3) * 2.0 + 1.0).astype(np.float32)
    y = rng.randint(0, 3, 256)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    name = "keras_mlp"
    model.export(str(OUT / f"{name}.onnx"), format="onnx", verbose=False)
    test = inputs((2, 3), seed=len(name))
    record(name, test, model.predict(test, verbose=0))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    if "--keras" in sys.argv[1:]:
        keras_fixture()
    else:
        torch_fixtures()
