"""Volumes -> training slices: every axial slice that holds anatomy, through the one slice mapping.

The seed trained on the middle slice of each volume only; here every slice whose high-field image has at
least ANATOMY_FRACTION of its pixels above the volume's Otsu threshold is used. Input and target each go
through `lohires_edge.slice_mapping.to_model` (their own percentile window, as the node windows each slice),
so the model learns exactly the mapping it is served with.
"""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from lohires_edge.slice_mapping import MappingParams, to_model_batch
from trainer.pairs import Pair, load_pair

ANATOMY_FRACTION = 0.05
SLICE_AXIS = 2  # axial slices of a RAS-ish NIfTI volume


def anatomy_slices(volume: np.ndarray, fraction: float = ANATOMY_FRACTION) -> np.ndarray:
    """Indices along SLICE_AXIS of the slices that hold anatomy (foreground by Otsu's threshold)."""
    finite = np.nan_to_num(volume)
    if finite.max() == finite.min():
        return np.zeros(0, dtype=int)
    foreground = finite > threshold_otsu(finite)
    share = foreground.mean(axis=tuple(a for a in range(3) if a != SLICE_AXIS))
    return np.flatnonzero(share >= fraction)


def volume_slices(volume: np.ndarray, indices: np.ndarray | None = None) -> list[np.ndarray]:
    """The 2D slices of a volume along SLICE_AXIS (all, or those at `indices`)."""
    indices = range(volume.shape[SLICE_AXIS]) if indices is None else indices
    return [np.take(volume, int(i), axis=SLICE_AXIS) for i in indices]


def training_slices(pairs: list[Pair], params: MappingParams) -> tuple[np.ndarray, np.ndarray]:
    """Mapped (inputs, targets), float32 (N, size, size) in [-1, 1], from every anatomy slice of the pairs."""
    inputs, targets = [], []
    for pair in pairs:
        low, high, _ = load_pair(pair)
        keep = anatomy_slices(high)
        inputs.append(to_model_batch(volume_slices(low, keep), params)[0])
        targets.append(to_model_batch(volume_slices(high, keep), params)[0])
    empty = np.zeros((0, params.size, params.size), np.float32)
    return (np.concatenate(inputs) if inputs else empty), (np.concatenate(targets) if targets else empty)
