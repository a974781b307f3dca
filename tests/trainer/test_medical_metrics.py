"""The medical metrics in lohires_edge.image_quality, on images whose values can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from lohires_edge.image_quality import MEDICAL_METRICS, edge_preservation_index, medical_metrics


def two_tissue_image(noise: float, seed: int = 0) -> np.ndarray:
    """Left half background (noise only), then equal areas of dark (300) and bright (700) tissue."""
    rng = np.random.default_rng(seed)
    image = np.zeros((64, 64))
    image[:, 32:48], image[:, 48:] = 300.0, 700.0
    return image + rng.normal(0, noise, image.shape)


def test_snr_and_cnr_are_tissue_over_background_noise() -> None:
    metrics = medical_metrics(two_tissue_image(noise=10.0))
    assert set(metrics) == set(MEDICAL_METRICS)
    assert metrics["snr"] == pytest.approx(500 / 10, rel=0.05)
    assert metrics["cnr"] == pytest.approx(400 / 10, rel=0.05)
    noisier = medical_metrics(two_tissue_image(noise=20.0))
    assert noisier["snr"] < metrics["snr"] / 1.8 and noisier["cnr"] < metrics["cnr"] / 1.8


def test_entropy_counts_bits() -> None:
    assert medical_metrics(np.zeros((8, 8)))["entropy"] == 0.0
    halves = np.zeros((8, 8))
    halves[:, 4:] = 1.0
    assert medical_metrics(halves)["entropy"] == pytest.approx(1.0)


def test_edge_preservation_drops_with_blur() -> None:
    sharp = two_tissue_image(noise=1.0)
    assert edge_preservation_index(sharp, sharp) == pytest.approx(1.0)
    slight, heavy = gaussian_filter(sharp, 0.7), gaussian_filter(sharp, 2.0)
    assert 1.0 > edge_preservation_index(sharp, slight) > edge_preservation_index(sharp, heavy)
    assert medical_metrics(slight, reference=sharp)["epi"] == edge_preservation_index(sharp, slight)
    assert np.isnan(medical_metrics(sharp)["epi"])


def test_glcm_contrast_of_a_checkerboard() -> None:
    board = (np.indices((16, 16)).sum(axis=0) % 2).astype(float)
    # Horizontal and vertical neighbours always differ by the full 63 levels, diagonal ones never.
    assert medical_metrics(board)["glcm_contrast"] == pytest.approx((63 ** 2 * 2) / 4)
    ramp = np.tile(np.linspace(0, 1, 16), (16, 1))
    assert medical_metrics(ramp)["glcm_contrast"] < 20


def test_laplacian_variance_is_higher_for_sharper_images_and_averaged_over_slices() -> None:
    sharp = two_tissue_image(noise=1.0)
    assert medical_metrics(sharp)["laplacian_variance"] > medical_metrics(gaussian_filter(sharp, 2))[
        "laplacian_variance"]
    volume = np.stack([sharp, gaussian_filter(sharp, 2)], axis=-1)
    expected = np.mean([medical_metrics(volume[..., i])["laplacian_variance"] for i in range(2)])
    assert medical_metrics(volume)["laplacian_variance"] == pytest.approx(expected)


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError):
        medical_metrics(np.zeros(5))
    with pytest.raises(ValueError):
        edge_preservation_index(np.zeros((4, 4)), np.zeros((4, 5)))
