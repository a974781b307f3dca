"""Fidelity: how far an enhanced image departs from its own input. The one definition, used by `enhance`,
the node's guard and `benchmarks.quality`.

Both images are taken to what the 64 mT acquisition can resolve: a Gaussian in-plane blur whose FWHM is two
source pixels (3.2 mm for 1.6 mm pixels; a sampled image resolves a period of two pixels, no finer). A
blur rather than resampling onto the source grid: it is defined in millimetres on whatever grid a slice
comes on (the 64 mT NIfTI files lie on the 3 T grid), has no sampling phase to get wrong, and it averages
the input's noise down far enough that a perfect denoiser is not counted as departing (with one source
pixel, input smoothed by sigma 1.5 mm already departed on 2 % of the head). Then the degraded output is
fitted from the degraded input by a monotone (isotonic) map over the head, so any contrast change that
keeps the order of intensities is free; what remains is structure the input does not explain.

Scores: R^2 of that fit (1.0 = faithful) and the fraction of head voxels whose residual exceeds 10 % of the
output's robust range. The per-slice fidelity score is the R^2. The head is an Otsu foreground of the
degraded input, holes filled, dilated by two pixels, found within the field of view that was acquired: the
bounding box of the input's non-zero voxels, so that zero padding around a smaller acquisition does not make
its noise look like a head.

Known limits: the fit is global, so a smooth intensity shading (coil bias) removed by a model counts as
departure; and one small invented structure moves R^2 little (a 5 mm blob on a 200 x 200 slice: about
1e-3), the departing fraction a little more. The score catches widespread departures, not every one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np
from pydicom.dataset import Dataset
from scipy.ndimage import binary_dilation, binary_fill_holes, gaussian_filter, generate_binary_structure
from scipy.optimize import isotonic_regression
from skimage.filters import threshold_otsu
from skimage.transform import resize

SOURCE_PIXEL_MM = 1.6  # in-plane pixel of the 64 mT acquisitions (docs/simulator.md)
RESOLVED_PIXELS = 2.0  # degraded resolution, FWHM in source pixels
DEPARTURE = 0.10  # a voxel departs when its residual exceeds this share of the output's robust range
ROBUST_RANGE = (1.0, 99.0)  # percentiles of the degraded output over the head
HEAD_DILATION = 2  # pixels around the Otsu foreground
# The guard's default threshold: benchmarks.fidelity_thresholds suggests the highest multiple of 0.01 that
# no slice of an image which invents nothing (smoothed input, NLM, TV) fell below, on clean, noisier,
# thick-slice and other-contrast inputs; its latest run suggests 0.97 on T1 inputs and 0.91 on T2 inputs,
# and this default lies between (docs/dicom-node.md has the tables).
DEFAULT_MIN_FIDELITY = 0.95
MIN_HEAD_SHARE = 0.02  # a slice whose head covers less of it has no anatomy to judge
MIN_HEAD_CONTRAST = 1.5  # nor one whose head is not this much brighter than its background (noise: ~1.2)
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

PixelSize = Union[float, Sequence[float]]  # mm; one value, or (between rows, between columns)


@dataclass(frozen=True)
class Fidelity:
    r2: float  # of the monotone fit of the degraded output from the degraded input; 1.0 = faithful
    departing: float  # fraction of head voxels whose residual exceeds DEPARTURE x the output's range


@dataclass(frozen=True)
class Departure:
    """Where an output departs from its source, on the source's grid; the fidelity scores derive from it."""

    # degraded output minus its monotone fit, as a share of the output's robust range; 0 off the head
    residual: np.ndarray
    head: np.ndarray  # the voxels judged
    total: float  # sum of squares of the degraded output about its mean over the head, in the same units

    def scores(self) -> Fidelity:
        if self.total == 0.0:  # a flat output keeps none of the input's structure
            return Fidelity(r2=0.0, departing=0.0)
        judged = self.residual[self.head]
        return Fidelity(r2=float(1.0 - np.sum(judged ** 2) / self.total),
                        departing=float(np.mean(np.abs(judged) > DEPARTURE)))


def degrade(image: np.ndarray, pixel_mm: PixelSize, source_pixel_mm: float = SOURCE_PIXEL_MM) -> np.ndarray:
    """`image` (2D, or 3D with slices on the last axis) blurred in-plane to the source's resolution."""
    rows_mm, cols_mm = pixel_pair(pixel_mm)
    sigma_mm = RESOLVED_PIXELS * source_pixel_mm / _FWHM_PER_SIGMA
    sigma = (sigma_mm / rows_mm, sigma_mm / cols_mm) + (0.0,) * (np.ndim(image) - 2)
    return gaussian_filter(np.asarray(image, dtype=np.float64), sigma, mode="nearest")


def head_mask(degraded: np.ndarray, acquired: np.ndarray | None = None) -> np.ndarray | None:
    """Head voxels of a degraded input (Otsu, holes filled, dilated in-plane); None when there is no head.

    `acquired` (a mask of the same shape; all voxels when None) is the field of view the head is looked for
    in, and what its share and contrast are measured against.
    """
    acquired = np.ones(degraded.shape, dtype=bool) if acquired is None else acquired
    values = degraded[acquired]
    if values.size == 0 or values.max() <= values.min():
        return None
    foreground = (degraded > threshold_otsu(values)) & acquired
    background = degraded[acquired & ~foreground]
    if background.size and degraded[foreground].mean() < MIN_HEAD_CONTRAST * max(background.mean(), 1e-12):
        return None
    in_plane = _in_plane_structure(degraded.ndim)
    head = binary_dilation(binary_fill_holes(foreground, in_plane), in_plane, iterations=HEAD_DILATION)
    return head if np.count_nonzero(head) >= MIN_HEAD_SHARE * values.size else None


def acquired_field(image: np.ndarray) -> np.ndarray:
    """The in-plane bounding box of `image`'s non-zero voxels (over all slices of a volume): what was acquired,
    as opposed to zero padding around it. A scanner that sets its background to zero keeps the box around
    the head, so its background still counts as background."""
    nonzero = image != 0
    if nonzero.ndim == 3:
        nonzero = nonzero.any(axis=2)
    field = np.zeros(image.shape[:2], dtype=bool)
    rows, cols = np.flatnonzero(nonzero.any(axis=1)), np.flatnonzero(nonzero.any(axis=0))
    if rows.size:
        field[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1] = True
    return np.broadcast_to(field[..., np.newaxis], image.shape) if image.ndim == 3 else field


def fidelity(source: np.ndarray, output: np.ndarray, pixel_mm: PixelSize,
             source_pixel_mm: float = SOURCE_PIXEL_MM, region: np.ndarray | None = None) -> Fidelity | None:
    """How far `output` departs from `source` (None: no anatomy to judge).

    2D slices, or 3D volumes with slices on the last axis. `pixel_mm` is the source's in-plane pixel size;
    an output on another in-plane matrix is taken to cover the same field of view (the model grid), is
    degraded on its own grid and then resampled onto the source's. `region` (a mask on the source's grid)
    judges only its part of the head, with a fit of its own: where tissue labels are known, the brain,
    apart from the scalp whose contrast differs between the fields.
    """
    departure = departure_map(source, output, pixel_mm, source_pixel_mm, region)
    return None if departure is None else departure.scores()


def departure_map(source: np.ndarray, output: np.ndarray, pixel_mm: PixelSize,
                  source_pixel_mm: float = SOURCE_PIXEL_MM, region: np.ndarray | None = None) -> Departure | None:
    """Where `output` departs from `source` (None: no anatomy to judge); arguments as for `fidelity`.

    The residual is the degraded output minus its monotone fit from the degraded input; a voxel departs
    where it exceeds DEPARTURE.
    """
    src = np.nan_to_num(np.asarray(source, dtype=np.float64))  # NaN voxels (float NIfTI) count as background
    out = np.nan_to_num(np.asarray(output, dtype=np.float64))
    if src.ndim not in (2, 3) or out.ndim != src.ndim or out.shape[2:] != src.shape[2:]:
        raise ValueError(f"source {src.shape} and output {out.shape} must be 2D slices or volumes with the "
                         "same slices")
    rows_mm, cols_mm = pixel_pair(pixel_mm)
    out_pixel = (rows_mm * src.shape[0] / out.shape[0], cols_mm * src.shape[1] / out.shape[1])
    degraded_out = degrade(out, out_pixel, source_pixel_mm)
    if degraded_out.shape != src.shape:
        degraded_out = resize(degraded_out, src.shape, order=1, anti_aliasing=False, preserve_range=True)
    degraded_src = degrade(src, (rows_mm, cols_mm), source_pixel_mm)
    head = head_mask(degraded_src, acquired_field(src))
    if head is not None and region is not None:
        head = head & np.asarray(region, dtype=bool)
    if head is None or not head.any():
        return None
    x, y = degraded_src[head], degraded_out[head]
    scale = robust_range(y)
    residual = np.zeros_like(degraded_out)
    residual[head] = (y - monotone_fit(x, y)) / scale
    return Departure(residual, head, float(np.sum(((y - y.mean()) / scale) ** 2)))


def robust_range(values: np.ndarray) -> float:
    """The ROBUST_RANGE percentile span of `values`, the unit departures are measured in; for values that
    are flat there, their largest magnitude (at least 1), so a flat image never divides by zero."""
    low, high = np.percentile(values, ROBUST_RANGE)
    return float(high - low) if high > low else max(float(np.abs(values).max()), 1.0)


def monotone_fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The least-squares fit of y by a non-decreasing function of x (1D arrays of the same length), each
    point counted by its positive weight (all equal when None)."""
    order = np.argsort(x, kind="stable")
    fitted = np.empty_like(y)
    fitted[order] = isotonic_regression(y[order], weights=None if weights is None else weights[order]).x
    return fitted


def pixel_pair(pixel_mm: PixelSize) -> tuple[float, float]:
    """A pixel size as (between rows, between columns) in mm; ValueError unless both are positive and finite."""
    values = (float(pixel_mm),) * 2 if np.isscalar(pixel_mm) else tuple(float(v) for v in pixel_mm)
    if len(values) != 2 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"pixel size must be one or two positive millimetre values, got "
                         f"({', '.join(str(v) for v in values)})")
    return values


def _in_plane_structure(ndim: int) -> np.ndarray:
    structure = generate_binary_structure(2, 1)
    return structure if ndim == 2 else structure[..., np.newaxis]


@dataclass(frozen=True)
class VolumeFidelity:
    """The per-slice scores of a volume, summarized over the slices with anatomy."""

    scores: tuple[float | None, ...]  # per slice, None where there is no anatomy

    @property
    def judged(self) -> list[float]:
        return [s for s in self.scores if s is not None]

    @property
    def minimum(self) -> float | None:
        return min(self.judged) if self.judged else None

    @property
    def median(self) -> float | None:
        return float(np.median(self.judged)) if self.judged else None

    def below(self, threshold: float) -> list[int]:
        """Indices (0-based) of the slices scoring under `threshold`."""
        return [i for i, s in enumerate(self.scores) if s is not None and s < threshold]


def dicom_pixel_mm(dataset: Dataset) -> tuple[float, float]:
    """A DICOM slice's PixelSpacing (between rows, between columns); without one, the source's pixel size
    (the node's inputs are 64 mT acquisitions). A malformed one is a ValueError."""
    if "PixelSpacing" not in dataset:
        return SOURCE_PIXEL_MM, SOURCE_PIXEL_MM
    return pixel_pair([float(v) for v in dataset.PixelSpacing])


def slice_scores(sources: Sequence[np.ndarray], outputs: Sequence[np.ndarray],
                 pixel_mm: Sequence[PixelSize]) -> VolumeFidelity:
    """The per-slice fidelity score (R^2) of each source/output pair, each slice with its pixel size."""
    results = (fidelity(s, o, p) for s, o, p in zip(sources, outputs, pixel_mm))
    return VolumeFidelity(tuple(None if r is None else r.r2 for r in results))
