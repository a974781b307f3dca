"""Read the stored pixel values of one single-frame MR slice, refusing anything else with a clear reason.

Pixel decoding is pydicom's (its handlers cover the uncompressed, RLE, JPEG, JPEG-LS and JPEG 2000
transfer syntaxes with pylibjpeg installed); this module only decides what the node accepts.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import EnhancedMRImageStorage, MRImageStorage

from lohires_edge.errors import LohiresError

MAX_MATRIX = 4096  # no MR matrix comes near this; larger values are corrupt headers
BITS_ALLOCATED = (8, 16)
PHOTOMETRIC = ("MONOCHROME1", "MONOCHROME2")


class DecodeError(LohiresError):
    """A dataset that is not a single-frame MR image the node can enhance."""


def read_mr_slice(ds: Dataset) -> np.ndarray:
    """The 2D array of stored values (no rescale applied) of a single-frame MR Image Storage instance."""
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class == EnhancedMRImageStorage:
        raise DecodeError("Enhanced MR (multi-frame) instances are not supported; send the series as "
                          "MR Image Storage (one instance per slice) from the scanner console")
    if sop_class != MRImageStorage:
        raise DecodeError(f"SOP class {sop_class or 'missing'} is not MR Image Storage ({MRImageStorage}); "
                          "only single-frame MR slices can be enhanced")
    if "PixelData" not in ds:
        raise DecodeError("the MR instance has no pixel data")
    frames = _int(ds, "NumberOfFrames", default=1)
    if frames != 1:
        raise DecodeError(f"the MR instance has {frames} frames; only single-frame slices are supported")
    rows, cols = _int(ds, "Rows"), _int(ds, "Columns")
    if not (1 <= rows <= MAX_MATRIX and 1 <= cols <= MAX_MATRIX):
        raise DecodeError(f"image matrix {rows}x{cols} is outside 1..{MAX_MATRIX}")
    bits = _int(ds, "BitsAllocated")
    if bits not in BITS_ALLOCATED:
        raise DecodeError(f"BitsAllocated {bits} is not supported (expected 8 or 16)")
    samples = _int(ds, "SamplesPerPixel", default=1)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if samples != 1 or photometric not in PHOTOMETRIC:
        raise DecodeError(f"a {photometric or 'unknown'} image with {samples} samples per pixel is not a "
                          "grayscale MR slice")
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # pydicom raises many types for truncated or undecodable pixel data
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "unknown transfer syntax")
        raise DecodeError(f"the pixel data cannot be decoded ({syntax}): {type(exc).__name__}: {exc}") from None
    if pixels.shape != (rows, cols):
        raise DecodeError(f"decoded pixel data has shape {pixels.shape}, the header says {rows}x{cols}")
    return pixels


def _int(ds: Dataset, keyword: str, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    if value is None:
        raise DecodeError(f"the MR instance has no {keyword}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DecodeError(f"{keyword} {value!r} is not a number") from None
