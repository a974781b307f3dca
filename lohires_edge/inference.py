"""Slices in, enhanced slices out: the slice mapping around a backend, in batches.

`enhance`, the DICOM node and the trainer's ONNX evaluation all call `enhance_slices`, so what they
measure and what they serve is the same computation.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from lohires_edge.backends.base import Backend
from lohires_edge.slice_mapping import from_model_batch, to_model_batch


def enhance_slices(backend: Backend, slices: Sequence[np.ndarray], batch_size: int = 8,
                   on_batch: Callable[[int], None] | None = None, grid: str = "source") -> list[np.ndarray]:
    """Enhance 2D slices of any shape and dtype; each result has its slice's dtype and, with
    grid="source", its shape (grid="model": the slice's field of view at the model's pixel size).

    `batch_size` is capped by the backend's `max_batch`; `on_batch(n)` is called after every batch
    of n slices (for progress bars).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if backend.max_batch:
        batch_size = min(batch_size, backend.max_batch)
    enhanced: list[np.ndarray] = []
    for start in range(0, len(slices), batch_size):
        chunk = slices[start:start + batch_size]
        batch, states = to_model_batch(chunk, backend.contract.mapping)
        enhanced.extend(from_model_batch(backend.run(batch), states, grid))
        if on_batch:
            on_batch(len(chunk))
    return enhanced
