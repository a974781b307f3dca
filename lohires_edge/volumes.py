"""Input volumes for the edge: a NIfTI file, a folder of NIfTI files, or a folder holding one DICOM series.

A NIfTI volume is sliced along the voxel axis in the model's plane, chosen from its affine
(`slice_geometry.volume_slicing`, the trainer's own rule). DICOM instances are read with pydicom, decoded by
`read_mr_slice` and placed by `read_slice_geometry`, the node's own readers, so `enhance` accepts exactly what
the node accepts. File names come from the file system, never from dataset values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import MRImageStorage

from lohires_edge.dataset_layout import LOW_FIELD_DIR
from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.dicom.geometry import read_slice_geometry
from lohires_edge.errors import LohiresError
from lohires_edge.slice_geometry import SliceGeometry, volume_slicing
from lohires_edge.slice_mapping import SliceImage, volume_slices

NIFTI_SUFFIXES = (".nii", ".nii.gz")


class VolumeError(LohiresError):
    """An input that is not a readable NIfTI volume or DICOM series."""


def is_nifti(path: Path) -> bool:
    return Path(path).name.lower().endswith(NIFTI_SUFFIXES)


def load_nifti(path: Path) -> nib.spatialimages.SpatialImage:
    """A 2D or 3D NIfTI image (a 4D one with a single volume counts as 3D)."""
    try:
        image = nib.load(str(path))
    except Exception as exc:  # nibabel raises ImageFileError, EOFError, zlib errors for broken files
        raise VolumeError(f"{path} is not a readable NIfTI file ({type(exc).__name__}: {exc})") from None
    shape = image.shape
    if len(shape) == 4 and shape[3] == 1:
        image = image.slicer[..., 0]
    if len(image.shape) not in (2, 3):
        raise VolumeError(f"{path} has shape {shape}; only single 2D or 3D volumes can be enhanced "
                          "(split a time series into volumes first)")
    return image


def volume_array(image: nib.spatialimages.SpatialImage) -> np.ndarray:
    """The voxel values as stored (the file's dtype) when unscaled, as floats when the header scales them."""
    data = np.asanyarray(image.dataobj)
    return data[..., np.newaxis] if data.ndim == 2 else data


def nifti_slices(image: nib.spatialimages.SpatialImage, model: SliceGeometry | None) -> list[SliceImage]:
    """The slices of a NIfTI image in the model's plane, each with its geometry from the affine."""
    return volume_slices(volume_array(image), volume_slicing(image.affine, model))


@dataclass(frozen=True)
class DicomSlice:
    path: Path
    dataset: Dataset
    image: SliceImage  # stored values (as read_mr_slice returns them) and their geometry

    @property
    def pixels(self) -> np.ndarray:
        return self.image.pixels


def read_dicom_series(folder: Path) -> list[DicomSlice]:
    """Every DICOM file under `folder`, which must hold exactly one series, in slice order."""
    folder = Path(folder)
    datasets: list[tuple[Path, Dataset]] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            continue  # README files, thumbnails and the like beside the series
        except Exception as exc:  # pydicom raises many types for truncated or corrupt files
            raise VolumeError(f"{path.relative_to(folder)} is not a readable DICOM file ({type(exc).__name__}: "
                              f"{exc}); remove or replace it") from None
        if "PixelData" in ds or ds.get("SOPClassUID") == MRImageStorage:  # an MR file without pixels is broken
            datasets.append((path, ds))
    if not datasets:
        raise VolumeError(f"{folder} holds no DICOM images; give a NIfTI file or a folder with one DICOM series")
    series = {str(ds.get("SeriesInstanceUID", "")) for _, ds in datasets}
    if len(series) != 1:
        raise VolumeError(f"{folder} holds {len(series)} DICOM series; give a folder with exactly one series")
    datasets.sort(key=lambda item: _slice_order(*item))
    slices = []
    for path, ds in datasets:
        try:
            slices.append(DicomSlice(path, ds, SliceImage(read_mr_slice(ds), read_slice_geometry(ds))))
        except LohiresError as exc:
            raise VolumeError(f"{path.relative_to(folder)}: {exc}") from None
    return slices


def _slice_order(path: Path, ds: Dataset) -> tuple[float, float]:
    """Position along the slice normal when the geometry is there, then the instance number."""
    position = 0.0
    try:
        if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
            orientation = np.asarray([float(v) for v in ds.ImageOrientationPatient])
            normal = np.cross(orientation[:3], orientation[3:])
            position = float(np.dot(normal, [float(v) for v in ds.ImagePositionPatient]))
        return position, float(ds.get("InstanceNumber") or 0)
    except (ValueError, TypeError, IndexError) as exc:
        raise VolumeError(f"{path.name} has malformed ImagePositionPatient/ImageOrientationPatient/InstanceNumber "
                          f"({exc}); fix or remove that file") from None


def sample_slices(source: Path, count: int, holdout: int = 0, seed: int = 0, sequence: str | None = None,
                  model: SliceGeometry | None = None) -> tuple[list[SliceImage], list[SliceImage]]:
    """`count` calibration slices and `holdout` other slices, drawn at random (fixed seed) from `source`.

    `source` is a NIfTI file, a folder of NIfTI files (its Low_field/ subfolder when it has one; only the
    `*_<sequence>.nii[.gz]` files when there are such), or a folder holding one DICOM series. NIfTI volumes
    are sliced in the plane of `model` (the model's geometry; None: along the third axis). Constant slices
    (empty background) carry no information and are skipped.
    """
    slices = [s for s in _all_slices(Path(source), sequence, model) if np.ptp(s.pixels) > 0]
    wanted = count + holdout
    if len(slices) < wanted:
        raise VolumeError(f"{source} has {len(slices)} usable slices, {count} for calibration + {holdout} held out "
                          "are needed; give more data or ask for fewer slices")
    order = np.random.default_rng(seed).permutation(len(slices))
    chosen = [slices[i] for i in order[:wanted]]
    return chosen[:count], chosen[count:]


def _all_slices(source: Path, sequence: str | None, model: SliceGeometry | None) -> list[SliceImage]:
    if source.is_file():
        return nifti_slices(load_nifti(source), model)
    if not source.is_dir():
        raise VolumeError(f"{source} does not exist; give a NIfTI file or a folder")
    folder = source / LOW_FIELD_DIR if (source / LOW_FIELD_DIR).is_dir() else source
    files = sorted(p for p in folder.rglob("*") if p.is_file() and is_nifti(p))
    of_sequence = [p for p in files if sequence and p.name.split(".")[0].endswith(f"_{sequence}")]
    files = of_sequence or files
    if files:
        return [s for path in files for s in nifti_slices(load_nifti(path), model)]
    return [s.image for s in read_dicom_series(folder)]
