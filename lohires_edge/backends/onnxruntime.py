"""ONNX Runtime backend: the CPU path that works on any machine, and CUDA where onnxruntime-gpu is installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from lohires_edge.backends.base import Backend, BackendUnavailable
from lohires_edge.contract import read_contract

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def cuda_available() -> bool:
    return CUDA in ort.get_available_providers()


class OnnxRuntimeBackend(Backend):
    def __init__(self, model_path: str | Path, device: str = "cpu", threads: int | None = None) -> None:
        """`device` is "cpu" or "cuda"; `threads` caps intra-op threads (default: ONNX Runtime's choice)."""
        if device == "cuda" and not cuda_available():
            raise BackendUnavailable("ONNX Runtime here has no CUDA execution provider; install onnxruntime-gpu "
                                     "or use the CPU backend")
        self.contract = read_contract(model_path)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Idle intra-op threads sleep instead of spinning: spinning takes the cores from the Python threads
        # beside the model (the node's listener, pipeline and sender); measured here it bought no speed.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = [CUDA, CPU] if device == "cuda" else [CPU]
        self._session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
        self.input_name = self._session.get_inputs()[0].name  # for calibration readers
        self._output = self._session.get_outputs()[0].name
        self.name = f"onnxruntime-{device}"
        self.max_batch = None

    def run(self, batch: np.ndarray) -> np.ndarray:
        (output,) = self._session.run([self._output], {self.input_name: self.to_model_layout(batch)})
        return self.from_model_layout(output)
