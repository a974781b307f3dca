"""The native 64 mT acquisition as the scanner sends it: one MR Image Storage instance per slice.

Geometry comes from the 64 mT affine (NIfTI RAS+ converted to DICOM LPS+ by negating x and y), so
ImagePositionPatient, ImageOrientationPatient, PixelSpacing and the slice spacing give back exactly that
affine, and each instance's pixel array is the NIfTI slice `native[:, :, k]`. Patient identity is
synthetic. UIDs come from pydicom's generate_uid with the seed, subject and series as entropy, and every
date is fixed, so the same seed writes identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage, generate_uid

from lohires_edge.dicom.derive import file_meta_for
from trainer.simulate.protocols import LOW_FIELD_T, Protocol

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
GYROMAGNETIC_MHZ_PER_T = 42.577
STUDY_DATE = "20240101"  # fixed: reproducible files, and obviously not an acquisition date
SERIES_NUMBERS = {"T1": 1, "T2": 2, "FLAIR": 3}


def write_series(folder: Path, native: np.ndarray, affine: np.ndarray, protocol: Protocol, subject: str,
                 seed: int) -> list[Path]:
    """Write `native` (uint16, rows x cols x slices) as one series in `folder`; returns the files in order.

    Instance files of an earlier run into the same folder that this one does not overwrite (it drew fewer
    slices) are removed: they carry the same series UID and would join the series.
    """
    if native.dtype != np.uint16:
        raise ValueError(f"stored values must be uint16, got {native.dtype}")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("[0-9][0-9][0-9][0-9].dcm"):
        if int(stale.stem) > native.shape[2]:
            stale.unlink()
    description = f"{protocol.sequence} AX 64mT"
    study_uid = _uid(seed, subject, "study")
    series_uid = _uid(seed, subject, protocol.sequence, "series")
    frame_uid = _uid(seed, subject, "frame-of-reference")
    lps = RAS_TO_LPS @ affine[:3, :3]
    row_spacing, col_spacing = np.linalg.norm(lps[:, 0]), np.linalg.norm(lps[:, 1])
    slice_spacing = float(np.linalg.norm(lps[:, 2]))
    # DICOM row direction cosine = direction of increasing column index; column cosine = increasing row.
    orientation = [*(lps[:, 1] / col_spacing), *(lps[:, 0] / row_spacing)]
    paths = []
    for k in range(native.shape[2]):
        position = RAS_TO_LPS @ (affine @ np.array([0.0, 0.0, k, 1.0]))[:3]
        ds = _base_dataset(subject, protocol)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study_uid, series_uid, frame_uid
        ds.SOPInstanceUID = _uid(seed, subject, protocol.sequence, "instance", str(k))
        ds.SeriesDescription = ds.ProtocolName = description
        ds.SeriesNumber = SERIES_NUMBERS.get(protocol.sequence, 99)
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [_ds(v) for v in position]
        ds.ImageOrientationPatient = [_ds(v) for v in orientation]
        ds.PixelSpacing = [_ds(row_spacing), _ds(col_spacing)]
        ds.SliceThickness = ds.SpacingBetweenSlices = _ds(slice_spacing)
        ds.SliceLocation = _ds(position[2])
        ds.AcquisitionMatrix = [0, native.shape[1], native.shape[0], 0]
        pixels = np.ascontiguousarray(native[:, :, k])
        ds.set_pixel_data(pixels, "MONOCHROME2", 16, generate_instance_uid=False)
        ds.WindowCenter, ds.WindowWidth = _window(native)
        ds.file_meta = file_meta_for(ds)
        path = folder / f"{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _base_dataset(subject: str, protocol: Protocol) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.Modality = "MR"
    ds.PatientName = f"SIMULATED^{subject}"
    ds.PatientID = f"SIM-{subject}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = STUDY_DATE
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "120000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "lohires-edge simulated portable head MRI"
    ds.Manufacturer = "lohires-edge simulator"
    ds.ManufacturerModelName = "MNI ICBM152 anatomy, randomized 64 mT"
    ds.BodyPartExamined = "HEAD"
    ds.PatientPosition = "HFS"
    ds.PositionReferenceIndicator = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.ScanningSequence = "IR\\SE" if protocol.kind == "IR" else "SE"
    ds.SequenceVariant = "SK"
    ds.ScanOptions = "FSE" if protocol.echo_train_length > 1 else ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = _ds(protocol.tr_ms)
    ds.EchoTime = _ds(protocol.te_ms)
    if protocol.ti_ms is not None:
        ds.InversionTime = _ds(protocol.ti_ms)
    ds.EchoTrainLength = protocol.echo_train_length
    ds.NumberOfAverages = 1
    ds.MagneticFieldStrength = _ds(LOW_FIELD_T)
    ds.ImagingFrequency = _ds(GYROMAGNETIC_MHZ_PER_T * LOW_FIELD_T)
    ds.ImagedNucleus = "1H"
    return ds


def _uid(seed: int, *parts: str) -> str:
    return generate_uid(entropy_srcs=["lohires-edge-simulator", str(seed), *parts])


def _ds(value: float) -> str:
    """A Decimal String of at most 16 characters that keeps micrometre precision."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _window(native: np.ndarray) -> tuple[str, str]:
    low, high = np.percentile(native, [1, 99.5])
    return _ds(round((low + high) / 2)), _ds(max(1, round(high - low)))
