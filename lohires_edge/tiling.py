"""Fit an image of any size to a square model grid without changing its pixel size.

A smaller image is padded (by repeating its border: background in MR; a constant would put an edge the
model never saw); a larger one is cut into overlapping grid-sized tiles, and the model outputs are blended
back with a smooth weight that fades towards each tile's border, so no seam shows where tiles meet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal.windows import hann

MIN_OVERLAP_FRACTION = 0.25  # of the grid: enough for the blend weights to hide the seams


@dataclass(frozen=True)
class TileLayout:
    shape: tuple[int, int]  # the image being tiled
    size: int  # the model grid
    offset: tuple[int, int]  # (row, column) of the image inside the padded canvas
    canvas: tuple[int, int]  # the padded image: at least `size` along each axis
    origins: tuple[tuple[int, int], ...]  # top-left corner of each tile in the canvas

    @property
    def count(self) -> int:
        return len(self.origins)


def plan_tiles(shape: tuple[int, int], size: int) -> TileLayout:
    """Centre the image in a canvas of at least `size` per axis and cover the canvas with tiles."""
    canvas = (max(shape[0], size), max(shape[1], size))
    offset = ((canvas[0] - shape[0]) // 2, (canvas[1] - shape[1]) // 2)
    starts = [_starts(length, size) for length in canvas]
    origins = tuple((int(r), int(c)) for r in starts[0] for c in starts[1])
    return TileLayout(shape=tuple(shape), size=size, offset=offset, canvas=canvas, origins=origins)


def cut_tiles(image: np.ndarray, layout: TileLayout) -> np.ndarray:
    """(count, size, size) tiles of `image` (padded to the canvas by repeating its border)."""
    (top, left), (rows, cols) = layout.offset, layout.canvas
    padding = ((top, rows - image.shape[0] - top), (left, cols - image.shape[1] - left))
    padded = np.pad(image, padding, mode="edge")
    size = layout.size
    return np.stack([padded[r:r + size, c:c + size] for r, c in layout.origins])


def blend_tiles(tiles: np.ndarray, layout: TileLayout) -> np.ndarray:
    """The image (layout.shape) from per-tile outputs: weighted mean where tiles overlap, pad cut off."""
    if len(tiles) != layout.count:
        raise ValueError(f"{len(tiles)} tile outputs for a layout of {layout.count} tiles")
    size = layout.size
    if layout.count == 1:
        canvas = np.asarray(tiles[0], dtype=np.float64)
    else:
        weight = _weight(size)
        total = np.zeros(layout.canvas)
        weights = np.zeros(layout.canvas)
        for tile, (r, c) in zip(tiles, layout.origins):
            total[r:r + size, c:c + size] += weight * tile
            weights[r:r + size, c:c + size] += weight
        canvas = total / weights
    (top, left), (rows, cols) = layout.offset, layout.shape
    return canvas[top:top + rows, left:left + cols]


def _starts(length: int, size: int) -> np.ndarray:
    """Evenly spread tile starts along one axis, overlapping by at least MIN_OVERLAP_FRACTION of a tile."""
    if length <= size:
        return np.zeros(1, dtype=int)
    overlap = math.ceil(size * MIN_OVERLAP_FRACTION)
    count = math.ceil((length - overlap) / (size - overlap))
    return np.round(np.linspace(0, length - size, count)).astype(int)


def _weight(size: int) -> np.ndarray:
    # A Hann window without its zero end points: smooth, highest in the middle, positive everywhere, so
    # every canvas pixel has weight even where only one tile covers it.
    ramp = hann(size + 2)[1:-1]
    return np.outer(ramp, ramp)
