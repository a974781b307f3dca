"""Noise mottling: patches made out of noise count, noise that smoothing averages away does not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from benchmarks.noise_mottling import mottling


@pytest.fixture()
def clean() -> np.ndarray:
    return np.repeat(np.linspace(800.0, 1200.0, 96)[:, None, None], 96, axis=1).repeat(4, axis=2)


def test_no_change_is_no_mottling(clean) -> None:
    assert mottling(clean, clean.copy(), np.ones(clean.shape, bool)) == pytest.approx(0.0, abs=1e-9)


def test_a_smoother_scores_below_its_input_and_patches_above(clean) -> None:
    # The yardstick is the input's own figure: what the added noise leaves after the benchmark's smoothing.
    # A model that smooths more leaves less; one that turns the noise into patches leaves more.
    brain = np.ones(clean.shape, bool)
    noisy = clean + np.random.default_rng(0).normal(0.0, 50.0, clean.shape)
    yardstick = mottling(clean, noisy, brain)
    smoother = gaussian_filter(noisy, (2, 2, 0))
    rows, cols = np.mgrid[:96, :96]
    patches = sum(80.0 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 2.5 ** 2))
                  for r, c in ((24, 24), (24, 72), (72, 24), (72, 72)))  # four 6 mm bright patches
    assert mottling(clean, smoother, brain) < 0.75 * yardstick
    assert mottling(clean, smoother + patches[:, :, None], brain) > 1.5 * yardstick
    assert mottling(3 * clean, 3 * noisy, brain) == pytest.approx(yardstick)  # no unit


def test_a_slice_made_brighter_as_a_whole_is_no_mottling(clean) -> None:
    brain = np.ones(clean.shape, bool)
    changed = clean.copy()
    changed[:, :, 1] = 1.1 * clean[:, :, 1] + 40.0  # the window moved: gain and offset
    assert mottling(clean, changed, brain) == pytest.approx(0.0, abs=1e-9)


def test_only_the_brain_counts(clean) -> None:
    brain = np.zeros(clean.shape, bool)
    brain[:40] = True
    changed = clean.copy()
    changed[70:] += 300.0  # far outside the brain, beyond the smoothing's reach
    assert mottling(clean, changed, brain) == pytest.approx(0.0, abs=1e-9)
