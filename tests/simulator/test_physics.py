"""The physics: T1 field dependence, where the 64 mT grid lies, co-registration, noise, misregistration."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
from scipy.ndimage import binary_dilation, gaussian_filter
from skimage.metrics import normalized_mutual_information

from trainer.simulate import FULL, SMALL, acquisition, registration
from trainer.simulate.geometry import Geometry
from trainer.simulate.tissues import GREY_MATTER, TABLE_FIELDS_T, WHITE_MATTER


def test_t1_reproduces_the_table_and_shortens_at_low_field():
    assert WHITE_MATTER.t1_s(3.0) == pytest.approx(1.08)
    assert GREY_MATTER.t1_s(3.0) == pytest.approx(1.82)
    assert WHITE_MATTER.t1_s(0.1) == pytest.approx(0.31)
    assert GREY_MATTER.t1_s(1.5) == pytest.approx(0.92)
    fields = np.geomspace(0.02, 3.0, 40)
    for tissue in (WHITE_MATTER, GREY_MATTER):
        t1 = [tissue.t1_s(b) for b in fields]
        assert np.all(np.diff(t1) > 0)
        assert tissue.t1_s(0.064) < tissue.t1_s(TABLE_FIELDS_T[0])
    assert 0.25 < WHITE_MATTER.t1_s(0.064) < 0.29 and 0.33 < GREY_MATTER.t1_s(0.064) < 0.37


@pytest.mark.parametrize("geometry", [FULL, SMALL])
def test_64mt_pixels_lie_where_the_64mt_affine_says(geometry: Geometry):
    # A smooth blob at a known world position, through the slice profile and k-space truncation
    # (noise-free): its centroid on the 64 mT grid, mapped through the 64 mT affine, is where it was put.
    x, y, z = geometry.high_world()
    centre = np.array([13.3, -21.7, 4.0])
    blob = np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2) / (2 * 12.0 ** 2))
    image = acquisition.magnitude_image(acquisition.truncated_kspace(
        acquisition.thick_slices(blob.astype(np.float32), geometry), geometry))
    assert image.shape == geometry.low_shape
    index = np.indices(image.shape).reshape(3, -1)
    centroid = index @ image.ravel() / image.sum()
    world = geometry.low_affine() @ np.append(centroid, 1.0)
    np.testing.assert_allclose(world[:3], centre, atol=0.02 * geometry.high_voxel_mm)
    # Intensities are kept: the same integral over the field of view on both grids.
    low_voxel = geometry.low_pixel_mm ** 2 * geometry.low_slice_mm
    assert image.sum() * low_voxel == pytest.approx(blob.sum() * geometry.high_voxel_mm ** 3, rel=0.01)


def test_pairs_are_coregistered(small_run):
    out, records = small_run
    for record in records[:3]:
        low = nib.load(record.low_field).get_fdata()
        high = nib.load(record.high_field).get_fdata()
        smoothed = [gaussian_filter(v, 1.5).ravel() for v in (low, high)]
        assert np.corrcoef(*smoothed)[0, 1] > 0.9, record
        # Registration's own criterion (contrast differs between the fields): along every axis, mutual
        # information peaks within one voxel of no shift, i.e. only the residual misregistration is left.
        for axis in range(3):
            score = {shift: normalized_mutual_information(np.roll(low, shift, axis=axis), high, bins=32)
                     for shift in (-2, -1, 0, 1, 2)}
            best_near = max(score[-1], score[0], score[1])
            assert best_near > score[-2] and best_near > score[2], (record.sequence, axis, score)


def test_low_field_noise_is_several_times_high_field(small_run):
    # Both fields are stored on one scale (white matter = 1000 before shading), so background noise in
    # stored units compares noise relative to tissue signal.
    out, records = small_run
    labels = np.asarray(nib.load(out / "Labels" / "POCEMR001_labels.nii.gz").dataobj)
    air = ~binary_dilation(labels > 0, iterations=3)  # well away from the head
    native_air = ~binary_dilation(_downsample_mask(labels > 0, SMALL), iterations=2)
    for record in records[:3]:
        low = nib.load(record.low_field).get_fdata()
        high = nib.load(record.high_field).get_fdata()
        assert np.median(high[labels == 1]) == pytest.approx(1000, rel=0.05)
        assert np.median(low[labels == 1]) == pytest.approx(1000, rel=0.4)  # shading and partial volume
        # Interpolating onto the 3 T grid averages the 64 mT noise; the registered pair still differs ~2.8x.
        ratio = low[air].std() / high[air].std()
        assert ratio > 2.3, (record.sequence, ratio)
        native = np.stack([pydicom.dcmread(p).pixel_array for p in sorted(record.dicom_dir.glob("*.dcm"))],
                          axis=2).astype(float)
        native_ratio = native[native_air].std() / high[air].std()
        assert native_ratio > 4.0, (record.sequence, native_ratio)


def test_native_64mt_snr_follows_the_stated_rule(small_run):
    # White matter is stored as 1000 units (before shading), so noise sigma should be 1000 / SNR. The
    # background of a magnitude image is Rayleigh: its mean is sigma * sqrt(pi / 2).
    out, records = small_run
    labels = np.asarray(nib.load(out / "Labels" / "POCEMR001_labels.nii.gz").dataobj)
    record = records[0]
    native = np.stack([pydicom.dcmread(p).pixel_array for p in sorted(record.dicom_dir.glob("*.dcm"))],
                      axis=2).astype(float)
    air = ~binary_dilation(_downsample_mask(labels > 0, SMALL), iterations=2)
    sigma = native[air].mean() / np.sqrt(np.pi / 2)
    assert acquisition.low_field_snr(SMALL) == pytest.approx(acquisition.LOW_FIELD_TARGET_SNR)
    assert sigma == pytest.approx(1000.0 / acquisition.low_field_snr(SMALL), rel=0.1)


def test_residual_misregistration_stays_within_one_voxel_and_one_degree():
    for seed in range(200):
        transform = registration.residual_misregistration(FULL, np.random.default_rng(seed))
        rotation, shift = transform[:3, :3], transform[:3, 3]
        angle = np.degrees(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1, 1)))
        assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
        assert np.linalg.norm(shift) <= FULL.high_voxel_mm + 1e-9
        assert angle <= registration.MAX_ROTATION_DEG + 1e-9


def _downsample_mask(mask: np.ndarray, geometry: Geometry) -> np.ndarray:
    """A 3 T-grid mask on the 64 mT grid: any voxel of the 64 mT voxel in the mask (nearest 3 T voxels)."""
    rows = np.round(np.linspace(0, geometry.high_matrix - 1, geometry.low_matrix)).astype(int)
    block = mask[np.ix_(rows, rows)]
    return block.reshape(geometry.low_matrix, geometry.low_matrix, geometry.low_slices,
                         geometry.slice_factor).any(axis=3)
