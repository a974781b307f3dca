"""Real geometry end to end: NIfTI in any axis order, DICOM in any orientation and pixel size, the plane
check, derived series that overlay their source, and models from before the geometry was recorded."""

from __future__ import annotations

import logging

import nibabel as nib
import numpy as np
import pydicom
import pytest
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
from pydicom.valuerep import DS

from benchmarks.loopback.synthetic_series import mr_series, write_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.enhancement import enhance_dicom_series, enhance_nifti
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.node.worker import PLANE_MISMATCH, Worker
from lohires_edge.slice_geometry import SliceGeometry
from tests.anatomy import anatomy, pls_volume, sampled_slice, slice_points, stored_as
from tests.edge.geometry_models import IDENTITY, conv_model
from tests.edge.test_enhance import assert_one_line_error, edge
from tests.node.test_worker import _encoded


@pytest.fixture(scope="module")
def axial_model(tmp_path_factory):
    """A lopsided convolution trained (so says its contract) on 1 mm axial slices, rows A->P, columns R->L."""
    return conv_model(tmp_path_factory.mktemp("models") / "axial.onnx", 224)


def _enhanced_as_pls(model, tmp_path, axcodes: str) -> np.ndarray:
    volume, affine = stored_as(*pls_volume(), axcodes)
    source, output = tmp_path / f"{axcodes}.nii.gz", tmp_path / f"{axcodes}-out.nii.gz"
    nib.save(nib.Nifti1Image(volume, affine), str(source))
    with OnnxRuntimeBackend(model) as backend:
        enhance_nifti(backend, source, output)
    result = nib.load(str(output))
    assert np.allclose(result.affine, affine)
    back_to_pls = ornt_transform(io_orientation(result.affine), axcodes2ornt(("P", "L", "S")))
    return np.asarray(result.as_reoriented(back_to_pls).dataobj)


@pytest.mark.parametrize("axcodes", ["RAS", "LPS"])
def test_nifti_in_any_axis_order_is_enhanced_into_the_same_place(axial_model, tmp_path, axcodes):
    reference = _enhanced_as_pls(axial_model, tmp_path, "PLS")
    np.testing.assert_allclose(_enhanced_as_pls(axial_model, tmp_path, axcodes), reference, atol=1e-3)


def test_a_model_without_geometry_sees_a_turned_head_and_says_so_once(tmp_path, caplog):
    """The old behaviour, kept for version 1 models: NIfTI slices along the third axis, as stored."""
    legacy = conv_model(tmp_path / "legacy.onnx", 224, geometry=None, name="legacy")
    with caplog.at_level(logging.WARNING, logger="lohires_edge.inference"):
        pls = _enhanced_as_pls(legacy, tmp_path, "PLS")
        ras = _enhanced_as_pls(legacy, tmp_path, "RAS")
    assert np.abs(ras - pls).max() > 10  # the lopsided kernel met the RAS head turned: a different output
    warnings = [r for r in caplog.records if "records no training geometry" in r.getMessage()]
    assert len(warnings) == 1 and "legacy-1-T1" in warnings[0].getMessage()


def _dicom_series(geometry: SliceGeometry, shape: tuple[int, int], slices: int = 3) -> list[pydicom.Dataset]:
    """A series of `slices` axial instances of the anatomy, 2 mm apart, each centred on the z axis."""
    datasets = mr_series(slices, rows=shape[0], cols=shape[1])
    for index, ds in enumerate(datasets):
        centre = np.array([0.0, 0.0, 2.0 * (index - slices // 2)])
        pixels = sampled_slice(geometry, shape, centre)
        ds.set_pixel_data(np.rint(pixels).astype(np.uint16), "MONOCHROME2", 16, generate_instance_uid=False)
        ds.PixelSpacing = [DS(v, auto_format=True) for v in geometry.pixel_spacing]
        ds.ImageOrientationPatient = [DS(v, auto_format=True) for v in geometry.orientation]
        first_pixel = slice_points(geometry, shape, centre)[0, 0]
        ds.ImagePositionPatient = [DS(v, auto_format=True) for v in first_pixel]
    return datasets


def _patient_positions(ds: pydicom.Dataset) -> np.ndarray:
    """LPS position of every pixel centre, from the instance's own position, orientation and spacing."""
    orientation = np.asarray(ds.ImageOrientationPatient, float)
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    rows, cols = np.mgrid[0:int(ds.Rows), 0:int(ds.Columns)]
    return (np.asarray(ds.ImagePositionPatient, float) + rows[..., None] * row_spacing * orientation[3:]
            + cols[..., None] * col_spacing * orientation[:3])


@pytest.mark.parametrize("spacing,orientation,shape", [
    ((2.0, 2.0), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0), (96, 80)),  # the model's own orientation, coarser
    ((1.25, 1.5), (0.0, -1.0, 0.0, 1.0, 0.0, 0.0), (128, 128)),  # rows run right -> left, columns P -> A
    ((1.6, 0.8), (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0), (120, 200)),  # turned by 180 degrees, anisotropic pixels
])
def test_a_derived_series_overlays_its_source(tmp_path, spacing, orientation, shape):
    identity = conv_model(tmp_path / "identity.onnx", 224, kernel=IDENTITY, name="identity")
    source = _dicom_series(SliceGeometry(spacing, orientation), shape)
    write_series(source, tmp_path / "series")
    with OnnxRuntimeBackend(identity) as backend:
        enhance_dicom_series(backend, tmp_path / "series", tmp_path / "derived")
    by_source = {str(ds.SOPInstanceUID): ds for ds in source}
    for path in sorted((tmp_path / "derived").iterdir()):
        derived = pydicom.dcmread(path)
        original = by_source[str(derived.SourceImageSequence[0].ReferencedSOPInstanceUID)]
        assert derived.FrameOfReferenceUID == original.FrameOfReferenceUID
        assert list(derived.ImageOrientationPatient) == list(original.ImageOrientationPatient)
        assert [float(v) for v in derived.PixelSpacing] == [1.0, 1.0]  # the model's pixel size
        # Each derived pixel holds the anatomy at the patient position its own header gives it. The error is
        # interpolation (and the brightest 0.5 %, clipped by the intensity window); placing the pixels a
        # quarter of a millimetre off would give at least 28.
        error = np.abs(derived.pixel_array.astype(float) - anatomy(_patient_positions(derived)))
        assert np.percentile(error, 99) < 15


def test_a_sagittal_series_is_refused_in_one_line(axial_model, tmp_path):
    sagittal = SliceGeometry((1.0, 1.0), (0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
    write_series(_dicom_series(sagittal, (40, 40)), tmp_path / "series")
    result = edge("enhance", tmp_path / "series", "-o", tmp_path / "out", "--model", axial_model)
    assert_one_line_error(result, "the slice is sagittal, 90 degrees from the model's axial plane")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_node_passes_a_sagittal_slice_over(axial_model, tmp_path, caplog):
    spool = Spool(tmp_path / "spool", 10 ** 8, ["PACS"])
    metrics = NodeMetrics()
    (axial,) = _dicom_series(SliceGeometry((2.0, 2.0), (1, 0, 0, 0, 1, 0)), (96, 80), slices=1)
    (sagittal,) = _dicom_series(SliceGeometry((1.0, 1.0), (0, 1, 0, 0, 0, -1)), (40, 40), slices=1)
    for ds in (axial, sagittal):
        spool.store_incoming(ds.SOPInstanceUID, _encoded(ds))
    with OnnxRuntimeBackend(axial_model) as backend, caplog.at_level(logging.WARNING):
        assert Worker(spool, {"T1": backend}, metrics).process_pending() == 2
    assert spool.incoming() == [] and len(spool.outgoing("PACS")) == 1
    assert not spool.quarantine_dir.exists() or not any(spool.quarantine_dir.iterdir())
    assert metrics.registry.get_sample_value("lohires_skipped_instances_total",
                                              {"reason": PLANE_MISMATCH}) == 1
    (passed_over,) = [r.getMessage() for r in caplog.records if "event=passed_over" in r.getMessage()]
    assert sagittal.SOPInstanceUID in passed_over and "sagittal" in passed_over
