"""Compare an enhanced DICOM slice with the 3 T truth: sample the 3 T volume where the slice's pixels are.

The derived series may sit on a different matrix from both the 64 mT acquisition and the 3 T grid, so the
reference is resampled at each derived pixel's patient position (DICOM LPS -> NIfTI RAS -> voxel) rather
than matched by slice index. Images are compared on a common intensity scale: each one's percentile
window (the slice mapping's) mapped to [0, 1].
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from scipy.ndimage import map_coordinates
from skimage.transform import resize

from lohires_edge.fidelity import DEPARTURE, Departure
from lohires_edge.image_quality import image_metrics
from lohires_edge.slice_mapping import MappingParams, intensity_window

_LPS_TO_RAS = np.array([-1.0, -1.0, 1.0])
DEPARTURE_WHITE = 3 * DEPARTURE  # a departure map is white where the output departs this much or more


def sample_at_plane(volume: np.ndarray, affine: np.ndarray, plane: Dataset) -> np.ndarray:
    """`volume` (with its NIfTI `affine`) sampled bilinearly at the pixel centres of the DICOM `plane`."""
    rows, cols = int(plane.Rows), int(plane.Columns)
    origin = np.array([float(v) for v in plane.ImagePositionPatient])
    orientation = np.array([float(v) for v in plane.ImageOrientationPatient])
    row_spacing, col_spacing = (float(v) for v in plane.PixelSpacing)
    r, c = np.mgrid[0:rows, 0:cols]
    lps = (origin + c[..., None] * col_spacing * orientation[:3] + r[..., None] * row_spacing * orientation[3:])
    ras = lps * _LPS_TO_RAS
    voxels = (np.linalg.inv(affine) @ np.concatenate([ras, np.ones((rows, cols, 1))], axis=-1)[..., None])[..., :3, 0]
    return map_coordinates(np.asarray(volume, dtype=np.float64), np.moveaxis(voxels, -1, 0), order=1, mode="nearest")


def unit_scale(image: np.ndarray, params: MappingParams = MappingParams()) -> np.ndarray:
    """`image` with its percentile window mapped to [0, 1] (clipped), for scale-free comparisons."""
    low, high = intensity_window(image, params)
    return np.clip((np.asarray(image, dtype=np.float64) - low) / (high - low), 0.0, 1.0)


def departure_image(departure: Departure | None, shape: tuple[int, ...]) -> np.ndarray:
    """A fidelity departure map for display on a `shape` grid: |residual| in [0, 1], white at DEPARTURE_WHITE
    (black where there was no anatomy to judge)."""
    if departure is None:
        return np.zeros(shape)
    magnitude = resize(np.abs(departure.residual), shape, order=0)
    return np.clip(magnitude / DEPARTURE_WHITE, 0.0, 1.0)


def compare(reference: np.ndarray, candidates: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """image_metrics of each candidate against `reference`, all on the unit scale (data range 1)."""
    truth = unit_scale(reference)
    return {name: image_metrics(truth, unit_scale(image), data_range=1.0) for name, image in candidates.items()}
