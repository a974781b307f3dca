"""Image-quality metrics, defined once for evaluation, quantization checks and benchmarks.

scikit-image computes every metric it has; the rest are one line of numpy on top of those.
`data_range` is the reference's max - min unless given, so PSNR and SSIM describe the reference's scale.

The medical metrics (the seed's second table) judge one image on its own, except the edge preservation
index, which compares it with a reference. Background, dark and bright tissue come from 3-class multi-Otsu
thresholds, so no hand-drawn ROI is needed; on a volume the 2D texture and sharpness
metrics are averaged over its axial slices (last axis), as a reader looks at them.

The grey/white contrast-to-noise ratio compares an image with its own input (`cnr_gain`) on tissue masks:
simulated labels where there are some, else a 3-class multi-Otsu of the input inside the brain.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.ndimage import binary_erosion, laplace
from scipy.stats import entropy as _entropy
from skimage.feature import graycomatrix, graycoprops
from skimage.filters import threshold_multiotsu
from skimage.metrics import mean_squared_error, normalized_root_mse, peak_signal_noise_ratio, structural_similarity

# The seed's CSV columns, in its order.
IMAGE_METRICS = ("mae", "mse", "rmse", "nrmse", "nmse", "psnr", "ssim", "corr")
MEDICAL_METRICS = ("snr", "cnr", "entropy", "epi", "glcm_contrast", "laplacian_variance")
HISTOGRAM_BINS = 256  # entropy
GLCM_LEVELS = 64  # grey levels the image is quantized to for the co-occurrence matrix
# Which of the 3 multi-Otsu classes of the head (darkest first) are (white, grey) matter, per sequence:
# T1 CSF < GM < WM; T2 WM < GM < CSF; FLAIR (CSF nulled) CSF < WM < GM.
WHITE_GREY_CLASSES = {"T1": (2, 1), "T2": (0, 1), "FLAIR": (1, 2)}
# White matter eroded this many voxels measures the noise: on 1 mm voxels under 5 mm 64 mT slices, fewer
# leave partial-volume voxels in that dominate the spread (input smoothed by sigma 1.5 mm: CNR gain 1.2
# with one voxel, 1.56 with three, 1.62 with four).
NOISE_EROSION = 3


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


def medical_metrics(image: np.ndarray, reference: np.ndarray | None = None) -> dict[str, float]:
    """The seed's medical metrics of a 2D slice or 3D volume (slices on the last axis).

    snr: mean tissue / std background; cnr: |mean bright tissue - mean dark tissue| / std background
    (background, dark and bright tissue by 3-class multi-Otsu; inf on a noise-free background);
    entropy: Shannon entropy in bits of a 256-bin histogram; epi: edge preservation index, the correlation
    of the image's and the reference's Laplacians (NaN without a reference); glcm_contrast: scikit-image's
    GLCM contrast at distance 1 over 4 directions, on 64 grey levels of the image's range;
    laplacian_variance: variance of the 2D Laplacian (a sharpness measure), slice-averaged.
    """
    img = np.nan_to_num(np.asarray(image, dtype=np.float64))
    if img.ndim not in (2, 3):
        raise ValueError(f"expected a 2D slice or 3D volume, got shape {img.shape}")
    tissue_mean, bright_minus_dark, noise = _tissue_statistics(img)
    return {
        "snr": _ratio(tissue_mean, noise),
        "cnr": _ratio(bright_minus_dark, noise),
        "entropy": float(_entropy(np.histogram(img, bins=HISTOGRAM_BINS)[0], base=2)),
        "epi": edge_preservation_index(reference, img) if reference is not None else float("nan"),
        "glcm_contrast": _slice_mean(_glcm_contrast, img, (img.min(), img.max())),
        "laplacian_variance": _slice_mean(lambda s, _: float(np.var(laplace(s))), img, None),
    }


def edge_preservation_index(reference: np.ndarray, test: np.ndarray) -> float:
    """Correlation of the slice-wise Laplacians of reference and test: 1 keeps every edge, 0 none."""
    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(test, dtype=np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"reference {ref.shape} and test {out.shape} differ in shape")
    return _pearson(_laplacians(ref), _laplacians(out))


def _slices(img: np.ndarray) -> list[np.ndarray]:
    return [img] if img.ndim == 2 else [img[..., i] for i in range(img.shape[-1])]


def _laplacians(img: np.ndarray) -> np.ndarray:
    return np.stack([laplace(s) for s in _slices(img)])


def _slice_mean(metric: Callable[[np.ndarray, tuple[float, float] | None], float], img: np.ndarray,
                value_range: tuple[float, float] | None) -> float:
    values = [metric(s, value_range) for s in _slices(img) if s.max() > s.min()]
    return float(np.mean(values)) if values else 0.0


def _glcm_contrast(slice_: np.ndarray, value_range: tuple[float, float]) -> float:
    low, high = value_range
    levels = np.clip(((slice_ - low) / (high - low) * GLCM_LEVELS).astype(int), 0, GLCM_LEVELS - 1)
    glcm = graycomatrix(levels.astype(np.uint8), distances=[1], angles=[0, np.pi / 4, np.pi / 2, 3 * np.pi / 4],
                        levels=GLCM_LEVELS, symmetric=True, normed=True)
    return float(graycoprops(glcm, "contrast").mean())


def _tissue_statistics(img: np.ndarray) -> tuple[float, float, float]:
    """(mean tissue, bright - dark tissue mean, background std) from a 3-class multi-Otsu split."""
    try:
        background_top, dark_top = threshold_multiotsu(img, classes=3)
    except ValueError:  # fewer than three distinct values: no background / dark / bright split
        return float("nan"), float("nan"), float("nan")
    background, tissue = img[img <= background_top], img[img > background_top]
    dark, bright = tissue[tissue <= dark_top], tissue[tissue > dark_top]
    contrast = abs(float(bright.mean()) - float(dark.mean())) if bright.size and dark.size else float("nan")
    return float(tissue.mean()), contrast, float(background.std())


def _ratio(signal: float, noise: float) -> float:
    if np.isnan(signal) or np.isnan(noise):
        return float("nan")
    return float(signal / noise) if noise > 0 else float("inf")


def grey_white_cnr(image: np.ndarray, white: np.ndarray, grey: np.ndarray) -> float:
    """|mean white - mean grey| / noise; the noise is the standard deviation inside the white matter
    eroded by NOISE_EROSION voxels (away from partial volume), so it counts everything that keeps white
    matter from being flat: noise, shading, texture. NaN when a mask is empty after erosion."""
    img = np.asarray(image, dtype=np.float64)
    core = binary_erosion(white, iterations=NOISE_EROSION)
    if not core.any() or not grey.any():
        return float("nan")
    return _ratio(abs(float(img[white].mean()) - float(img[grey].mean())), float(img[core].std()))


def cnr_gain(source: np.ndarray, output: np.ndarray, white: np.ndarray, grey: np.ndarray) -> float:
    """Grey/white CNR of `output` over that of its `source`, on the same masks (1.0: no gain)."""
    return grey_white_cnr(output, white, grey) / grey_white_cnr(source, white, grey)


def relative_contrast(image: np.ndarray, region: np.ndarray, background: np.ndarray) -> float:
    """(mean over `region` - mean over `background`) / mean over `background`: a contrast with no unit, so an
    output, its input and the 3 T reference compare on their own scales. NaN if a mask is empty."""
    img = np.asarray(image, dtype=np.float64)
    if not region.any() or not background.any():
        return float("nan")
    base = float(img[background].mean())
    return _ratio(float(img[region].mean()) - base, base)


def lesion_contrast(image: np.ndarray, lesion: np.ndarray, white: np.ndarray) -> float:
    """How far lesions stand out from the white matter they sit in. Compared between an output, its input and
    the 3 T reference, it tells a model that fades pathology (the failure a faithfulness score over the whole
    brain averages away)."""
    return relative_contrast(image, lesion, white)


def white_grey_masks(image: np.ndarray, brain: np.ndarray, sequence: str) -> tuple[np.ndarray, np.ndarray]:
    """(white, grey) matter of an image without labels: a 3-class multi-Otsu of its `brain` voxels, the
    classes named by WHITE_GREY_CLASSES[sequence]. `brain` must leave out the scalp: on a T1 its fat is
    brighter than white matter and would take the top class."""
    if sequence not in WHITE_GREY_CLASSES:
        raise ValueError(f"unknown sequence {sequence!r}; expected one of {', '.join(WHITE_GREY_CLASSES)}")
    img = np.asarray(image, dtype=np.float64)
    classes = np.digitize(img, threshold_multiotsu(img[brain], classes=3))
    white, grey = WHITE_GREY_CLASSES[sequence]
    return brain & (classes == white), brain & (classes == grey)
