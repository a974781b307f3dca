"""Small NIfTI volumes for the edge tests: scikit-image's Shepp-Logan phantom, scaled per slice, with noise."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from skimage.data import shepp_logan_phantom
from skimage.transform import resize

AFFINE = np.diag([1.5, 1.2, 5.0, 1.0])


def phantom_volume(rows: int = 40, cols: int = 36, slices: int = 6, seed: int = 0) -> np.ndarray:
    """int16 (rows, cols, slices): the phantom, brighter slice by slice, plus Rician-like noise; slice 0 is empty."""
    rng = np.random.default_rng(seed)
    base = resize(shepp_logan_phantom(), (rows, cols), anti_aliasing=True)
    volume = np.stack([base * 1000 * (0.5 + 0.1 * k) + rng.normal(30, 8, (rows, cols)) for k in range(slices)],
                      axis=2)
    volume[:, :, 0] = 0
    return np.clip(volume, 0, None).astype(np.int16)


def write_nifti(path: Path, volume: np.ndarray) -> Path:
    image = nib.Nifti1Image(volume, AFFINE)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, str(path))
    return path
