"""read_mr_slice: the stored values of single-frame MR slices, and a clear refusal of anything else."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pydicom.pixels import get_encoder
from pydicom.uid import (CTImageStorage, EnhancedMRImageStorage, JPEG2000Lossless,
                         RLELossless)

from benchmarks.loopback.synthetic_series import mr_series
from lohires_edge.dicom.decode import DecodeError, read_mr_slice
from lohires_edge.errors import LohiresError


def test_reads_the_stored_values():
    (ds,) = mr_series(1)
    expected = np.frombuffer(ds.PixelData, dtype="<u2").reshape(ds.Rows, ds.Columns)
    np.testing.assert_array_equal(read_mr_slice(ds), expected)


@pytest.mark.parametrize("syntax", [RLELossless, JPEG2000Lossless])
def test_lossless_compressed_syntaxes_decode_to_the_same_values(syntax):
    if not get_encoder(syntax).is_available:
        pytest.skip(f"no pydicom encoder for {syntax.name} here to make the test input")
    (ds,) = mr_series(1, rows=64, cols=64)  # JPEG 2000's default resolution levels need >= 32 pixels
    original = read_mr_slice(ds).copy()
    ds.compress(syntax, generate_instance_uid=False)
    assert ds.file_meta.TransferSyntaxUID == syntax
    np.testing.assert_array_equal(read_mr_slice(ds), original)


def _broken(change):
    (ds,) = mr_series(1)
    change(ds)
    return ds


@pytest.mark.parametrize("change, message", [
    (lambda ds: setattr(ds, "SOPClassUID", EnhancedMRImageStorage), r"Enhanced MR \(multi-frame\)"),
    (lambda ds: setattr(ds, "SOPClassUID", CTImageStorage), "is not MR Image Storage"),
    (lambda ds: delattr(ds, "PixelData"), "no pixel data"),
    (lambda ds: setattr(ds, "NumberOfFrames", 4), "4 frames"),
    (lambda ds: setattr(ds, "Rows", 0), "outside 1..4096"),
    (lambda ds: setattr(ds, "BitsAllocated", 32), "BitsAllocated 32"),
    (lambda ds: setattr(ds, "PhotometricInterpretation", "RGB"), "not a grayscale MR slice"),
    (lambda ds: setattr(ds, "PixelData", ds.PixelData[:100]), "cannot be decoded"),
    (lambda ds: delattr(ds, "Columns"), "no Columns"),
])
def test_refuses_what_it_cannot_enhance_with_a_clear_error(change, message):
    with pytest.raises(DecodeError, match=message) as info:
        read_mr_slice(_broken(change))
    assert isinstance(info.value, LohiresError)
    assert "\n" not in str(info.value)


def test_source_dataset_is_not_modified():
    (ds,) = mr_series(1)
    before = copy.deepcopy(ds)
    read_mr_slice(ds)
    assert ds == before
