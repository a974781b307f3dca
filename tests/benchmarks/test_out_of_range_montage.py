"""The geometry conditions of benchmarks.out_of_range_montage keep every voxel where it was in the world."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from benchmarks.out_of_range_montage import padded, turned_back


def pls_image() -> nib.Nifti1Image:
    data = np.random.default_rng(0).uniform(1.0, 2.0, (50, 40, 3)).astype(np.float32)
    affine = np.diag([-1.0, -1.2, 1.0, 1.0])
    affine[:3, 3] = (90.0, 100.0, -60.0)
    return nib.Nifti1Image(data, affine)


def world(affine: np.ndarray, i: int, j: int, k: int) -> np.ndarray:
    return (affine @ np.array([i, j, k, 1.0]))[:3]


def test_padding_widens_the_field_of_view_and_keeps_each_voxel_in_place():
    image = pls_image()
    wide = padded(image, 100.0)
    data, source = np.asarray(wide.dataobj), np.asarray(image.dataobj)
    assert data.shape[0] * 1.0 >= 100.0 and data.shape[1] * 1.2 >= 100.0 and data.shape[2] == 3
    rows, cols = (data.shape[0] - 50) // 2, (data.shape[1] - 40) // 2
    np.testing.assert_array_equal(data[rows:rows + 50, cols:cols + 40], source)
    assert np.count_nonzero(data) == source.size  # zeros all around
    np.testing.assert_allclose(world(wide.affine, rows + 7, cols + 5, 2), world(image.affine, 7, 5, 2))


def test_a_field_of_view_already_wide_enough_is_left_as_it_is():
    image = pls_image()
    same = padded(image, 10.0)
    np.testing.assert_array_equal(np.asarray(same.dataobj), np.asarray(image.dataobj))
    np.testing.assert_array_equal(same.affine, image.affine)


def test_a_volume_stored_ras_turns_back_to_the_voxels_it_came_from():
    image = pls_image()
    ras = nib.as_closest_canonical(image)
    assert not np.array_equal(np.asarray(ras.dataobj), np.asarray(image.dataobj))  # stored another way
    np.testing.assert_array_equal(turned_back(ras, image), np.asarray(image.dataobj))
