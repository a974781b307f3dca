"""Volumes -> training slices: every slice in the model's plane that holds anatomy, through the slice mapping.

The seed trained on the middle slice of each volume only; here every slice whose high-field image has at
least ANATOMY_FRACTION of its pixels above the volume's Otsu threshold is used. Volumes are sliced by
`lohires_edge.slice_geometry.volume_slicing` (the axis in the model's plane, from the affine) and each slice
goes through `lohires_edge.slice_mapping.to_model` with its geometry, exactly as `enhance` and the node map
theirs; a field of view larger than the grid gives several tiles per slice, as it does when served. Input and
target are windowed by both rules a slice is served with (their volume's percentiles, as `enhance` maps, and
each slice's own, as the node maps), so the model learns the mappings it is served with.
"""

from __future__ import annotations

import numpy as np
from skimage.filters import threshold_otsu

from lohires_edge.slice_geometry import SliceGeometry, plane_geometry, volume_slicing
from lohires_edge.slice_mapping import MappingParams, intensity_window, to_model_batch, volume_slices
from trainer.pairs import Pair, load_pair, load_volume

ANATOMY_FRACTION = 0.05
TRAINING_PLANE = "axial"  # the plane models are trained (and served) in


def training_geometry(pairs: list[Pair]) -> SliceGeometry:
    """The model's geometry: pixel spacing and orientation of the first pair's TRAINING_PLANE slices, read
    from its affine by the slicing rule the edge uses. Other subjects' slices are mapped onto it."""
    return plane_geometry(load_volume(pairs[0].high).affine, TRAINING_PLANE)


def anatomy_slices(volume: np.ndarray, axis: int, fraction: float = ANATOMY_FRACTION) -> np.ndarray:
    """Indices along `axis` of the slices that hold anatomy (foreground by Otsu's threshold)."""
    finite = np.nan_to_num(volume)
    if finite.max() == finite.min():
        return np.zeros(0, dtype=int)
    foreground = finite > threshold_otsu(finite)
    share = foreground.mean(axis=tuple(a for a in range(3) if a != axis))
    return np.flatnonzero(share >= fraction)


def training_slices(pairs: list[Pair], params: MappingParams,
                    windows: tuple[str, ...] = ("volume", "slice")) -> tuple[np.ndarray, np.ndarray]:
    """Mapped (inputs, targets), float32 (N, size, size) in [-1, 1], from every anatomy slice of the pairs,
    once per window rule in `windows`: "volume" (the volume's percentile window, as `enhance` maps) and
    "slice" (each slice's own, as the node, which receives one slice at a time, maps), so the model holds
    up under either."""
    inputs, targets = [], []
    for pair in pairs:
        low, high, image = load_pair(pair)
        slicing = volume_slicing(image.affine, params.geometry)
        keep = anatomy_slices(high, slicing.axis)
        for rule in windows:
            for volume, mapped in ((low, inputs), (high, targets)):
                window = intensity_window(volume, params) if rule == "volume" else None
                mapped.append(to_model_batch(volume_slices(volume, slicing, keep), params, window)[0])
    empty = np.zeros((0, params.size, params.size), np.float32)
    return (np.concatenate(inputs) if inputs else empty), (np.concatenate(targets) if targets else empty)
