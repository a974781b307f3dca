"""Enhance a whole input: a NIfTI volume into a NIfTI volume, or a DICOM series folder into a derived series.

Both go slice by slice through `enhance_slices` (the slice mapping around the backend, in batches) and
report per-slice latency and each slice's fidelity to its input (`lohires_edge.fidelity`). Each input is
one intensity scale: its slices share one percentile window, taken over the whole volume or series, so a
reformat shows no steps between slices. The NIfTI output keeps the input's affine and header (the source
grid); the DICOM output keeps the model grid (the same field of view at the model's pixel size, in the
source's row/column orientation) and is built instance by instance by `derive_instance`, exactly as the
node builds it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import nibabel as nib
import numpy as np

from lohires_edge.atomic_file import atomic_path
from lohires_edge.backends.base import Backend
from lohires_edge.dicom.derive import derive_instance, fidelity_comment
from lohires_edge.errors import LohiresError
from lohires_edge.fidelity import VolumeFidelity, dicom_pixel_mm, fidelity, slice_scores
from lohires_edge.inference import enhance_slices, enhance_volume
from lohires_edge.slice_geometry import check_plane, volume_slicing
from lohires_edge.slice_mapping import intensity_window
from lohires_edge.volumes import is_nifti, load_nifti, read_dicom_series, volume_array

Progress = Callable[[int, int], None]  # (slices done, slices in all), called at the start and after each batch


@dataclass(frozen=True)
class EnhanceReport:
    slices: int
    seconds: float  # model and slice mapping only, not reading or writing files
    fidelity: VolumeFidelity  # each output slice against its input slice

    @property
    def ms_per_slice(self) -> float:
        return 1000.0 * self.seconds / self.slices if self.slices else 0.0


def enhance_path(backend: Backend, source: Path, output: Path, batch_size: int = 8,
                 progress: Progress | None = None) -> EnhanceReport:
    """Enhance a NIfTI file into a NIfTI file, or a DICOM series folder into a folder."""
    source, output = Path(source), Path(output)
    if source.is_file():
        if not is_nifti(source):
            raise LohiresError(f"{source} is not a NIfTI file (.nii or .nii.gz); give a NIfTI file or a folder "
                               "with one DICOM series")
        return enhance_nifti(backend, source, output, batch_size, progress)
    return enhance_dicom_series(backend, source, output, batch_size, progress)


def enhance_nifti(backend: Backend, source: Path, output: Path, batch_size: int = 8,
                  progress: Progress | None = None) -> EnhanceReport:
    if not is_nifti(output):
        raise LohiresError(f"output {output} must be a NIfTI file name (.nii or .nii.gz) for a NIfTI input")
    image = load_nifti(source)
    data = volume_array(image)
    axis = volume_slicing(image.affine, backend.contract.mapping.geometry).axis
    count = data.shape[axis]
    volume, seconds = _timed(
        lambda on_batch: enhance_volume(backend, data, image.affine, batch_size, on_batch), count, progress)
    volume = volume.reshape(data.shape)
    in_plane = [float(z) for a, z in enumerate(image.header.get_zooms()[:3]) if a != axis][:2]
    try:
        scores = slice_scores([np.take(data, k, axis=axis) for k in range(count)],
                              [np.take(volume, k, axis=axis) for k in range(count)], [in_plane] * count)
    except ValueError as exc:  # a header with NaN or infinite voxel sizes
        raise LohiresError(f"{source}: {exc}; fix the voxel sizes (pixdim) in its header") from None
    result = image.__class__(volume.reshape(image.shape), image.affine, image.header)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output, suffix="".join(output.suffixes[-2:])) as tmp:
        nib.save(result, tmp)
    return EnhanceReport(count, seconds, scores)


def enhance_dicom_series(backend: Backend, source: Path, output: Path, batch_size: int = 8,
                         progress: Progress | None = None) -> EnhanceReport:
    """Every instance of the series becomes a derived instance in `output`, under its source file's name."""
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise LohiresError(f"output {output} exists and is not an empty folder; give a new folder for the "
                           "derived series")
    series = read_dicom_series(source)
    model = backend.contract.mapping.geometry
    for item in series if model is not None else []:  # refuse before any work (and progress bar) starts
        check_plane(item.image.geometry, model)
    window = intensity_window(np.concatenate([s.pixels.ravel() for s in series]), backend.contract.mapping)
    enhanced, seconds = _timed(lambda on_batch: enhance_slices(backend, [s.image for s in series], batch_size,
                                                               on_batch, grid="model", window=window),
                               len(series), progress)
    output.mkdir(parents=True, exist_ok=True)
    scores: list[float | None] = []
    for item, pixels in zip(series, enhanced):
        target = output / item.path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            judged = fidelity(item.pixels, pixels, dicom_pixel_mm(item.dataset))
            scores.append(None if judged is None else judged.r2)
            derived = derive_instance(item.dataset, pixels, backend.contract, fidelity_comment(scores[-1]))
        except (ValueError, TypeError) as exc:  # e.g. a PixelSpacing with one value instead of two
            raise LohiresError(f"{item.path.name}: cannot build the derived instance ({exc}); fix or remove "
                               "that file") from None
        with atomic_path(target, suffix=".dcm.part") as tmp:  # whole instances only, as for NIfTI
            derived.save_as(tmp, enforce_file_format=True)
    return EnhanceReport(len(enhanced), seconds, VolumeFidelity(tuple(scores)))


Result = TypeVar("Result")


def _timed(enhance: Callable[[Callable[[int], None]], Result], total: int,
           progress: Progress | None) -> tuple[Result, float]:
    """Run `enhance(on_batch)`, reporting progress over `total` slices; return its result and the seconds."""
    done = 0

    def on_batch(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    started = time.perf_counter()
    result = enhance(on_batch)
    return result, time.perf_counter() - started
