"""`lohires-edge enhance` on a real exported model: NIfTI -> NIfTI and DICOM series -> derived series."""

from __future__ import annotations

import errno
import importlib.util
import subprocess
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from benchmarks.loopback.peers import program
from benchmarks.loopback.synthetic_series import PATIENT_ID, PATIENT_NAME, mr_series, write_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.cli.enhance import slice_ranges
from lohires_edge.dicom.geometry import read_placed_slice
from lohires_edge.enhancement import enhance_path
from lohires_edge.inference import enhance_slices
from lohires_edge.slice_mapping import intensity_window
from tests.edge.phantom_volumes import AFFINE, phantom_volume, write_nifti


def edge(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([program("lohires-edge"), *map(str, args)], capture_output=True, text=True)


def assert_one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert needle in result.stderr


def test_nifti_in_nifti_out_keeps_affine_and_header(tiny_model, tmp_path):
    volume = phantom_volume()
    source = write_nifti(tmp_path / "sub_T1.nii.gz", volume)
    out = tmp_path / "out" / "sub_T1_enhanced.nii.gz"

    result = edge("enhance", source, "-o", out, "--model", tiny_model, "--batch-size", "4")
    assert result.returncode == 0, result.stderr
    assert "enhanced 6 slices with onnxruntime-cpu" in result.stderr and "ms/slice" in result.stderr

    written = nib.load(str(out))
    original = nib.load(str(source))
    assert np.array_equal(written.affine, original.affine)
    assert np.allclose(written.affine, AFFINE)
    assert written.shape == volume.shape and written.get_data_dtype() == np.int16
    assert written.header.get_zooms() == original.header.get_zooms()
    assert written.header.get_xyzt_units() == ("mm", "sec")
    data = np.asanyarray(written.dataobj)
    with OnnxRuntimeBackend(tiny_model) as backend:  # one intensity window for the whole volume
        window = intensity_window(volume, backend.contract.mapping)
        slices = [volume[:, :, k] for k in range(6)]
        expected = np.stack(enhance_slices(backend, slices, window=window), axis=2)
    assert np.array_equal(data, expected)
    assert not np.array_equal(data, volume)


def test_fidelity_is_reported_and_min_fidelity_names_the_slices_below_it(tiny_model, tmp_path):
    volume = phantom_volume()
    source = write_nifti(tmp_path / "sub_T1.nii.gz", volume)
    out = tmp_path / "sub_T1_enhanced.nii.gz"

    passed = edge("enhance", source, "-o", out, "--model", tiny_model, "--min-fidelity", "0")
    assert passed.returncode == 0, passed.stderr
    assert "fidelity (R² to the input, 1.0 = faithful): min " in passed.stderr
    assert "over 5 slices with anatomy" in passed.stderr  # slice 1 is empty
    out.unlink()

    # An untrained model is no monotone map of its input, so every slice with anatomy is below 1.0.
    failed = edge("enhance", source, "-o", out, "--model", tiny_model, "--min-fidelity", "1.0")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    last_line = failed.stderr.strip().splitlines()[-1]
    assert "Error: fidelity below 1.0 in slice(s) 2-6 of 6" in last_line
    assert out.is_file()  # written all the same, for inspection


def test_low_slices_are_named_as_runs():
    assert slice_ranges([2, 3, 4, 5, 6]) == "2-6"
    assert slice_ranges([1, 2, 3, 7, 9, 10, 12]) == "1-3, 7, 9, 10, 12"
    assert slice_ranges([5]) == "5"


def test_min_fidelity_outside_0_to_1_is_a_usage_error(tiny_model, tmp_path):
    source = write_nifti(tmp_path / "sub_T1.nii.gz", phantom_volume())
    result = edge("enhance", source, "-o", tmp_path / "o.nii.gz", "--model", tiny_model,
                  "--min-fidelity", "1.5")
    assert result.returncode == 2 and "--min-fidelity" in result.stderr


def test_dicom_series_in_derived_series_out(tiny_model, tmp_path):
    source = tmp_path / "series"
    datasets = mr_series(slices=4)
    paths = write_series(datasets[::-1], source)  # file order is not slice order
    out = tmp_path / "derived"

    result = edge("enhance", source, "-o", out, "--model", tiny_model)
    assert result.returncode == 0, result.stderr
    assert PATIENT_NAME.split("^")[0] not in result.stderr and PATIENT_ID not in result.stderr
    assert "fidelity (R² to the input, 1.0 = faithful)" in result.stderr
    assert all("Fidelity to the source: " in str(ds.ImageComments) for ds in map(pydicom.dcmread, out.iterdir()))

    derived = {p.name: pydicom.dcmread(p) for p in sorted(out.iterdir())}
    assert sorted(derived) == sorted(p.name for p in paths)
    assert len({str(ds.SeriesInstanceUID) for ds in derived.values()}) == 1
    by_source = {str(ds.SOPInstanceUID): ds for ds in datasets}
    with OnnxRuntimeBackend(tiny_model) as backend:
        window = intensity_window(np.stack([ds.pixel_array for ds in datasets]), backend.contract.mapping)
        for ds in derived.values():
            src = by_source[str(ds.SourceImageSequence[0].ReferencedSOPInstanceUID)]
            assert ds.SeriesInstanceUID != src.SeriesInstanceUID
            # The model grid: the source's field of view at the model's pixel size; one window per series.
            (expected,) = enhance_slices(backend, [read_placed_slice(src)], grid="model", window=window)
            assert np.array_equal(ds.pixel_array.astype(np.int64), expected.astype(np.int64))
            assert max(ds.Rows, ds.Columns) == backend.contract.input_size
            for axis, count in ((0, "Rows"), (1, "Columns")):  # the field of view, to within one model pixel
                field = float(ds.PixelSpacing[axis]) * int(getattr(ds, count))
                source_field = float(src.PixelSpacing[axis]) * int(getattr(src, count))
                assert abs(field - source_field) <= float(ds.PixelSpacing[axis])


def test_a_failed_dicom_write_leaves_no_partial_instance(tiny_model, tmp_path, monkeypatch):
    """A full disk mid-series: the instance being written never appears under its name, nor does a temporary."""
    source = tmp_path / "series"
    write_series(mr_series(slices=3), source)
    out = tmp_path / "derived"
    real_save_as = pydicom.dataset.FileDataset.save_as
    saved = []

    def save_then_fill_the_disk(self, filename, *args, **kwargs):
        if saved:  # the second instance: half written, then the disk is full
            Path(filename).write_bytes(b"DICM, half written")
            raise OSError(errno.ENOSPC, "No space left on device", str(filename))
        saved.append(filename)
        return real_save_as(self, filename, *args, **kwargs)

    monkeypatch.setattr(pydicom.dataset.FileDataset, "save_as", save_then_fill_the_disk)
    with OnnxRuntimeBackend(tiny_model) as backend, pytest.raises(OSError, match="No space left"):
        enhance_path(backend, source, out)
    (written,) = out.iterdir()
    assert pydicom.dcmread(written).SOPInstanceUID  # the one instance before the failure is whole


def test_folder_with_two_series_is_refused(tiny_model, tmp_path):
    write_series(mr_series(slices=2, seed=1), tmp_path / "in" / "a")
    write_series(mr_series(slices=2, seed=2), tmp_path / "in" / "b")
    assert_one_line_error(edge("enhance", tmp_path / "in", "-o", tmp_path / "out", "--model", tiny_model),
                          "holds 2 DICOM series")


def test_nifti_output_name_is_checked(tiny_model, tmp_path):
    source = write_nifti(tmp_path / "v.nii", phantom_volume(slices=2))
    assert_one_line_error(edge("enhance", source, "-o", tmp_path / "v.txt", "--model", tiny_model),
                          "must be a NIfTI file name")


def test_corrupt_nifti_is_one_line(tiny_model, tmp_path):
    source = tmp_path / "broken.nii.gz"
    source.write_bytes(b"\x1f\x8b not really gzip")
    assert_one_line_error(edge("enhance", source, "-o", tmp_path / "o.nii.gz", "--model", tiny_model),
                          "not a readable NIfTI file")


def test_no_model_and_no_sequence_to_pick_one_is_one_line(tmp_path):
    source = write_nifti(tmp_path / "scan.nii.gz", phantom_volume(slices=2))  # the name names no sequence
    assert_one_line_error(edge("enhance", source, "-o", tmp_path / "o.nii.gz"), "pass --model")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_tensorrt_backend_without_tensorrt_is_one_line(tiny_model, tmp_path):
    source = write_nifti(tmp_path / "v.nii.gz", phantom_volume(slices=2))
    assert_one_line_error(edge("enhance", source, "-o", tmp_path / "o.nii.gz", "--model", tiny_model,
                               "--backend", "tensorrt", "--engines", tmp_path), "python3-libnvinfer")


@pytest.mark.parametrize("keep", [0.5, 0.9])  # cut in the header, cut in the pixel data
def test_truncated_dicom_file_is_one_line(tiny_model, tmp_path, keep):
    paths = write_series(mr_series(slices=2), tmp_path / "series")
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: int(len(data) * keep)])
    result = edge("enhance", tmp_path / "series", "-o", tmp_path / "out", "--model", tiny_model)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert paths[1].name in result.stderr


def test_scaled_nifti_keeps_its_stored_dtype(tiny_model, tmp_path):
    from lohires_edge.enhancement import enhance_nifti

    volume = phantom_volume(slices=3)
    image = nib.Nifti1Image(volume, AFFINE)
    image.header.set_slope_inter(0.5, 10.0)  # stored int16, values = 0.5 * stored + 10
    nib.save(image, str(tmp_path / "scaled.nii.gz"))
    with OnnxRuntimeBackend(tiny_model) as backend:
        report = enhance_nifti(backend, tmp_path / "scaled.nii.gz", tmp_path / "out.nii.gz")
        values = volume * 0.5 + 10.0
        window = intensity_window(values, backend.contract.mapping)
        slices = [values[:, :, k] for k in range(3)]
        expected = np.stack(enhance_slices(backend, slices, window=window), axis=2)
    written = nib.load(str(tmp_path / "out.nii.gz"))
    assert report.slices == 3 and written.get_data_dtype() == np.int16
    assert np.allclose(written.get_fdata(), expected, atol=float(written.dataobj.slope))  # one stored step


@pytest.mark.parametrize("keyword,value,needle", [
    ("ImageOrientationPatient", ["1", "0"], "malformed ImagePositionPatient"),  # 2 values instead of 6
    ("PixelSpacing", "1.6", "PixelSpacing needs 2 values"),  # 1 value instead of 2
])
def test_malformed_geometry_is_one_line(tiny_model, tmp_path, keyword, value, needle):
    datasets = mr_series(slices=2)
    setattr(datasets[1], keyword, value)
    source = tmp_path / "series"
    write_series(datasets, source)
    result = edge("enhance", source, "-o", tmp_path / "derived", "--model", tiny_model)
    # The error is one line; a progress bar may already have started above it.
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert needle in result.stderr.strip().splitlines()[-1]


def test_nifti_with_nan_voxel_sizes_is_one_line(tiny_model, tmp_path):
    image = nib.Nifti1Image(phantom_volume(), np.eye(4))
    image.header["pixdim"][1:4] = np.nan
    source = tmp_path / "nan_T1.nii"
    nib.save(image, str(source))
    result = edge("enhance", source, "-o", tmp_path / "out.nii", "--model", tiny_model)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "got (nan, nan); fix the voxel sizes (pixdim)" in result.stderr.strip().splitlines()[-1]
