"""Slices in, enhanced slices out: the slice mapping around a backend, in batches.

`enhance`, the DICOM node and the trainer's ONNX evaluation all call `enhance_slices` (or `enhance_volume`,
which slices a volume by its affine and calls it), so what they measure and what they serve is the same
computation.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np

from lohires_edge.backends.base import Backend
from lohires_edge.slice_geometry import volume_slicing
from lohires_edge.slice_mapping import (AnySlice, from_model_batch, intensity_window, to_model_batch,
                                        volume_slices)

log = logging.getLogger(__name__)
_warned_without_geometry: set[str] = set()


def enhance_slices(backend: Backend, slices: Sequence[AnySlice], batch_size: int = 8,
                   on_batch: Callable[[int], None] | None = None, grid: str = "source",
                   window: tuple[float, float] | None = None) -> list[np.ndarray]:
    """Enhance 2D slices (arrays, or SliceImages that carry their geometry) of any shape and dtype.

    Each result has its slice's dtype and, with grid="source", its shape (grid="model": the slice's field
    of view at the model's pixel size, `slice_mapping.model_grid`). `window` is one intensity window for
    all slices (a volume's); by default each slice is windowed on its own. `batch_size` slices are mapped
    at a time and their tiles run in batches capped by the backend's `max_batch`; `on_batch(n)` is called
    after every n slices (for progress bars). Raises PlaneMismatch for a slice outside the model's plane.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    _say_once_if_without_geometry(backend)
    enhanced: list[np.ndarray] = []
    for start in range(0, len(slices), batch_size):
        chunk = slices[start:start + batch_size]
        tiles, states = to_model_batch(chunk, backend.contract.mapping, window)
        enhanced.extend(from_model_batch(run_tiles(backend, tiles, batch_size), states, grid))
        if on_batch:
            on_batch(len(chunk))
    return enhanced


def run_tiles(backend: Backend, tiles: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """The backend's outputs for mapped `tiles`, run in batches of `batch_size` capped by its `max_batch`.

    The step between `to_model_batch` and `from_model_batch`: the node's worker runs it on its own thread,
    so the model works while the slices before and after it are mapped and derived."""
    run_size = min(batch_size, backend.max_batch) if backend.max_batch else batch_size
    outputs = [backend.run(tiles[i:i + run_size]) for i in range(0, len(tiles), run_size)]
    return np.concatenate(outputs) if outputs else tiles


def enhance_volume(backend: Backend, volume: np.ndarray, affine: np.ndarray, batch_size: int = 8,
                   on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """Enhance a 3D volume on its own voxel grid: sliced along the axis in the model's plane (chosen from
    the affine; PlaneMismatch if none is), one intensity window for the whole volume."""
    slicing = volume_slicing(affine, backend.contract.mapping.geometry)
    window = intensity_window(volume, backend.contract.mapping)
    enhanced = enhance_slices(backend, volume_slices(volume, slicing), batch_size, on_batch, grid="source",
                              window=window)
    return np.stack(enhanced, axis=slicing.axis)


def _say_once_if_without_geometry(backend: Backend) -> None:
    contract = backend.contract
    if contract.mapping.geometry is None and contract.model_id not in _warned_without_geometry:
        _warned_without_geometry.add(contract.model_id)
        log.warning("model %s records no training geometry (contract version 1): slices are not oriented "
                    "or resampled to a pixel size, their field of view is stretched onto the %dx%d grid as "
                    "before; re-export the model for geometry-aware mapping", contract.model_id,
                    contract.input_size, contract.input_size)
