"""Shepp-Logan phantom slices (scikit-image's test image): check and benchmark data when no real data is given.

They exercise every pixel path of the model with realistic structure; they say nothing about image quality.
"""

from __future__ import annotations

import numpy as np
from skimage.data import shepp_logan_phantom


def phantom_slices(count: int, seed: int = 0) -> list[np.ndarray]:
    """Shepp-Logan phantoms (scikit-image) at varied brightness and noise: check data when no --calib is given."""
    rng = np.random.default_rng(seed)
    base = shepp_logan_phantom()
    return [(base * rng.uniform(200, 2000) + rng.normal(20, 5, base.shape)).clip(0) for _ in range(count)]
