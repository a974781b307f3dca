"""The two acquisition grids of a simulated subject and their affines (NIfTI RAS+ world, millimetres).

Both grids cover the same box: one square field of view in-plane and the same superior-inferior extent,
so a native 64 mT slice and a 3 T slice describe the same anatomy and map onto the same model grid
through the slice mapping (which pads to square and resizes).

Voxel axes are chosen so that a NIfTI slice `data[:, :, k]` is exactly a DICOM axial image as a scanner
sends it (ImageOrientationPatient 1\\0\\0\\0\\1\\0): the first array axis (rows) runs anterior -> posterior,
the second (columns) right -> left, the third inferior -> superior. The trainer slices NIfTI volumes and
the node slices DICOM series; with this layout they see the anatomy the same way round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    """Matrix sizes of the 3 T (isotropic) grid and the native 64 mT (thick-slice) grid over one box."""

    fov_mm: float  # square in-plane field of view shared by both acquisitions
    high_matrix: int  # 3 T in-plane matrix (isotropic voxels)
    low_matrix: int  # native 64 mT in-plane matrix
    low_slices: int  # native 64 mT slice count
    slice_factor: int  # 3 T slices per 64 mT slice (the 64 mT slice is this many 3 T voxels thick)

    def __post_init__(self) -> None:
        if not 0 < self.low_matrix <= self.high_matrix:
            raise ValueError(f"the 64 mT matrix ({self.low_matrix}) must be positive and at most the 3 T "
                             f"matrix ({self.high_matrix})")
        if self.low_slices < 1 or self.slice_factor < 1:
            raise ValueError("slice count and slice factor must be positive")

    @property
    def high_voxel_mm(self) -> float:
        return self.fov_mm / self.high_matrix

    @property
    def low_pixel_mm(self) -> float:
        return self.fov_mm / self.low_matrix

    @property
    def low_slice_mm(self) -> float:
        return self.high_voxel_mm * self.slice_factor

    @property
    def extent_mm(self) -> float:
        """Superior-inferior coverage of both grids."""
        return self.low_slice_mm * self.low_slices

    @property
    def high_shape(self) -> tuple[int, int, int]:
        return (self.high_matrix, self.high_matrix, self.low_slices * self.slice_factor)

    @property
    def low_shape(self) -> tuple[int, int, int]:
        return (self.low_matrix, self.low_matrix, self.low_slices)

    def high_affine(self) -> np.ndarray:
        return self._affine(self.high_voxel_mm, self.high_voxel_mm)

    def low_affine(self) -> np.ndarray:
        return self._affine(self.low_pixel_mm, self.low_slice_mm)

    def high_world(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RAS coordinates (mm) of the 3 T voxel centres, as broadcastable (rows, cols, slices) axes."""
        affine = self.high_affine()
        rows, cols, slices = self.high_shape
        y = (affine[1, 3] + affine[1, 0] * np.arange(rows, dtype=np.float32)).reshape(-1, 1, 1)
        x = (affine[0, 3] + affine[0, 1] * np.arange(cols, dtype=np.float32)).reshape(1, -1, 1)
        z = (affine[2, 3] + affine[2, 2] * np.arange(slices, dtype=np.float32)).reshape(1, 1, -1)
        return x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)

    def _affine(self, pixel: float, thickness: float) -> np.ndarray:
        # Voxel (0, 0, 0) sits half a voxel inside the right-anterior-inferior corner of the shared box.
        half = self.fov_mm / 2
        return np.array([
            [0.0, -pixel, 0.0, half - pixel / 2],  # columns run right -> left (RAS x decreases)
            [-pixel, 0.0, 0.0, half - pixel / 2],  # rows run anterior -> posterior (RAS y decreases)
            [0.0, 0.0, thickness, -self.extent_mm / 2 + thickness / 2],
            [0.0, 0.0, 0.0, 1.0],
        ])


# 3 T: 1 mm isotropic over 200 x 200 x 150 mm. 64 mT: 1.6 x 1.6 x 5 mm over the same box, the in-plane
# and slice resolution of typical 64 mT brain protocols (see docs/simulator.md).
FULL = Geometry(fov_mm=200.0, high_matrix=200, low_matrix=125, low_slices=30, slice_factor=5)
# For other components' tests: 64 x 64 x 50 voxels of 3.125 mm (3 T), 40 x 40 x 10 (64 mT); same anatomy
# and physics, same 1.6:1 in-plane and 5:1 slice ratios, well under a second per subject.
SMALL = Geometry(fov_mm=200.0, high_matrix=64, low_matrix=40, low_slices=10, slice_factor=5)
SIZES = {"full": FULL, "small": SMALL}
