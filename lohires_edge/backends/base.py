"""The interface every inference backend implements.

A backend takes a batch of mapped slices, float32 (N, size, size) in the model range, and returns the
model's output in the same shape. Layout (NHWC or NCHW) and channel axes are the backend's business,
read from the model contract, so callers never see them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np

from lohires_edge.contract import ModelContract
from lohires_edge.errors import LohiresError


class BackendUnavailable(LohiresError):
    """The runtime a backend needs is missing here (say what and how to get it)."""


class Backend(ABC):
    name: str  # for logs and benchmark tables, e.g. "onnxruntime-cpu"
    contract: ModelContract
    max_batch: int | None  # None: any batch size

    @abstractmethod
    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on float32 (N, size, size); N must not exceed `max_batch`."""

    def close(self) -> None:
        """Release runtime resources; the backend is unusable afterwards."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def to_model_layout(self, batch: np.ndarray) -> np.ndarray:
        """(N, size, size) -> the 4D layout of the model's input."""
        axis = 3 if self.contract.layout == "NHWC" else 1
        return np.ascontiguousarray(np.expand_dims(batch.astype(np.float32, copy=False), axis))

    def from_model_layout(self, output: np.ndarray) -> np.ndarray:
        """The model's 4D output -> (N, size, size)."""
        axis = 3 if self.contract.layout == "NHWC" else 1
        return np.squeeze(output, axis=axis)
