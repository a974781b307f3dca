"""A trained Keras generator behind lohires_edge's Backend interface.

Evaluating a run directory goes through `lohires_edge.inference.enhance_slices` exactly as an exported
ONNX model does; only the engine under the slice mapping differs.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from lohires_edge.backends.base import Backend
from lohires_edge.contract import ModelContract


class KerasBackend(Backend):
    def __init__(self, generator: tf.keras.Model, contract: ModelContract) -> None:
        self.generator = generator
        self.contract = contract
        self.name = "tensorflow"
        self.max_batch = None

    def run(self, batch: np.ndarray) -> np.ndarray:
        output = self.generator(self.to_model_layout(batch), training=False)
        return self.from_model_layout(np.asarray(output, dtype=np.float32))
