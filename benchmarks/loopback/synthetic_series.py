"""Small simulated MR series built with pydicom, for the DICOM and node tests.

The pixels are a smooth phantom with noise, so the tiny model has real structure to map; the patient
name and ID are distinctive so tests can assert they never reach a log.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

PATIENT_NAME = "Sentinel^Patientname"
PATIENT_ID = "PID-SENTINEL-4711"


def mr_series(slices: int = 3, rows: int = 24, cols: int = 20, description: str = "AX T1 SE",
              seed: int = 0, series_uid: str | None = None) -> list[Dataset]:
    """`slices` MR Image Storage instances of one series, uncompressed, 16-bit unsigned."""
    rng = np.random.default_rng(seed)
    study, series, frame = generate_uid(), series_uid or generate_uid(), generate_uid()
    yy, xx = np.mgrid[0:rows, 0:cols]
    out = []
    for index in range(slices):
        blob = np.exp(-(((yy - rows / 2) / (rows / 3)) ** 2 + ((xx - cols / 2) / (cols / 3)) ** 2))
        image = (800 * blob * (1 + 0.1 * index) + rng.normal(40, 10, (rows, cols))).clip(0, 4095)
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = PATIENT_NAME, PATIENT_ID, "19700101", "O"
        ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime, ds.StudyID = study, "20260101", "120000", "1"
        ds.AccessionNumber, ds.ReferringPhysicianName = "ACC1", ""
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = series, 3, description
        ds.ProtocolName = description
        ds.Modality, ds.Manufacturer, ds.MagneticFieldStrength = "MR", "LowFieldSim", 0.064
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "SE", "NONE", "", "2D"
        ds.RepetitionTime, ds.EchoTime, ds.EchoTrainLength = 500, 12, 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame, ""
        ds.InstanceNumber = index + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-cols / 2, -rows / 2, 5.0 * index]
        ds.PixelSpacing, ds.SliceThickness = [1.5, 1.25], 5
        ds.add_new(0x00291010, "OB", b"private vendor data")
        ds.set_pixel_data(image.astype(np.uint16), "MONOCHROME2", 12, generate_instance_uid=False)
        out.append(ds)
    return out


def write_series(datasets: list[Dataset], folder: Path) -> list[Path]:
    """Each dataset as a DICOM file `<n>.dcm` in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, ds in enumerate(datasets):
        path = folder / f"{index:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def fov_corner(ds: Dataset) -> np.ndarray:
    """Patient coordinates of the outer corner of the first pixel: fixed for a given field of view."""
    orientation = np.array(ds.ImageOrientationPatient, float)
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    return (np.array(ds.ImagePositionPatient, float) - 0.5 * col_spacing * orientation[:3]
            - 0.5 * row_spacing * orientation[3:])
