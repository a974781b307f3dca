"""A DICOM series of any length built from a simulated one: copies with fresh UIDs.

The simulator writes one 64 mT series per subject and sequence (as many slices as the acquisition
has). A longer series for the round trip is made by cycling through the source slices and giving every
copy a fresh SOP Instance UID (pydicom.uid.generate_uid), one new Series Instance UID for the whole
series and consecutive Instance Numbers. Pixels and every other attribute are the source slice's, so
each copy costs the node exactly what the source slice costs. File names are counters, never values
from the dataset.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from lohires_edge.errors import LohiresError


def source_slices(folder: Path) -> list[Path]:
    """The DICOM files of a simulated series folder, in name order; a LohiresError if there are none."""
    files = sorted(p for p in Path(folder).glob("*.dcm")) if Path(folder).is_dir() else []
    if not files:
        raise LohiresError(f"{folder} holds no .dcm files; give a folder with one simulated DICOM series")
    return files


def write_series(sources: list[Path], count: int, out: Path) -> list[Path]:
    """`count` slices cycled from `sources`, with fresh UIDs, written to `out` (created); returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    datasets = [pydicom.dcmread(p) for p in sources]
    series_uid = generate_uid()
    written = []
    for index in range(count):
        ds = copy.deepcopy(datasets[index % len(datasets)])
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.SeriesInstanceUID = series_uid
        ds.InstanceNumber = index + 1
        path = out / f"{index + 1:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written.append(path)
    return written
