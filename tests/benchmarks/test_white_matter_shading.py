"""Regional white-matter shading: a brightened quarter is found, an even one is not."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.white_matter_shading import MIN_WHITE_VOXELS, SLICE_STEP, slice_shading, volume_shading


@pytest.fixture()
def white() -> np.ndarray:
    mask = np.zeros((120, 120), bool)
    mask[20:100, 20:100] = True
    return mask


def test_even_white_matter_has_no_shading(white) -> None:
    assert slice_shading(np.full(white.shape, 500.0), white) == pytest.approx(0.0)


def test_a_brightened_quarter_is_measured(white) -> None:
    image = np.full(white.shape, 500.0)
    image[:60, :60] *= 1.2  # one quadrant 20 % brighter: the slice mean rises by 5 %
    assert slice_shading(image, white) == pytest.approx(1.2 / 1.05 - 1.0, rel=1e-6)


def test_shading_outside_the_white_matter_does_not_count(white) -> None:
    image = np.where(white, 500.0, np.linspace(0, 3000, white.size).reshape(white.shape))
    assert slice_shading(image, white) == pytest.approx(0.0)


def test_the_volume_figure_is_the_worst_judged_slice(white) -> None:
    volume = np.full((*white.shape, 4 * SLICE_STEP), 500.0)
    masks = np.repeat(white[:, :, None], volume.shape[2], axis=2)
    worst = 2 * SLICE_STEP
    volume[:60, :60, worst] *= 1.3
    volume[:60, :60, worst + 1] *= 2.0  # between the judged slices: not seen
    assert white.sum() >= MIN_WHITE_VOXELS
    shading, where = volume_shading(volume, masks)
    assert where == worst and shading == pytest.approx(1.3 / 1.075 - 1.0, rel=1e-6)


def test_a_volume_without_enough_white_matter_is_refused(white) -> None:
    with pytest.raises(ValueError, match="enough white matter"):
        volume_shading(np.ones((120, 120, 10)), np.zeros((120, 120, 10), bool))
