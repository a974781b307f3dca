"""How closely one backend reproduces another on the same mapped slices: INT8 vs FP32, engine vs ONNX Runtime.

PSNR and SSIM come from `lohires_edge.image_quality`, per slice, with the reference output slice's own range as
data range, so an output that varies little is not flattered by the model's full [-1, 1] range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lohires_edge.backends.base import Backend
from lohires_edge.image_quality import image_metrics


@dataclass(frozen=True)
class Agreement:
    """Summary over slices of a candidate's outputs against a reference's, in the model's output domain."""

    slices: int
    psnr_mean: float
    psnr_min: float
    ssim_mean: float
    ssim_min: float
    max_abs_diff: float

    @property
    def ssim_drop(self) -> float:
        return 1.0 - self.ssim_mean


def measure_agreement(reference: Backend, candidate: Backend, batch: np.ndarray) -> Agreement:
    """Per-slice PSNR and SSIM of `candidate`'s outputs against `reference`'s (each slice's own range)."""
    expected, actual = _run(reference, batch), _run(candidate, batch)
    metrics = [image_metrics(e, a) for e, a in zip(expected, actual)]
    psnr = np.array([m["psnr"] for m in metrics])
    ssim = np.array([m["ssim"] for m in metrics])
    return Agreement(slices=len(batch), psnr_mean=float(np.mean(psnr)), psnr_min=float(np.min(psnr)),
                     ssim_mean=float(np.mean(ssim)), ssim_min=float(np.min(ssim)),
                     max_abs_diff=float(np.max(np.abs(expected - actual))))


def _run(backend: Backend, batch: np.ndarray) -> np.ndarray:
    step = backend.max_batch or len(batch)
    return np.concatenate([backend.run(batch[i:i + step]) for i in range(0, len(batch), step)])
