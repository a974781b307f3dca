"""The grids of a simulated subject and their affines (NIfTI RAS+ world, millimetres).

The 3 T grid (`Geometry`) is isotropic and fixed per dataset size. Each 64 mT acquisition draws its own
in-plane resolution and slice thickness (`randomization.py`), which gives its `LowFieldGrid`: the same
square field of view in-plane and slices centred in the same superior-inferior extent, so a native 64 mT
slice and a 3 T slice describe the same anatomy.

Voxel axes are chosen so that a NIfTI slice `data[:, :, k]` is exactly a DICOM axial image as a scanner
sends it (ImageOrientationPatient 1\\0\\0\\0\\1\\0): the first array axis (rows) runs anterior -> posterior,
the second (columns) right -> left, the third inferior -> superior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _affine(fov_mm: float, pixel_mm: float, slice_mm: float, extent_mm: float, slices: int) -> np.ndarray:
    """Voxel (0, 0, 0) sits half a pixel inside the right-anterior corner; slices centred in the extent."""
    half = fov_mm / 2
    return np.array([
        [0.0, -pixel_mm, 0.0, half - pixel_mm / 2],  # columns run right -> left (RAS x decreases)
        [-pixel_mm, 0.0, 0.0, half - pixel_mm / 2],  # rows run anterior -> posterior (RAS y decreases)
        [0.0, 0.0, slice_mm, -slices * slice_mm / 2 + slice_mm / 2],
        [0.0, 0.0, 0.0, 1.0],
    ])


@dataclass(frozen=True)
class LowFieldGrid:
    """The native grid of one 64 mT acquisition: a coarser square matrix and thick slices."""

    fov_mm: float
    matrix: int
    slices: int
    slice_mm: float  # thickness, also the spacing (contiguous slices)

    @property
    def pixel_mm(self) -> float:
        return self.fov_mm / self.matrix

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.matrix, self.matrix, self.slices)

    def affine(self) -> np.ndarray:
        return _affine(self.fov_mm, self.pixel_mm, self.slice_mm, self.slices * self.slice_mm, self.slices)

    def slice_centres_mm(self) -> np.ndarray:
        """RAS z of each slice centre."""
        affine = self.affine()
        return affine[2, 3] + affine[2, 2] * np.arange(self.slices)


@dataclass(frozen=True)
class Geometry:
    """The isotropic 3 T grid: a square in-plane field of view and a superior-inferior extent."""

    fov_mm: float
    high_matrix: int
    high_slices: int

    def __post_init__(self) -> None:
        if self.high_matrix < 8 or self.high_slices < 8:
            raise ValueError(f"a 3 T grid needs at least 8 voxels per side, got {self.high_matrix} x "
                             f"{self.high_slices}")

    @property
    def high_voxel_mm(self) -> float:
        return self.fov_mm / self.high_matrix

    @property
    def extent_mm(self) -> float:
        """Superior-inferior coverage."""
        return self.high_voxel_mm * self.high_slices

    @property
    def high_shape(self) -> tuple[int, int, int]:
        return (self.high_matrix, self.high_matrix, self.high_slices)

    def high_affine(self) -> np.ndarray:
        return _affine(self.fov_mm, self.high_voxel_mm, self.high_voxel_mm, self.extent_mm, self.high_slices)

    def high_world(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RAS coordinates (mm) of the 3 T voxel centres, as broadcastable x (cols), y (rows), z axes."""
        affine = self.high_affine()
        rows, cols, slices = self.high_shape
        y = (affine[1, 3] + affine[1, 0] * np.arange(rows)).reshape(-1, 1, 1)
        x = (affine[0, 3] + affine[0, 1] * np.arange(cols)).reshape(1, -1, 1)
        z = (affine[2, 3] + affine[2, 2] * np.arange(slices)).reshape(1, 1, -1)
        return x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)

    def low_field_grid(self, pixel_ratio: float, slice_ratio: float) -> LowFieldGrid:
        """The 64 mT grid whose pixel and slice are `pixel_ratio` and `slice_ratio` times the 3 T voxel
        (at full size the 3 T voxel is 1 mm, so the ratios are millimetres there)."""
        matrix = min(self.high_matrix, max(4, round(self.high_matrix / pixel_ratio)))
        slice_mm = slice_ratio * self.high_voxel_mm
        slices = max(1, int(self.extent_mm // slice_mm))
        return LowFieldGrid(self.fov_mm, matrix, slices, slice_mm)


# 3 T: 1 mm isotropic over 220 x 220 x 180 mm, which holds the head of the largest drawn subject.
FULL = Geometry(fov_mm=220.0, high_matrix=220, high_slices=180)
# For other components' tests: the same head and physics on 64 x 64 x 52 voxels of 3.4 mm (the anatomy is
# the template smoothed to that voxel), well under a second or two per subject.
SMALL = Geometry(fov_mm=220.0, high_matrix=64, high_slices=52)
SIZES = {"full": FULL, "small": SMALL}
