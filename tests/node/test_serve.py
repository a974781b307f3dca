"""The node end to end: dcmtk's storescu as the scanner, dcmtk's storescp as the destination."""

from __future__ import annotations

import re

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import JPEG2000Lossless, RLELossless
from pynetdicom import AE

from benchmarks.loopback.peers import (NODE_AE, SCANNER_AE, echoscu, free_port, http_get, node_config, running_node,
                                       storescp, storescu, wait_for)
from benchmarks.loopback.synthetic_series import PATIENT_ID, PATIENT_NAME, fov_corner, mr_series, write_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.dicom.uids import derived_uid
from lohires_edge.inference import enhance_slices
from tests.conftest import require_dcmtk

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]


def test_series_in_derived_series_out(tiny_model, tmp_path):
    require_dcmtk("storescp", "storescu", "echoscu")
    series = mr_series(4, rows=40, cols=36)
    files = write_series(series, tmp_path / "scanner")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with storescp(ports["dest"], tmp_path / "dest") as received, running_node(config, ports, log):
        assert echoscu(ports["dicom"]).returncode == 0
        result = storescu(ports["dicom"], files)
        assert result.returncode == 0, result.stderr
        arrived = wait_for(lambda: len(list(received.iterdir())) == 4 and list(received.iterdir()), 60,
                           "4 derived instances at storescp")
        sent = r'^lohires_sent_instances_total\{destination="DEST"\} 4\.0$'  # counted after storescp's answer
        metrics = wait_for(lambda: re.search(sent, http_get(ports["http"], "/metrics")[1], re.M) and
                           http_get(ports["http"], "/metrics")[1], 30, "the sent counter")
        assert re.search(r"^lohires_received_instances_total 4\.0$", metrics, re.M)
        assert re.search(r"^lohires_slice_seconds_count 4\.0$", metrics, re.M)

    contract = read_contract(tiny_model)
    with OnnxRuntimeBackend(tiny_model) as backend:
        expected_pixels = enhance_slices(backend, [read_mr_slice(s) for s in series], grid="model")
    derived = {ds.SourceImageSequence[0].ReferencedSOPInstanceUID: ds for ds in map(dcmread, arrived)}
    assert set(derived) == {s.SOPInstanceUID for s in series}
    for source, expected in zip(series, expected_pixels):
        out = derived[source.SOPInstanceUID]
        assert out.SOPInstanceUID == derived_uid(source.SOPInstanceUID, contract.model_id, "instance")
        assert out.SeriesInstanceUID == derived_uid(source.SeriesInstanceUID, contract.model_id, "series")
        assert out.StudyInstanceUID == source.StudyInstanceUID
        assert list(out.ImageType)[:2] == ["DERIVED", "SECONDARY"]
        # The model grid: the 40x36 field of view sampled every 40/32 source pixels (the 32-pixel model's
        # pixel size), centred on the source's field of view.
        assert (out.Rows, out.Columns) == expected.shape == (32, 29)
        assert [float(v) for v in out.PixelSpacing] == pytest.approx([1.5 * 40 / 32, 1.25 * 40 / 32])
        np.testing.assert_allclose(_fov_centre(out), _fov_centre(source), atol=1e-4)
        assert list(out.ImageOrientationPatient) == list(source.ImageOrientationPatient)
        assert int(np.abs(out.pixel_array.astype(int) - expected.astype(int)).max()) <= 1
        
    text = log.read_text()
    assert "event=enhanced sop=" in text
    assert PATIENT_NAME.split("^")[0] not in text and PATIENT_ID not in text
    assert not list((tmp_path / "spool" / "incoming").iterdir())
    assert not list((tmp_path / "spool" / "outgoing" / "DEST").iterdir())


def _fov_centre(ds) -> np.ndarray:
    orientation = np.array(ds.ImageOrientationPatient, float)
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    return (fov_corner(ds) + 0.5 * int(ds.Rows) * row_spacing * orientation[3:]
            + 0.5 * int(ds.Columns) * col_spacing * orientation[:3])


def test_compressed_input_is_accepted_and_enhanced(tiny_model, tmp_path):
    require_dcmtk("storescp")
    rle, j2k = mr_series(2, rows=64, cols=64)  # JPEG 2000's default resolution levels need >= 32 pixels
    originals = {ds.SOPInstanceUID: read_mr_slice(ds).copy() for ds in (rle, j2k)}
    rle.compress(RLELossless, generate_instance_uid=False)
    j2k.compress(JPEG2000Lossless, generate_instance_uid=False)
    scu = AE(ae_title=SCANNER_AE)
    for syntax in (RLELossless, JPEG2000Lossless):
        scu.add_requested_context(rle.SOPClassUID, syntax)
    config, ports = node_config(tmp_path, tiny_model, free_port())
    with storescp(ports["dest"], tmp_path / "dest") as received, running_node(config, ports, tmp_path / "node.log"):
        assoc = scu.associate("127.0.0.1", ports["dicom"], ae_title=NODE_AE)
        assert [assoc.send_c_store(ds).Status for ds in (rle, j2k)] == [0, 0]
        assoc.release()
        arrived = wait_for(lambda: len(list(received.iterdir())) == 2 and list(received.iterdir()), 60,
                           "2 derived instances")
    with OnnxRuntimeBackend(tiny_model) as backend:
        for out in map(dcmread, arrived):
            source_uid = out.SourceImageSequence[0].ReferencedSOPInstanceUID
            (expected,) = enhance_slices(backend, [originals[source_uid]], grid="model")
            assert int(np.abs(out.pixel_array.astype(int) - expected.astype(int)).max()) <= 1
