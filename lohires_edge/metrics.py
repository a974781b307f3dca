"""Image-quality metrics, defined once for evaluation, quantization checks and benchmarks.

scikit-image computes every metric it has; the rest are one line of numpy on top of those.
`data_range` is the reference's max - min unless given, so PSNR and SSIM describe the reference's scale.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import mean_squared_error, normalized_root_mse, peak_signal_noise_ratio, structural_similarity

# The seed's CSV columns, in its order.
IMAGE_METRICS = ("mae", "mse", "rmse", "nrmse", "nmse", "psnr", "ssim", "corr")


def image_metrics(reference: np.ndarray, test: np.ndarray, data_range: float | None = None) -> dict[str, float]:
    """The seed's metrics of `test` against `reference` (2D slices or 3D volumes of the same shape).

    nrmse is ||ref - test|| / ||ref|| (scikit-image's 'euclidean'), nmse its square; corr is Pearson's r
    (NaN when either image is constant).
    """
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(test, dtype=np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"reference {ref.shape} and test {out.shape} differ in shape")
    if data_range is None:
        data_range = float(ref.max() - ref.min()) or 1.0
    mse = mean_squared_error(ref, out)
    nrmse = normalized_root_mse(ref, out) if np.any(ref) else float("nan")
    return {
        "mae": float(np.mean(np.abs(ref - out))),
        "mse": float(mse),
        "rmse": float(np.sqrt(mse)),
        "nrmse": float(nrmse),
        "nmse": float(nrmse ** 2),
        "psnr": float(peak_signal_noise_ratio(ref, out, data_range=data_range)) if mse > 0 else float("inf"),
        "ssim": float(structural_similarity(ref, out, data_range=data_range, win_size=_ssim_window(ref.shape))),
        "corr": _pearson(ref, out),
    }


def _ssim_window(shape: tuple[int, ...]) -> int:
    # scikit-image needs an odd window no larger than the smallest side; 7 is its default.
    return max(3, min(7, min(shape) - (1 - min(shape) % 2)))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
