"""The classical baseline a model has to beat: non-local-means denoising, then bicubic resampling.

It is what a careful user would do without a model (scikit-image's NLM with its own noise estimate),
so the model card and the benchmarks report the gain over it, not only over the raw 64 mT image.
"""

from __future__ import annotations

import numpy as np
from skimage.restoration import denoise_nl_means, estimate_sigma
from skimage.transform import resize


def classical_baseline(slice_: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """NLM-denoised `slice_`, bicubically resampled to `shape` (default: its own), as float64."""
    values = np.asarray(slice_, dtype=np.float64)
    sigma = float(estimate_sigma(values))
    denoised = denoise_nl_means(values, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                                fast_mode=True, preserve_range=True) if sigma > 0 else values
    if shape is None or tuple(shape) == values.shape:
        return denoised
    return resize(denoised, shape, order=3, mode="edge", anti_aliasing=False, preserve_range=True)
