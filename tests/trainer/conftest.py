"""Small paired NIfTI volumes for the trainer's tests, written with nibabel.

Each subject is an ellipsoidal 'head' with an inner structure on a background of zeros; the 64 mT volume is
the 3 T one blurred, rescaled and noisier, as a low-field scanner would see it. A few empty slices at both
ends let the tests check that only slices with anatomy are used.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

SHAPE = (32, 32, 10)  # 8 slices with anatomy, 2 empty ones


def phantom_pair(seed: int, shape: tuple[int, int, int] = SHAPE) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x, y, z = np.meshgrid(*(np.linspace(-1, 1, n) for n in shape[:2]), np.arange(shape[2]), indexing="ij")
    head = (x / 0.8) ** 2 + (y / 0.7) ** 2 <= 1.0
    inner = ((x - 0.2 * rng.uniform(-1, 1)) / 0.35) ** 2 + (y / 0.3) ** 2 <= 1.0
    high = np.where(head, 600.0, 0.0) + np.where(inner, 400.0, 0.0) + rng.normal(0, 5, shape) * head
    high[..., [0, -1]] = 0.0
    low = 0.3 * gaussian_filter(high, (1.0, 1.0, 0)) + rng.normal(0, 8, shape) * (high > 0)
    return low.astype(np.float32), np.clip(high, 0, None).astype(np.float32)


def write_pairs(root: Path, subjects: int, sequence: str = "T1", shape: tuple[int, int, int] = SHAPE) -> Path:
    affine = np.diag([1.5, 1.5, 5.0, 1.0])
    for folder in ("Low_field", "High_field"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for i in range(subjects):
        low, high = phantom_pair(i, shape)
        nib.save(nib.Nifti1Image(low, affine), root / "Low_field" / f"POCEMR{i:03d}_{sequence}.nii.gz")
        nib.save(nib.Nifti1Image(high, affine), root / "High_field" / f"POCEMR{i:03d}_{sequence}.nii.gz")
    return root


@pytest.fixture
def pairs_dir(tmp_path: Path) -> Path:
    """Four T1 subjects of 32 x 32 x 10 voxels."""
    return write_pairs(tmp_path / "data", 4)
