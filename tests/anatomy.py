"""A synthetic, asymmetric head defined in patient coordinates, sampled on any slice or volume geometry.

Sampling the same analytic object on grids of different orientation, pixel spacing and field of view gives
what scanners give for one anatomy, with no interpolation in the test data itself: whatever differs after
the slice mapping is the mapping's doing.
"""

from __future__ import annotations

import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, ornt_transform

from lohires_edge.slice_geometry import RAS_TO_LPS, SliceGeometry


def anatomy(points_lps: np.ndarray) -> np.ndarray:
    """Intensity (0..~1800) at LPS points (..., 3) in mm: a smooth-edged ellipsoid, two off-centre blobs."""
    x, y, z = points_lps[..., 0], points_lps[..., 1], points_lps[..., 2]
    head = 1.0 / (1.0 + np.exp(20.0 * ((x / 70.0) ** 2 + (y / 85.0) ** 2 + (z / 60.0) ** 2 - 1.0)))
    blob = np.exp(-((x - 30.0) ** 2 + (y + 20.0) ** 2 + (z - 10.0) ** 2) / (2 * 12.0 ** 2))
    spot = np.exp(-((x + 15.0) ** 2 + (y - 40.0) ** 2 + (z + 5.0) ** 2) / (2 * 8.0 ** 2))
    return 1000.0 * head + 800.0 * blob + 500.0 * spot


def slice_points(geometry: SliceGeometry, shape: tuple[int, int], centre: np.ndarray) -> np.ndarray:
    """LPS positions (rows, cols, 3) of the pixel centres of a slice centred on `centre`."""
    rows = (np.arange(shape[0]) - (shape[0] - 1) / 2) * geometry.pixel_spacing[0]
    cols = (np.arange(shape[1]) - (shape[1] - 1) / 2) * geometry.pixel_spacing[1]
    return (np.asarray(centre, float) + rows[:, None, None] * geometry.row_direction
            + cols[None, :, None] * geometry.column_direction)


def sampled_slice(geometry: SliceGeometry, shape: tuple[int, int], centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    return anatomy(slice_points(geometry, shape, np.asarray(centre, float)))


def pls_volume(shape: tuple[int, int, int] = (96, 80, 5),
               voxel_mm: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """(float32 volume, RAS affine) laid out like the simulator's: rows A->P, columns R->L, slices I->S,
    isotropic voxels, centred on the origin."""
    affine = np.array([[0.0, -voxel_mm, 0.0, 0.0], [-voxel_mm, 0.0, 0.0, 0.0], [0.0, 0.0, voxel_mm, 0.0],
                       [0, 0, 0, 1.0]])
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape) - 1) / 2)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    ras = index @ affine[:3, :3].T + affine[:3, 3]
    return anatomy(ras @ RAS_TO_LPS.T).astype(np.float32), affine


def stored_as(volume: np.ndarray, affine: np.ndarray, axcodes: str) -> tuple[np.ndarray, np.ndarray]:
    """The same voxels stored in another axis order (nibabel axis codes, e.g. "RAS"), with its affine."""
    transform = ornt_transform(axcodes2ornt(("P", "L", "S")), axcodes2ornt(tuple(axcodes)))
    return apply_orientation(volume, transform), affine @ inv_ornt_aff(transform, volume.shape)
