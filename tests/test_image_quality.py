import numpy as np
import pytest

from lohires_edge.image_quality import IMAGE_METRICS, image_metrics


def test_identical_images_are_perfect():
    ref = np.random.default_rng(0).uniform(0, 100, (16, 20, 20))
    m = image_metrics(ref, ref.copy())
    assert list(m) == list(IMAGE_METRICS)
    assert m["mae"] == m["mse"] == m["nrmse"] == 0 and m["psnr"] == float("inf")
    assert m["ssim"] == pytest.approx(1.0) and m["corr"] == pytest.approx(1.0)


def test_known_values_on_a_simple_pair():
    ref = np.zeros((8, 8))
    ref[:, 4:] = 10.0
    test = ref + 1.0
    m = image_metrics(ref, test)
    assert m["mae"] == pytest.approx(1.0) and m["mse"] == pytest.approx(1.0) and m["rmse"] == pytest.approx(1.0)
    assert m["psnr"] == pytest.approx(20.0)  # 10 * log10(10**2 / 1)
    assert m["nrmse"] == pytest.approx(np.sqrt(64 / 3200))
    assert m["nmse"] == pytest.approx(64 / 3200)
    assert m["corr"] == pytest.approx(1.0)


def test_more_noise_scores_worse():
    rng = np.random.default_rng(3)
    ref = np.outer(np.hanning(32), np.hanning(32)) * 100
    mild, heavy = (image_metrics(ref, ref + rng.normal(0, s, ref.shape)) for s in (1, 10))
    assert mild["psnr"] > heavy["psnr"] and mild["ssim"] > heavy["ssim"] and mild["mae"] < heavy["mae"]


def test_constant_images_do_not_crash():
    m = image_metrics(np.zeros((5, 5)), np.zeros((5, 5)))
    assert np.isnan(m["corr"]) and m["mse"] == 0


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        image_metrics(np.zeros((4, 4)), np.zeros((4, 5)))
