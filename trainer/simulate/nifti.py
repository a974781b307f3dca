"""Writing NIfTI volumes byte-for-byte reproducibly (nibabel writes gzip with a zero timestamp)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

SCANNER_CODE = 1  # NIfTI xform code "scanner anatomical"


def write_volume(path: Path, data: np.ndarray, affine: np.ndarray, description: str) -> None:
    """Save int16 `data` with `affine` as both qform and sform, millimetres and a short description."""
    image = nib.Nifti1Image(np.asarray(data, dtype=np.int16), affine)
    image.set_qform(affine, code=SCANNER_CODE)
    image.set_sform(affine, code=SCANNER_CODE)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = description.encode("ascii")[:79]
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
