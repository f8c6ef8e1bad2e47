#!/usr/bin/env python3
"""Checks an ONNX file exported by `mlp export --format onnx` with the real tools.

    onnx_check.py MODEL.onnx INPUTS.f32 EXPECTED.f32 [TOLERANCE]

INPUTS.f32 holds little-endian float32 rows of the model's input, EXPECTED.f32 what mlp's
Network computed for them. The script validates the model with `onnx.checker` (full check,
shape inference included), runs it with onnxruntime, and compares: the largest
|ort - mlp| / max(|mlp|, 1e-3) must not exceed TOLERANCE (default 1e-5). Prints the figure;
exits 1 on a mismatch. Needs `pip install onnx onnxruntime numpy` (CI installs them into a
throwaway virtual environment, see .ci/run).
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> int:
    model_path, x_path, y_path = sys.argv[1:4]
    tolerance = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    sample = [int(d) for d in inp.shape[1:]]
    x = np.fromfile(x_path, dtype="<f4").reshape([-1] + sample)
    want = np.fromfile(y_path, dtype="<f4").reshape(x.shape[0], -1)
    got = session.run(None, {inp.name: x})[0]
    err = np.abs(got - want) / np.maximum(np.abs(want), 1e-3)
    worst = float(err.max())
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}: {x.shape[0]} rows, "
          f"largest difference {worst:.3e}")
    return 0 if worst <= tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
