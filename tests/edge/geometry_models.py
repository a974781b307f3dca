"""Small real ONNX models (one 3x3 convolution) whose contract records a training geometry.

The kernel is lopsided on purpose: the output of a turned or flipped input is not the turned or flipped
output, so a test sees whether the model was given the slice in its own orientation. A centred delta
kernel gives the identity model, for tests that follow where pixels go.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lohires_edge.contract import ModelContract, write_contract
from lohires_edge.slice_geometry import SliceGeometry
from lohires_edge.slice_mapping import MappingParams

# The simulator's geometry: 1 mm, rows anterior -> posterior, columns right -> left.
AXIAL_1MM = SliceGeometry((1.0, 1.0), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))
LOPSIDED = np.array([[0.0, 0.1, 0.0], [0.0, 0.5, 0.3], [0.0, 0.0, 0.1]], np.float32)
IDENTITY = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], np.float32)


def conv_model(path: Path, size: int, geometry: SliceGeometry | None = AXIAL_1MM,
               kernel: np.ndarray = LOPSIDED, name: str = "conv") -> Path:
    """An NCHW (N, 1, size, size) -> same ONNX model computing one convolution, with its contract."""
    weight = numpy_helper.from_array(kernel.reshape(1, 1, 3, 3).astype(np.float32), "weight")
    node = helper.make_node("Conv", ["lowfield", "weight"], ["enhanced"], pads=[1, 1, 1, 1])
    graph = helper.make_graph(
        [node], name, [helper.make_tensor_value_info("lowfield", TensorProto.FLOAT, ["N", 1, size, size])],
        [helper.make_tensor_value_info("enhanced", TensorProto.FLOAT, ["N", 1, size, size])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    write_contract(model, ModelContract(sequence="T1", mapping=MappingParams(size=size, geometry=geometry),
                                        model_name=name, model_version="1", layout="NCHW",
                                        training_data="a fixed convolution for tests"))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
