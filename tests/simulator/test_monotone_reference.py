"""monotone_recontrast: the least-squares non-decreasing map of a reference onto the 64 mT signal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainer.simulate.monotone_reference import BRAIN_WEIGHT_FLOOR, brain_weights, monotone_recontrast
from trainer.simulate.tissues import CSF, FAT, GREY_MATTER, LESION, TISSUES, WHITE_MATTER


@given(st.lists(st.floats(0, 1e3, allow_nan=False), min_size=2, max_size=40, unique=True))
def test_a_reference_already_monotone_in_the_truth_is_its_own_recontrast(values: list[float]) -> None:
    truth = np.asarray(values).reshape(-1, 1)
    reference = np.sqrt(truth) * 3.0 + 1.0  # increasing in the truth
    np.testing.assert_allclose(monotone_recontrast(truth, reference), reference)


def test_the_recontrast_keeps_the_truths_order_and_is_the_least_squares_one() -> None:
    truth = np.array([[1.0, 2.0], [3.0, 4.0]])
    reference = np.array([[10.0, 30.0], [20.0, 40.0]])  # the middle two in the wrong order
    recontrast = monotone_recontrast(truth, reference)
    np.testing.assert_allclose(recontrast, [[10.0, 25.0], [25.0, 40.0]])  # the pair pooled to its mean
    order = np.argsort(truth, axis=None)
    assert np.all(np.diff(recontrast.ravel()[order]) >= 0)


def test_grids_that_differ_are_refused() -> None:
    with pytest.raises(ValueError, match="share a grid"):
        monotone_recontrast(np.zeros((2, 2)), np.zeros((2, 3)))


def test_a_weight_decides_how_far_a_point_pulls_the_fit() -> None:
    truth = np.array([1.0, 2.0, 3.0])
    reference = np.array([10.0, 40.0, 30.0])  # the last two in the wrong order
    np.testing.assert_allclose(monotone_recontrast(truth, reference), [10.0, 35.0, 35.0])
    np.testing.assert_allclose(monotone_recontrast(truth, reference, np.array([1.0, 1e-6, 1.0])),
                               [10.0, 30.0, 30.0], atol=1e-4)  # the light one follows the heavy one


def test_brain_weights_are_each_voxels_brain_fraction_and_a_floor_elsewhere() -> None:
    fractions = np.zeros((len(TISSUES), 6))
    fractions[TISSUES.index(WHITE_MATTER)] = [1.0, 0.5, 0.0, 0.0, 0.0, 0.0]
    fractions[TISSUES.index(LESION)] = [0.0, 0.25, 0.0, 0.0, 0.0, 0.0]
    fractions[TISSUES.index(GREY_MATTER)] = [0.0, 0.0, 0.0, 0.0, 0.6, 0.0]
    fractions[TISSUES.index(CSF)] = [0.0, 0.0, 0.0, 0.0, 0.3, 1.0]
    fractions[TISSUES.index(FAT)] = [0.0, 0.25, 1.0, 0.0, 0.1, 0.0]  # the fourth voxel is air
    np.testing.assert_allclose(brain_weights(fractions),
                               [1.0, 0.75, BRAIN_WEIGHT_FLOOR, BRAIN_WEIGHT_FLOOR, 0.9, 1.0])


def test_weights_on_another_grid_are_refused() -> None:
    with pytest.raises(ValueError, match="share a grid"):
        monotone_recontrast(np.zeros((2, 2)), np.zeros((2, 2)), np.ones((2, 3)))
