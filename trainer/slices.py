"""Volumes -> training slices: every axial slice that holds anatomy, through the one slice mapping.

The seed trained on the middle slice of each volume only; here every slice whose high-field image has at
least ANATOMY_FRACTION of its pixels above the volume's Otsu threshold is used. Input and target each go
through `lohires_edge.slice_mapping.to_model`, so the model learns exactly the mapping it is served with,
twice: windowed on their volume's percentiles (as `enhance` windows a volume) and on the slice's own (as the
node, which receives one slice at a time, windows it), so the model holds up under either.

Slices are already at the model's pixel size (the simulator's 1 mm grid), so they are padded to the grid,
never resized.
"""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from lohires_edge.slice_mapping import MappingParams, intensity_window, to_model
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


def training_slices(pairs: list[Pair], params: MappingParams,
                    windows: tuple[str, ...] = ("volume", "slice")) -> tuple[np.ndarray, np.ndarray]:
    """Mapped (inputs, targets), float32 (N, size, size) in [-1, 1], from every anatomy slice of the pairs,
    once per window rule in `windows` ("volume": the volume's percentile window, "slice": the slice's)."""
    inputs, targets = [], []
    for pair in pairs:
        low, high, _ = load_pair(pair)
        keep = anatomy_slices(high)
        for rule in windows:
            for volume, mapped in ((low, inputs), (high, targets)):
                window = intensity_window(volume, params) if rule == "volume" else None
                mapped.extend(to_model(_fit_to_grid(s, params.size), params, window)[0]
                              for s in volume_slices(volume, keep))
    empty = np.zeros((0, params.size, params.size), np.float32)
    return (np.stack(inputs) if inputs else empty), (np.stack(targets) if targets else empty)


def _fit_to_grid(slice_: np.ndarray, size: int) -> np.ndarray:
    """Centre-pad (repeating the border, as the slice mapping pads) or centre-crop a slice to size x size."""
    out = slice_
    for axis in (0, 1):
        extra = size - out.shape[axis]
        if extra > 0:
            pad = [(0, 0), (0, 0)]
            pad[axis] = (extra // 2, extra - extra // 2)
            out = np.pad(out, pad, mode="edge")
        elif extra < 0:
            start = -extra // 2
            out = np.take(out, range(start, start + size), axis=axis)
    return out
