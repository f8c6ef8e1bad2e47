#!/usr/bin/env python3
"""Small hand-built ONNX graphs as seeds for the `onnx` fuzz target (`fuzz/corpus/onnx/`),
written with `onnx.helper` (an encoder independent of mlp's): each exercises one path of
`mlp_onnx::import` (Gemm with alpha/beta, MatMul + Add, Flatten, Reshape, Constant and
Identity constants, Dropout with a ratio input, scalar Mul/Add/Sub, BatchNormalization,
silu, a per-feature scale and shift folded into a Dense) or one refusal (a cycle, Conv).

    /tmp/venv-torch/bin/python scripts/onnx_fuzz_seeds.py
"""

import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = pathlib.Path(__file__).resolve().parent.parent / "fuzz/corpus/onnx"
rng = np.random.RandomState(0)


def w(name, *shape):
    return numpy_helper.from_array(rng.randn(*shape).astype(np.float32), name)


def save(name, nodes, inits, x_shape, y_units, check=True):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *x_shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", y_units])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if check:
        onnx.checker.check_model(model)
    (OUT / f"{name}.onnx-seed").write_bytes(model.SerializeToString())


OUT.mkdir(parents=True, exist_ok=True)
N = helper.make_node
save(
    "gemm_alpha_beta",
    [N("Gemm", ["x", "w", "b"], ["h"], transB=1, alpha=0.5, beta=2.0), N("Relu", ["h"], ["y"])],
    [w("w", 2, 3), w("b", 2)],
    [3],
    2,
)
save(
    "flatten_matmul_add_softmax",
    [
        N("Flatten", ["x"], ["f"], axis=1),
        N("MatMul", ["f", "w"], ["m"]),
        N("Add", ["m", "b"], ["a"]),
        N("Softmax", ["a"], ["y"], axis=-1),
    ],
    [w("w", 6, 3), w("b", 3)],
    [2, 3],
    3,
)
save(
    "reshape_constants_dropout",
    [
        N("Constant", [], ["shape"], value=numpy_helper.from_array(np.array([-1, 6], np.int64))),
        N("Reshape", ["x", "shape"], ["r"]),
        N("Identity", ["w0"], ["w"]),
        N("Gemm", ["r", "w", "b"], ["h"]),
        N("Constant", [], ["ratio"], value_float=0.25),
        N("Dropout", ["h", "ratio"], ["d"]),
        N("Tanh", ["d"], ["y"]),
    ],
    [w("w0", 6, 4), w("b", 4)],
    [3, 2],
    4,
)
save(
    "rescale_batchnorm_silu",
    [
        N("Mul", ["x", "s"], ["xs"]),
        N("Sub", ["xs", "o"], ["xo"]),
        N("BatchNormalization", ["xo", "g", "be", "mu", "var"], ["bn"], epsilon=1e-5, momentum=0.9),
        N("Gemm", ["bn", "w", "b"], ["h"], transB=1),
        N("Sigmoid", ["h"], ["s2"]),
        N("Mul", ["h", "s2"], ["y"]),
    ],
    [
        numpy_helper.from_array(np.array(0.5, np.float32), "s"),
        numpy_helper.from_array(np.array([0.25], np.float32), "o"),
        w("g", 3),
        w("be", 3),
        w("mu", 3),
        numpy_helper.from_array(np.abs(rng.randn(3)).astype(np.float32) + 0.1, "var"),
        w("w", 2, 3),
        w("b", 2),
    ],
    [3],
    2,
)
save(
    "affine_folded",
    [
        N("MatMul", ["x", "w"], ["m"]),
        N("Add", ["m", "b"], ["a"]),
        N("Relu", ["a"], ["r"]),
        N("Mul", ["r", "inv"], ["s"]),
        N("Add", ["s", "shift"], ["t"]),
        N("MatMul", ["t", "w2"], ["y"]),
    ],
    [w("w", 3, 4), w("b", 4), w("inv", 4), w("shift", 4), w("w2", 4, 2)],
    [3],
    2,
)
save(
    "cycle",
    [N("Relu", ["x", "z"], ["h"]), N("Relu", ["h"], ["z"]), N("Identity", ["h"], ["y"])],
    [],
    [3],
    3,
    check=False,
)
save(
    "conv",
    [N("Conv", ["x", "w"], ["y"])],
    [w("w", 2, 3, 1)],
    [3],
    2,
    check=False,
)
