"""A two-layer convolutional model with fixed weights, built with onnx.helper: no TensorFlow, no training.

Tests of quantization need a model whose outputs are the same on every run, so that what they assert
(the Q/DQ model agrees with FP32) is a property of the code, not of a lucky initialization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lohires_edge.contract import write_contract
from tests.conftest import TINY_SIZE, tiny_contract

HIDDEN_CHANNELS = 4


def write_fixed_model(path: Path, sequence: str = "T1") -> Path:
    """NHWC (N, 32, 32, 1) -> conv 3x3 -> ReLU -> conv 3x3 -> tanh, fixed weights, with a contract."""
    rng = np.random.default_rng(1234)
    first = rng.normal(0.0, 0.3, (HIDDEN_CHANNELS, 1, 3, 3)).astype(np.float32)
    second = rng.normal(0.0, 0.3, (1, HIDDEN_CHANNELS, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w1", "b1"], ["conv1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"]),
        helper.make_node("Conv", ["relu1", "w2", "b2"], ["conv2"], pads=[1, 1, 1, 1]),
        helper.make_node("Tanh", ["conv2"], ["tanh"]),
        helper.make_node("Transpose", ["tanh"], ["output"], perm=[0, 2, 3, 1]),
    ]
    values = {"w1": first, "b1": np.zeros(HIDDEN_CHANNELS, np.float32),
              "w2": second, "b2": np.full(1, 0.1, np.float32)}
    weights = [numpy_helper.from_array(array, name) for name, array in values.items()]
    shape = ["N", TINY_SIZE, TINY_SIZE, 1]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)]
    graph = helper.make_graph(nodes, "fixed", inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # readable by every ONNX Runtime the project supports
    onnx.checker.check_model(model)
    write_contract(model, tiny_contract(sequence))
    onnx.save(model, str(path))
    return path
