"""derive_instance: every rule of the derived (enhanced) instance, checked on a written and re-read file."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage

from benchmarks.loopback.synthetic_series import fov_corner, mr_series
from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.dicom.derive import RESEARCH_CAUTION, SERIES_NUMBER_OFFSET, derive_instance
from lohires_edge.dicom.uids import InvalidUID
from tests.conftest import tiny_contract


def _roundtrip(ds):
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    buffer.seek(0)
    return dcmread(buffer)


def _enhanced(source, offset=7):
    return read_mr_slice(source) + np.uint16(offset)  # what the slice mapping returns: the source dtype


def test_derived_instance_follows_the_rules():
    series = mr_series(3)
    contract = tiny_contract()
    derived = [_roundtrip(derive_instance(s, _enhanced(s), contract)) for s in series]
    for source, out in zip(series, derived):
        assert out.SOPClassUID == MRImageStorage and out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
        assert out.SOPInstanceUID != source.SOPInstanceUID and out.SOPInstanceUID.is_valid
        assert out.SeriesInstanceUID != source.SeriesInstanceUID
        for keyword in ("PatientName", "PatientID", "PatientBirthDate", "StudyInstanceUID", "StudyDate",
                        "AccessionNumber", "FrameOfReferenceUID", "InstanceNumber", "ImageOrientationPatient",
                        "ImagePositionPatient", "PixelSpacing", "SliceThickness", "EchoTime"):
            assert out[keyword].value == source[keyword].value, keyword
        assert list(out.ImageType) == ["DERIVED", "SECONDARY", "M"]
        assert out.SeriesDescription == "AX T1 SE LoHiRes"
        assert out.SeriesNumber == source.SeriesNumber + SERIES_NUMBER_OFFSET
        assert "tiny 0.0.1" in out.DerivationDescription
        assert out.ImageComments == RESEARCH_CAUTION
        (ref,) = out.SourceImageSequence
        assert (ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID) == (source.SOPClassUID, source.SOPInstanceUID)
        (equipment,) = out.ContributingEquipmentSequence
        assert equipment.ContributionDescription.endswith(contract.model_id)
        assert equipment.PurposeOfReferenceCodeSequence[0].CodeValue == "109102"
        assert not any(element.tag.is_private for element in out)
        assert (out.BitsAllocated, out.BitsStored, out.PixelRepresentation) == (16, 16, 0)
        np.testing.assert_array_equal(out.pixel_array, _enhanced(source))
        assert out.pixel_array.min() <= float(out.WindowCenter) <= out.pixel_array.max()
        assert float(out.WindowWidth) >= 1
    assert len({d.SeriesInstanceUID for d in derived}) == 1
    assert len({d.SOPInstanceUID for d in derived}) == 3


def test_uids_are_deterministic_per_source_and_model():
    (source,) = mr_series(1)
    again = derive_instance(source, _enhanced(source, 3), tiny_contract())
    first = derive_instance(source, _enhanced(source), tiny_contract())
    other_model = derive_instance(source, _enhanced(source), tiny_contract("T2"))
    assert (again.SOPInstanceUID, again.SeriesInstanceUID) == (first.SOPInstanceUID, first.SeriesInstanceUID)
    assert other_model.SOPInstanceUID != first.SOPInstanceUID
    assert other_model.SeriesInstanceUID != first.SeriesInstanceUID


def test_signed_and_8_bit_sources_become_16_bit_with_their_sign():
    (source,) = mr_series(1)
    signed = derive_instance(source, read_mr_slice(source).astype(np.int16) - 100, tiny_contract())
    assert signed.PixelRepresentation == 1 and signed.pixel_array.min() < 0
    eight = derive_instance(source, (read_mr_slice(source) // 16).astype(np.uint8), tiny_contract())
    assert (eight.BitsAllocated, eight.pixel_array.dtype) == (16, np.uint16)


def test_a_different_matrix_keeps_the_field_of_view():
    (source,) = mr_series(1, rows=24, cols=20)
    out = derive_instance(source, np.zeros((48, 30), np.uint16), tiny_contract())
    assert (out.Rows, out.Columns) == (48, 30)
    assert [float(v) for v in out.PixelSpacing] == pytest.approx([1.5 * 24 / 48, 1.25 * 20 / 30])

    np.testing.assert_allclose(fov_corner(out), fov_corner(source), atol=1e-6)
    assert list(out.ImageOrientationPatient) == list(source.ImageOrientationPatient)


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # pydicom warns as the test sets it
def test_invalid_source_uid_is_a_clear_error():
    (source,) = mr_series(1)
    source.SOPInstanceUID = "../../etc/passwd"
    with pytest.raises(InvalidUID, match="SOPInstanceUID '../../etc/passwd' is not a valid DICOM UID"):
        derive_instance(source, read_mr_slice(source), tiny_contract())


def test_source_is_left_untouched():
    (source,) = mr_series(1)
    before = source.to_json_dict()
    derive_instance(source, _enhanced(source), tiny_contract())
    assert source.to_json_dict() == before


def test_single_valued_image_type_is_not_split_into_letters():
    (source,) = mr_series(1)
    source.ImageType = "ORIGINAL"  # pydicom hands a single value back as a str
    out = derive_instance(source, _enhanced(source), tiny_contract())
    assert list(out.ImageType) == ["DERIVED", "SECONDARY"]


def test_a_big_endian_source_derives_the_same_instance_as_its_little_endian_twin():
    # pydicom ships the same MR slice in both encodings (same UIDs, same values)
    big, little = (dcmread(get_testdata_file(name)) for name in ("MR_small_bigendian.dcm", "MR_small.dcm"))
    assert big.original_encoding == (False, False)
    from_big, from_little = (_roundtrip(derive_instance(s, _enhanced(s), tiny_contract()))
                             for s in (big, little))
    assert from_big.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    np.testing.assert_array_equal(from_big.pixel_array, _enhanced(little))
    for element in from_little:
        if element.keyword not in ("DataSetTrailingPadding", "ContentTime", "InstanceCreationTime"):
            assert from_big[element.tag] == element, element.keyword


def test_content_date_and_time_are_when_the_derived_pixels_were_made():
    (source,) = mr_series(1)
    source.ContentDate, source.ContentTime = "20000101", "080000"
    before = datetime.now().replace(microsecond=0)
    out = _roundtrip(derive_instance(source, _enhanced(source), tiny_contract()))
    after = datetime.now()
    made = datetime.strptime(out.ContentDate + out.ContentTime, "%Y%m%d%H%M%S")
    assert before <= made <= after
    assert (out.InstanceCreationDate, out.InstanceCreationTime) == (out.ContentDate, out.ContentTime)


def test_overlay_planes_are_redrawn_on_the_derived_matrix():
    source = dcmread(get_testdata_file("examples_overlay.dcm"))  # 300 x 484, a marked lesion in 6000
    marks = source.overlay_array(0x6000).astype(bool)
    out = _roundtrip(derive_instance(source, np.zeros((119, 192), np.uint16), tiny_contract()))
    assert (out[0x60000010].value, out[0x60000011].value, list(out[0x60000050].value)) == (119, 192, [1, 1])
    derived_marks = out.overlay_array(0x6000).astype(bool)
    assert derived_marks.shape == (119, 192)
    # every marked source pixel lies in a marked derived pixel (same field of view, scaled)
    rows, cols = np.nonzero(marks)
    assert derived_marks[((rows + 0.5) * 119 / 300).astype(int), ((cols + 0.5) * 192 / 484).astype(int)].all()
    # and nothing is marked away from the source marks: bounding boxes agree to within one derived pixel
    derived_rows, derived_cols = np.nonzero(derived_marks)
    for source_index, derived_index, size, new_size in ((rows, derived_rows, 300, 119),
                                                        (cols, derived_cols, 484, 192)):
        for pick in (np.min, np.max):
            source_at, derived_at = (pick(source_index) + 0.5) / size, (pick(derived_index) + 0.5) / new_size
            assert abs(source_at - derived_at) <= 1 / new_size


def test_an_overlay_embedded_in_the_pixel_data_is_dropped(caplog):
    (source,) = mr_series(1)
    source.add_new(0x60000010, "US", source.Rows)
    source.add_new(0x60000011, "US", source.Columns)
    source.add_new(0x60000100, "US", 16)
    source.add_new(0x60000102, "US", 15)  # the bit of each stored value that carries the overlay
    out = derive_instance(source, _enhanced(source), tiny_contract())
    assert not any(tag.group == 0x6000 for tag in out.keys())
    assert "event=overlay_dropped group=0x6000" in caplog.text
