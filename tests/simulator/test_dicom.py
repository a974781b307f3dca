"""The scanner series: headers, geometry that round-trips to the affines, and what the node reads."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.uid import MRImageStorage
from scipy.ndimage import affine_transform, gaussian_filter

from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.slice_mapping import MappingParams, to_model
from trainer.simulate import SMALL, acquisition, dicom_series
from trainer.simulate.protocols import LOW_FIELD_T, protocol

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def read_series(folder):
    datasets = [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]
    return sorted(datasets, key=lambda ds: int(ds.InstanceNumber))


def affine_from_dicom(datasets) -> np.ndarray:
    """The standard DICOM -> voxel-to-RAS affine for a stack of slices (array axes: row, column, slice)."""
    first, last = datasets[0], datasets[-1]
    orientation = np.array(first.ImageOrientationPatient, dtype=float)
    row_cosine, col_cosine = orientation[:3], orientation[3:]  # along a row (columns), along a column (rows)
    row_spacing, col_spacing = (float(v) for v in first.PixelSpacing)
    step = (np.array(last.ImagePositionPatient, float) - np.array(first.ImagePositionPatient, float))
    step /= max(len(datasets) - 1, 1)
    lps = np.eye(4)
    lps[:3, 0] = col_cosine * row_spacing
    lps[:3, 1] = row_cosine * col_spacing
    lps[:3, 2] = step
    lps[:3, 3] = np.array(first.ImagePositionPatient, dtype=float)
    return LPS_TO_RAS @ lps


def test_one_mr_instance_per_slice_with_scanner_headers(small_run):
    out, records = small_run
    for record in records:
        datasets = read_series(record.dicom_dir)
        grid = acquisition.low_field_grid(SMALL, record.acquisition)
        drawn = record.acquisition.protocol
        assert len(datasets) == grid.slices
        for k, ds in enumerate(datasets):
            assert ds.SOPClassUID == MRImageStorage and ds.file_meta.MediaStorageSOPClassUID == MRImageStorage
            assert ds.Modality == "MR" and ds.InstanceNumber == k + 1
            assert float(ds.MagneticFieldStrength) == pytest.approx(0.064)
            assert ds.SeriesDescription == ds.ProtocolName == f"{record.sequence} AX 64mT"
            assert ds.BitsAllocated == ds.BitsStored == 16 and ds.PixelRepresentation == 0
            assert (ds.Rows, ds.Columns) == grid.shape[:2]
            assert float(ds.SliceThickness) == pytest.approx(grid.slice_mm, abs=1e-5)
            # The headers carry the drawn protocol, not the nominal one.
            assert float(ds.RepetitionTime) == pytest.approx(drawn.tr_ms, abs=1e-5)
            assert float(ds.EchoTime) == pytest.approx(drawn.te_ms, abs=1e-5)
            assert ("InversionTime" in ds) == (record.sequence in ("T1", "FLAIR"))
            assert str(ds.PatientName) == f"SIMULATED^{record.subject}"
            assert ds.PatientID == f"SIM-{record.subject}"
        assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
        assert len({ds.SeriesInstanceUID for ds in datasets}) == 1


def test_uids_group_series_into_one_study_per_subject(small_run):
    out, records = small_run
    first = {r.sequence: read_series(r.dicom_dir)[0] for r in records if r.subject == "POCEMR001"}
    second = read_series(records[-1].dicom_dir)[0]
    assert len({ds.StudyInstanceUID for ds in first.values()}) == 1
    assert len({ds.SeriesInstanceUID for ds in first.values()}) == 3
    assert len({ds.FrameOfReferenceUID for ds in first.values()}) == 1
    assert second.StudyInstanceUID != first["T1"].StudyInstanceUID


def test_dicom_geometry_round_trips_to_the_affines(small_run):
    out, records = small_run
    for record in records:
        datasets = read_series(record.dicom_dir)
        affine = affine_from_dicom(datasets)
        grid = acquisition.low_field_grid(SMALL, record.acquisition)
        np.testing.assert_allclose(affine, grid.affine(), atol=1e-4)
        assert float(datasets[0].SliceThickness) == pytest.approx(grid.slice_mm, abs=1e-5)
        # The series covers the 3 T NIfTI's box in-plane, and the whole slices that fit in its extent.
        high = nib.load(record.high_field)
        series_box, high_box = _box(affine, grid.shape), _box(high.affine, high.shape)
        np.testing.assert_allclose(series_box[:, :2], high_box[:, :2], atol=1e-4)
        assert series_box[:, 2].min() >= high_box[:, 2].min() - 1e-4
        assert series_box[:, 2].max() <= high_box[:, 2].max() + 1e-4
        assert np.ptp(high_box[:, 2]) - np.ptp(series_box[:, 2]) < grid.slice_mm


def test_dicom_pixels_are_the_acquisition_behind_the_low_field_nifti(small_run):
    out, records = small_run
    for record in records:
        datasets = read_series(record.dicom_dir)
        native = np.stack([ds.pixel_array for ds in datasets], axis=2).astype(np.float32)
        low = nib.load(record.low_field)
        # Resample the series through the DICOM-derived geometry onto the NIfTI grid.
        index_map = np.linalg.inv(affine_from_dicom(datasets)) @ low.affine
        resampled = affine_transform(native, index_map[:3, :3], offset=index_map[:3, 3],
                                     output_shape=low.shape, order=1, mode="nearest")
        r = np.corrcoef(gaussian_filter(resampled, 1).ravel(),
                        gaussian_filter(low.get_fdata(), 1).ravel())[0, 1]
        assert r > 0.97, (record.sequence, r)


def test_the_node_decoder_reads_every_slice_as_stored(small_run):
    out, records = small_run
    datasets = read_series(records[0].dicom_dir)
    for ds in datasets:
        pixels = read_mr_slice(ds)
        grid = acquisition.low_field_grid(SMALL, records[0].acquisition)
        assert pixels.dtype == np.uint16 and pixels.shape == grid.shape[:2] and pixels.max() > 0


def test_native_and_3t_slices_land_on_the_same_model_grid(small_run):
    # Same square field of view: a native 64 mT slice and the 3 T slice at its centre map through the slice
    # mapping to images of the same anatomy (the slice mapping pads to square and resizes).
    out, records = small_run
    record = next(r for r in records if r.sequence == "T2")
    datasets = read_series(record.dicom_dir)
    high = nib.load(record.high_field)
    grid = acquisition.low_field_grid(SMALL, record.acquisition)
    params = MappingParams(size=32)
    middle = grid.slices // 2
    for k in (middle - 1, middle, middle + 1):
        native, _ = to_model(datasets[k].pixel_array, params)
        at = round((grid.slice_centres_mm()[k] - high.affine[2, 3]) / high.affine[2, 2])
        target, _ = to_model(high.get_fdata()[:, :, at], params)
        r = np.corrcoef(native.ravel(), target.ravel())[0, 1]
        flipped = np.corrcoef(native[:, ::-1].ravel(), target.ravel())[0, 1]
        assert r > 0.8 and r > flipped, (k, r, flipped)


def _box(affine: np.ndarray, shape) -> np.ndarray:
    """World corners of the voxel grid's outer faces (centres +- half a voxel)."""
    corners = np.array([[i, j, k, 1.0] for i in (-0.5, shape[0] - 0.5) for j in (-0.5, shape[1] - 0.5)
                        for k in (-0.5, shape[2] - 0.5)])
    return (affine @ corners.T).T[:, :3]


def test_rewriting_a_series_with_fewer_slices_leaves_none_of_the_old_instances(tmp_path):
    # A rerun into the same folder (another draw, fewer slices) must not leave instances of the first run,
    # which carry the same series UID, to be read as part of the new series.
    folder = tmp_path / "POCEMR001_T1"
    t1 = protocol("T1", LOW_FIELD_T)
    dicom_series.write_series(folder, np.ones((8, 8, 5), np.uint16), np.eye(4), t1, "POCEMR001", 0)
    (folder / "notes.txt").write_text("kept")
    written = dicom_series.write_series(folder, np.ones((6, 6, 3), np.uint16), np.eye(4), t1, "POCEMR001", 0)
    assert sorted(folder.glob("*.dcm")) == written and len(written) == 3
    assert (folder / "notes.txt").read_text() == "kept"
