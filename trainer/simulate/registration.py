"""The 64 mT acquisition resampled onto the 3 T grid, as the real pipeline registers 64 mT to 3 T.

A registration is never perfect: the transform used here is the true one composed with a small random
rigid error (a rotation of at most 1 degree about a random axis through the field-of-view centre and a
shift of at most one 3 T voxel), the residual misregistration real co-registration leaves. Trilinear
interpolation, as registration tools use by default.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import affine_transform
from scipy.spatial.transform import Rotation

from trainer.simulate.geometry import Geometry

MAX_ROTATION_DEG = 1.0
MAX_SHIFT_VOXELS = 1.0


def residual_misregistration(geometry: Geometry, rng: np.random.Generator) -> np.ndarray:
    """A 4x4 rigid world transform within the limits above (the world origin is the field-of-view centre)."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = np.deg2rad(rng.uniform(0.0, MAX_ROTATION_DEG))
    shift = rng.uniform(-1, 1, 3)
    shift *= MAX_SHIFT_VOXELS * geometry.high_voxel_mm / max(1.0, float(np.linalg.norm(shift)))
    transform = np.eye(4)
    transform[:3, :3] = Rotation.from_rotvec(axis * angle).as_matrix()
    transform[:3, 3] = shift
    return transform


def to_high_grid(native: np.ndarray, geometry: Geometry, misregistration: np.ndarray) -> np.ndarray:
    """Resample a native 64 mT volume onto the 3 T grid through `misregistration` (world -> world)."""
    index_map = np.linalg.inv(geometry.low_affine()) @ misregistration @ geometry.high_affine()
    return affine_transform(native.astype(np.float32), index_map[:3, :3], offset=index_map[:3, 3],
                            output_shape=geometry.high_shape, order=1, mode="nearest")
