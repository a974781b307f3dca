"""The physics: T1 field dependence, where the 64 mT grid lies, the slice profile (shared by the 3 T
reference), co-registration, noise and misregistration."""

from __future__ import annotations

from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.filters import threshold_multiotsu
from skimage.metrics import normalized_mutual_information

from trainer.simulate import FULL, SMALL, acquisition, registration
from trainer.simulate.geometry import Geometry
from trainer.simulate.protocols import HIGH_FIELD_T, LOW_FIELD_T, protocol
from trainer.simulate.randomization import draw_low_field
from trainer.simulate.tissues import GREY_MATTER, TABLE_FIELDS_T, TISSUES, WHITE_MATTER


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
@pytest.mark.parametrize("pixel_ratio,slice_ratio", [(1.6, 5.0), (2.2, 3.0), (1.2, 6.0)])
def test_64mt_pixels_lie_where_the_64mt_affine_says(geometry: Geometry, pixel_ratio: float,
                                                     slice_ratio: float):
    # A smooth blob at a known world position, through the slice profile and k-space truncation
    # (noise-free): its centroid on the 64 mT grid, mapped through the 64 mT affine, is where it was put.
    grid = geometry.low_field_grid(pixel_ratio, slice_ratio)
    x, y, z = geometry.high_world()
    centre = np.array([13.3, -21.7, 4.0])
    blob = np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2) / (2 * 12.0 ** 2))
    image = acquisition.magnitude_image(acquisition.truncated_kspace(
        acquisition.thick_slices(blob.astype(np.float32), geometry, grid), geometry, grid))
    assert image.shape == grid.shape
    index = np.indices(image.shape).reshape(3, -1)
    centroid = index @ image.ravel() / image.sum()
    world = grid.affine() @ np.append(centroid, 1.0)
    np.testing.assert_allclose(world[:3], centre, atol=0.03 * geometry.high_voxel_mm * slice_ratio)
    # Intensities are kept: the same integral over the field of view on both grids.
    low_voxel = grid.pixel_mm ** 2 * grid.slice_mm
    assert image.sum() * low_voxel == pytest.approx(blob.sum() * geometry.high_voxel_mm ** 3, rel=0.02)


def test_slice_profile_has_the_slice_thickness_as_its_full_width_at_half_maximum():
    assert acquisition.slice_profile(np.array([0.0]))[0] == 1.0
    assert acquisition.slice_profile(np.array([0.5]))[0] == pytest.approx(0.5)
    assert acquisition.slice_profile(np.array([0.75, 1.0])).tolist() == [0.0, 0.0]
    # Contiguous slices cover the extent evenly: the profiles of neighbours add up to one.
    offsets = np.linspace(-0.5, 0.5, 41)
    total = acquisition.slice_profile(offsets) + acquisition.slice_profile(offsets - 1.0) \
        + acquisition.slice_profile(offsets + 1.0)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


@pytest.mark.parametrize("slice_mm", [3.0, 6.0])
def test_3t_reference_sees_the_slab_each_64mt_slice_sees(slice_mm: float):
    # A 1 mm sheet of CSF in white matter, imaged noise-free at 64 mT and at 3 T with the pair's slices: on
    # the 3 T grid both spread it over the slice thickness, so a slice model is never asked for a 1 mm
    # slice out of a thick slab. An isotropic 3 T reference would show it 1 mm wide.
    geometry = Geometry(fov_mm=64.0, high_matrix=64, high_slices=60)
    fractions = np.zeros((len(TISSUES),) + geometry.high_shape, np.float32)
    fractions[0] = 1.0
    fractions[0, :, :, 31], fractions[2, :, :, 31] = 0.0, 1.0  # TISSUES: white matter, grey matter, CSF
    draw = replace(draw_low_field(protocol("T2", LOW_FIELD_T), np.random.default_rng(0)), slice_mm=slice_mm,
                   snr=1e6, bias_amplitude=0.0, apodization=None, ghost_phase_rad=0.0, intensity_scale=1.0,
                   gamma=1.0)
    grid = acquisition.low_field_grid(geometry, draw)
    high = registration.to_high_grid(
        acquisition.high_field_image(fractions, protocol("T2", HIGH_FIELD_T), geometry, grid,
                                     np.random.default_rng(1)),
        acquisition.reference_grid(geometry, grid), geometry, registration.NO_MISREGISTRATION)
    rng = np.random.default_rng(2)
    low = registration.to_high_grid(
        acquisition.acquire(acquisition.low_field_signal(fractions, draw, geometry, rng), draw, geometry, rng),
        grid, geometry, registration.NO_MISREGISTRATION)

    def width_mm(volume: np.ndarray) -> float:
        profile = volume[32, 32, :] - np.median(volume[32, 32, :])
        return float(np.sum(profile > profile.max() / 2)) * geometry.high_voxel_mm

    assert width_mm(high) == pytest.approx(width_mm(low), abs=1.0)
    assert width_mm(high) >= 0.75 * slice_mm


def test_the_noise_free_signal_is_what_the_acquisition_images():
    # With unlimited SNR and no ghosts, apodization or intensity curve, the acquisition is its noise-free
    # signal at the 64 mT matrix: over uniform white matter the two agree voxel for voxel, receive shading
    # included, so the noise-free volume is the input's own truth and not a bias-corrected one.
    geometry = Geometry(fov_mm=64.0, high_matrix=64, high_slices=30)
    fractions = np.zeros((len(TISSUES),) + geometry.high_shape, np.float32)
    fractions[0] = 1.0  # white matter filling the field of view: no edge for the truncation to ring at
    draw = replace(draw_low_field(protocol("T1", LOW_FIELD_T), np.random.default_rng(0)), snr=1e6,
                   bias_amplitude=0.3, apodization=None, ghost_phase_rad=0.0, intensity_scale=1.0, gamma=1.0)
    grid = acquisition.low_field_grid(geometry, draw)
    signal = acquisition.low_field_signal(fractions, draw, geometry, np.random.default_rng(3))
    image = acquisition.acquire(signal, draw, geometry, np.random.default_rng(4))
    noise_free = registration.to_high_grid(signal, acquisition.reference_grid(geometry, grid), geometry,
                                           registration.NO_MISREGISTRATION)
    low = registration.to_high_grid(image, grid, geometry, registration.NO_MISREGISTRATION)
    inner = (slice(4, -4), slice(4, -4), slice(4, -4))
    assert noise_free[inner].max() / noise_free[inner].min() > 1.05  # the shading is there to be kept
    np.testing.assert_allclose(low[inner], noise_free[inner], rtol=0.01)


def test_pairs_are_coregistered(small_run):
    out, records = small_run
    for record in records[:3]:
        low = nib.load(record.low_field).get_fdata()
        high = nib.load(record.high_field).get_fdata()
        # The same head: its outlines overlap (contrast differs between the fields, so no correlation).
        smoothed = [gaussian_filter(v, 1.5) for v in (low, high)]
        masks = [v > threshold_multiotsu(v, classes=3)[0] for v in smoothed]  # the head, not just its fat
        dice = 2 * (masks[0] & masks[1]).sum() / (masks[0].sum() + masks[1].sum())
        assert dice > 0.85, (record.sequence, dice)
        # Registration's own criterion (contrast differs between the fields): along every axis, mutual
        # information peaks within one voxel of no shift, i.e. only the residual misregistration is left.
        for axis in range(3):
            score = {shift: normalized_mutual_information(np.roll(low, shift, axis=axis), high, bins=32)
                     for shift in (-2, -1, 0, 1, 2)}
            best_near = max(score[-1], score[0], score[1])
            assert best_near > score[-2] and best_near > score[2], (record.sequence, axis, score)


@pytest.mark.parametrize("snr", [5.0, 12.0, 30.0])
def test_native_64mt_noise_is_the_drawn_snr(snr: float):
    # White matter is 1 in signal units, so the noise sigma is 1 / SNR. In air, a magnitude image is
    # Rayleigh-distributed: its mean is sigma * sqrt(pi / 2).
    draw = replace(draw_low_field(protocol("T2", LOW_FIELD_T), np.random.default_rng(0)), snr=snr,
                   intensity_scale=1.0, gamma=1.0, ghost_phase_rad=0.0, bias_amplitude=0.0)
    fractions = np.zeros((len(TISSUES),) + SMALL.high_shape, np.float32)  # all air
    rng = np.random.default_rng(1)
    image = acquisition.acquire(acquisition.low_field_signal(fractions, draw, SMALL, rng), draw, SMALL, rng)
    sigma = image.mean() / np.sqrt(np.pi / 2)
    assert sigma == pytest.approx(1.0 / snr, rel=0.05)


def test_residual_misregistration_is_the_drawn_angle_and_shift():
    for seed in range(50):
        rng = np.random.default_rng(seed)
        angle_deg, shift_voxels = rng.uniform(0, 1), rng.uniform(0, 1)
        transform = registration.residual_misregistration(FULL, angle_deg, shift_voxels, rng)
        rotation, shift = transform[:3, :3], transform[:3, 3]
        angle = np.degrees(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1, 1)))
        assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
        assert np.linalg.norm(shift) == pytest.approx(shift_voxels * FULL.high_voxel_mm)
        assert angle == pytest.approx(angle_deg, abs=1e-6)
