"""Subjects from the real template: different per seed and subject, brain-sized, wrapped in CSF, skull and
scalp, with ventricles that grow with atrophy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from trainer.simulate.anatomy import BONE, CSF, FAT, GM, MUSCLE, WM, draw_anatomy, tissue_fractions
from trainer.simulate.geometry import Geometry

# 2 mm voxels: the skull and scalp stay a few voxels thick, and a subject takes about a second.
COARSE = Geometry(fov_mm=220.0, high_matrix=110, high_slices=90)


def fractions(seed: int, subject: int, **changes) -> np.ndarray:
    anatomy = draw_anatomy(np.random.default_rng([seed, subject, 0]))
    return tissue_fractions(replace(anatomy, **changes), COARSE)


@pytest.fixture(scope="module")
def subjects() -> dict[tuple[int, int], np.ndarray]:
    return {key: fractions(*key) for key in ((1, 1), (1, 2), (2, 1))}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_a_subject_is_reproducible_and_two_subjects_or_seeds_differ(subjects):
    np.testing.assert_array_equal(fractions(1, 2), subjects[(1, 2)])
    white = {key: f[WM] > 0.5 for key, f in subjects.items()}
    for a, b in (((1, 1), (1, 2)), ((1, 1), (2, 1)), ((1, 2), (2, 1))):
        # The same template under another deformation and pose: well apart voxel by voxel.
        assert dice(white[a], white[b]) < 0.8, (a, b, dice(white[a], white[b]))


def test_fractions_are_partial_volumes_that_fill_the_head(subjects):
    for f in subjects.values():
        assert f.min() >= 0.0 and f.max() <= 1.0
        total = f.sum(axis=0)
        assert total.max() <= 1.0 + 1e-5
        assert np.mean(np.abs(total[total > 0.01] - 1.0) < 1e-3) > 0.9  # only the head's rim is partial


def test_brain_volume_is_that_of_an_adult(subjects):
    for f in subjects.values():
        millilitres = (f[WM] + f[GM]).sum() * COARSE.high_voxel_mm ** 3 / 1000
        assert 900 < millilitres < 1800, millilitres  # adult brains: about 1.0-1.6 l


def test_the_brain_is_wrapped_in_csf_skull_and_scalp(subjects):
    for f in subjects.values():
        dominant = np.argmax(f, axis=0)
        head = f.sum(axis=0) > 0.5
        depth = distance_transform_edt(head) * COARSE.high_voxel_mm  # mm below the head's surface
        median = {tissue: np.median(depth[head & (dominant == tissue)]) for tissue in (FAT, BONE, GM, WM)}
        scalp = np.median(depth[head & np.isin(dominant, (FAT, MUSCLE))])
        assert scalp < median[BONE] < median[GM] < median[WM], median
        assert (head & (dominant == CSF)).sum() > 0 and (head & (dominant == MUSCLE)).sum() >= 0


def test_atrophy_enlarges_the_ventricles():
    healthy, atrophied = (fractions(3, 1, ventricle_growth_mm=g) for g in (0.0, 2.5))
    centre = tuple(slice(n // 2 - 15, n // 2 + 15) for n in COARSE.high_shape)  # the deep brain
    grown = atrophied[CSF][centre].sum() / healthy[CSF][centre].sum()
    assert grown > 1.3, grown
    assert atrophied[WM][centre].sum() < healthy[WM][centre].sum()
