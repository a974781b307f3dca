"""Native acquisitions resampled onto the 3 T grid, as the real pipeline registers 64 mT to 3 T.

The 3 T reference goes through the true transform (its slices are the 64 mT slices, so only the in-plane
grid and the slice interpolation change); the 64 mT acquisition through a residual misregistration.

A registration is never perfect: the transform used here is the true one composed with a small random
rigid error (a rotation of the drawn angle, at most 1 degree, about a random axis through the field-of-view
centre and a shift of the drawn length, at most one 3 T voxel), the residual misregistration real
co-registration leaves. Trilinear interpolation, as registration tools use by default.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import affine_transform
from scipy.spatial.transform import Rotation

from trainer.simulate.geometry import Geometry, LowFieldGrid

NO_MISREGISTRATION = np.eye(4)


def residual_misregistration(geometry: Geometry, angle_deg: float, shift_voxels: float,
                             rng: np.random.Generator) -> np.ndarray:
    """A 4x4 rigid world transform: `angle_deg` about a random axis through the field-of-view centre (the
    world origin), and a shift of `shift_voxels` 3 T voxels in a random direction."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(angle_deg)
    direction = rng.normal(size=3)
    shift = direction / np.linalg.norm(direction) * shift_voxels * geometry.high_voxel_mm
    transform = np.eye(4)
    transform[:3, :3] = Rotation.from_rotvec(axis * angle).as_matrix()
    transform[:3, 3] = shift
    return transform


def to_high_grid(native: np.ndarray, grid: LowFieldGrid, geometry: Geometry,
                 misregistration: np.ndarray) -> np.ndarray:
    """Resample a native volume (on `grid`) onto the 3 T grid through `misregistration`."""
    index_map = np.linalg.inv(grid.affine()) @ misregistration @ geometry.high_affine()
    return affine_transform(native.astype(np.float32), index_map[:3, :3], offset=index_map[:3, 3],
                            output_shape=geometry.high_shape, order=1, mode="nearest")
