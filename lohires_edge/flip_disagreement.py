"""Flip disagreement: how differently the model enhances a slice and its left-right mirror image.

The models were trained on subjects drawn mirrored as often as not, so a model that only denoises and
changes contrast gives the mirror image of its output for a mirrored input. Texture it invents from the
noise (the mottled white matter of a T1 model that was not shipped) is not mirror-symmetric in that way,
and neither is structure it draws from where it thinks it is. The fidelity score (`lohires_edge.fidelity`)
cannot see such texture, because it compares outputs at the source's coarse resolution; this score looks
at full resolution and needs no reference.

What it is for, measured (`benchmarks.flip_disagreement`, docs/benchmarks.md): comparing models. It rises
with the white-matter texture the tissue labels show, and with input of the wrong contrast. It is not part
of the node's guard: a threshold that no held-out slice of the shipped models exceeds flags only 2 % of the
mottling model's slices, since one slice's texture moves it less than the slice's anatomy does.

Score: the mean absolute difference between the output and the un-mirrored output of the mirrored input,
over the head's interior (the fidelity head mask of the output, eroded by INTERIOR_MM so that scalp and
skull edges, whose sub-pixel placement moves under any resampling, do not count), as a share of the
output's robust range over the head. 0 = mirror-consistent. Slices whose interior is smaller than
MIN_INTERIOR_MM2 are not judged. It costs a second model run per slice.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import binary_erosion

from lohires_edge.backends.base import Backend
from lohires_edge.fidelity import PixelSize, degrade, head_mask, pixel_pair, robust_range
from lohires_edge.slice_geometry import SliceGeometry

INTERIOR_MM = 15.0  # erosion of the head mask: the scalp and skull lie within it
# A slice is judged only where its head interior is this large: the slices through the bulk of the brain.
# Near the vertex and the skull base the interior is a thin rim of sulci, bone and sinuses, where even the
# shipped models disagree with themselves several times more (benchmarks.flip_disagreement).
MIN_INTERIOR_MM2 = 10000.0


def left_right_axis(geometry: SliceGeometry | None) -> int | None:
    """The axis of a (N, rows, columns) model batch that runs along the patient's left-right direction,
    or None when neither in-plane axis does (a sagittal model) or the model records no geometry."""
    if geometry is None:
        return None
    along_columns, along_rows = abs(geometry.column_direction[0]), abs(geometry.row_direction[0])
    if max(along_columns, along_rows) < math.cos(math.radians(45.0)):
        return None
    return 2 if along_columns >= along_rows else 1


class Mirrored(Backend):
    """`backend` run on the left-right mirror of each mapped slice, its output mirrored back: run through the
    same slice mapping as `backend`, it gives the output a flip disagreement compares with."""

    def __init__(self, backend: Backend) -> None:
        axis = left_right_axis(backend.contract.mapping.geometry)
        if axis is None:
            raise ValueError(f"model {backend.contract.model_id} has no left-right axis in its plane")
        self.backend, self.axis = backend, axis
        self.name, self.contract, self.max_batch = f"{backend.name} mirrored", backend.contract, backend.max_batch

    def run(self, batch: np.ndarray) -> np.ndarray:
        mirrored = np.ascontiguousarray(np.flip(batch, self.axis))
        return np.flip(self.backend.run(mirrored), self.axis)


def flip_disagreement(output: np.ndarray, mirrored: np.ndarray, pixel_mm: PixelSize) -> float | None:
    """The flip disagreement of one output slice and its mirrored counterpart, both on the same grid of
    `pixel_mm` pixels; None when the slice has no head interior to judge."""
    out = np.nan_to_num(np.asarray(output, dtype=np.float64))
    other = np.nan_to_num(np.asarray(mirrored, dtype=np.float64))
    if out.ndim != 2 or out.shape != other.shape:
        raise ValueError(f"output {out.shape} and mirrored output {other.shape} must be 2D slices of one shape")
    rows_mm, cols_mm = pixel_pair(pixel_mm)
    head = head_mask(degrade(out, (rows_mm, cols_mm)))
    if head is None:
        return None
    iterations = max(1, round(INTERIOR_MM / min(rows_mm, cols_mm)))
    interior = binary_erosion(head, iterations=iterations)
    if interior.sum() * rows_mm * cols_mm < MIN_INTERIOR_MM2:
        return None
    return float(np.mean(np.abs(out - other)[interior]) / robust_range(out[head]))
