"""What interop testing with real peers found (issue 16): each case through a running node.

Big endian from dcmtk's storescu, a called AE title that is not the node's, and pydicom's warnings in the
node's log.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian

from benchmarks.loopback.peers import (NODE_AE, echoscu, free_port, http_get, node_config, running_node, storescp,
                                       storescu, wait_for)
from benchmarks.loopback.synthetic_series import PATIENT_ID, PATIENT_NAME, mr_series, write_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.inference import enhance_slices
from tests.conftest import require_dcmtk

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]


def _big_endian_t1(tmp_path):
    """pydicom's big-endian MR slice, named T1 (its TR/TE say T2, so those go) and written big endian."""
    ds = dcmread(get_testdata_file("MR_small_bigendian.dcm"))
    ds.SeriesDescription = "AX T1"
    del ds.RepetitionTime, ds.EchoTime
    path = tmp_path / "scanner" / "bigendian.dcm"
    path.parent.mkdir()
    ds.save_as(path)  # keeps the encoding it was read in
    assert dcmread(path).file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    return ds, path


def test_explicit_big_endian_from_storescu_is_delivered_never_lost(tiny_model, tmp_path):
    require_dcmtk("storescu", "storescp")
    source, path = _big_endian_t1(tmp_path)
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with storescp(ports["dest"], tmp_path / "dest") as received, running_node(config, ports, log):
        sent = storescu(ports["dicom"], [path], options=("-xb", "-v"))  # proposes big endian first
        assert sent.returncode == 0, sent.stderr
        assert "transfer syntax: Big Endian Explicit -> Big Endian Explicit" in sent.stdout + sent.stderr
        (arrived,) = wait_for(lambda: list(received.iterdir()), 60, "the derived instance at storescp")
    assert "event=quarantined" not in log.read_text()
    out = dcmread(arrived)
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    with OnnxRuntimeBackend(tiny_model) as backend:
        (expected,) = enhance_slices(backend, [read_mr_slice(source)], grid="model")
    assert int(np.abs(out.pixel_array.astype(int) - expected.astype(int)).max()) <= 1


def test_a_wrong_called_ae_title_is_logged_and_counted(tiny_model, tmp_path):
    require_dcmtk("echoscu")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with running_node(config, ports, log):
        wrong = echoscu(ports["dicom"], called="NOT" + NODE_AE)
        assert wrong.returncode != 0 and "Called AE Title Not Recognized" in wrong.stdout + wrong.stderr
        metrics = http_get(ports["http"], "/metrics")[1]
        assert echoscu(ports["dicom"]).returncode == 0  # the right title still gets in
    assert re.search(r'^lohires_rejected_associations_total\{reason="called AE title not recognised"\} 1\.0$',
                     metrics, re.M)
    assert ("event=association_rejected calling_ae='SCANNER' called_ae='NOTLOHIRES' address=127.0.0.1 "
            "reason='called AE title not recognised'") in log.read_text()


def test_pydicom_warnings_are_one_line_events_without_values(tiny_model, tmp_path):
    require_dcmtk("storescu", "storescp")
    (padded,) = mr_series(1)
    padded.PixelData += b"\0" * 8  # pydicom warns about excess padding when it decodes the pixels
    files = write_series([padded], tmp_path / "scanner")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with storescp(ports["dest"], tmp_path / "dest") as received, running_node(config, ports, log):
        assert storescu(ports["dicom"], files).returncode == 0
        wait_for(lambda: list(received.iterdir()), 60, "the derived instance at storescp")
    text = log.read_text()
    events = [line for line in text.splitlines() if "event=warning" in line]
    assert events and all("excess padding" in line for line in events)
    assert "Warning:" not in text and "warnings.warn" not in text and "warn_and_log" not in text
    assert PATIENT_NAME not in text and PATIENT_ID not in text
