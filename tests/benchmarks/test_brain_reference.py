"""The brain-aligned reference metrics: scale and offset forgiven, the brain's structure not."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.brain_reference import aligned_brain_metrics


@pytest.fixture()
def volume() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    reference = rng.uniform(100, 1000, (24, 24, 16))
    brain = np.zeros(reference.shape, bool)
    brain[6:18, 6:18, 4:12] = True
    return reference, brain


def test_an_image_on_another_scale_scores_as_the_reference_itself(volume) -> None:
    reference, brain = volume
    scores = aligned_brain_metrics(reference, 0.3 * reference - 50, brain)
    assert scores["psnr"] > 200  # exact but for rounding
    assert scores["ssim"] == pytest.approx(1.0)


def test_only_the_brain_is_scored(volume) -> None:
    reference, brain = volume
    image = np.where(brain, 2 * reference, 5000 - reference)  # outside the brain: another tissue order
    assert aligned_brain_metrics(reference, image, brain)["psnr"] > 200


def test_noise_in_the_brain_costs_both_metrics(volume) -> None:
    reference, brain = volume
    noisy = reference + np.random.default_rng(1).normal(0, 100, reference.shape)
    noisier = reference + np.random.default_rng(1).normal(0, 300, reference.shape)
    clean, worse = (aligned_brain_metrics(reference, image, brain) for image in (noisy, noisier))
    assert 10 < worse["psnr"] < clean["psnr"] < 30
    assert worse["ssim"] < clean["ssim"] < 1.0


def test_an_empty_brain_is_refused(volume) -> None:
    reference, _ = volume
    with pytest.raises(ValueError, match="empty"):
        aligned_brain_metrics(reference, reference, np.zeros(reference.shape, bool))
