"""The worker on a real spool and the tiny ONNX model: enhance and queue, pass over, quarantine."""

from __future__ import annotations

import logging
from io import BytesIO

import pytest
from pydicom import dcmread

from benchmarks.loopback.synthetic_series import PATIENT_ID, PATIENT_NAME, mr_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.dicom.derive import RESEARCH_CAUTION
from lohires_edge.dicom.uids import derived_uid
from lohires_edge.node.config import QaConfig
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.node.worker import Worker


def _encoded(ds) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_worker_enhances_passes_over_and_quarantines(tiny_model, tmp_path):
    spool = Spool(tmp_path / "spool", 10 ** 8, ["PACS", "CONSOLE"])
    metrics = NodeMetrics()
    (t1,) = mr_series(1, description="AX T1 SE")
    (dwi,) = mr_series(1, description="DWI b1000", seed=1)
    del dwi.RepetitionTime, dwi.EchoTime  # nothing identifies its sequence
    (damaged,) = mr_series(1, seed=2)
    for ds in (t1, dwi):
        spool.store_incoming(ds.SOPInstanceUID, _encoded(ds))
    spool.store_incoming(damaged.SOPInstanceUID, _encoded(damaged)[:300])  # cut short on disk

    with OnnxRuntimeBackend(tiny_model) as backend:
        handled = Worker(spool, {"T1": backend}, metrics).process_pending()
        model_id = backend.contract.model_id

    assert handled == 3 and spool.incoming() == []
    expected = derived_uid(t1.SOPInstanceUID, model_id, "instance")
    for destination in ("PACS", "CONSOLE"):
        (queued,) = spool.outgoing(destination)
        assert dcmread(queued).SOPInstanceUID == expected == queued.stem
    assert [p.stem for p in spool.quarantine_dir.iterdir()] == [damaged.SOPInstanceUID]
    value = metrics.registry.get_sample_value
    assert value("lohires_enhanced_instances_total", {"sequence": "T1"}) == 1
    assert value("lohires_skipped_instances_total", {"reason": "no model for the series"}) == 1
    assert value("lohires_quarantined_instances_total") == 1
    assert value("lohires_slice_seconds_count") == 1
    assert value("lohires_slice_fidelity_count") == 1


def test_series_above_the_field_strength_limit_are_passed_over_with_the_reason(tiny_model, tmp_path, caplog):
    spool = Spool(tmp_path / "spool", 10 ** 8, ["PACS"])
    metrics = NodeMetrics()
    low, high, unknown = (mr_series(1, seed=seed)[0] for seed in range(3))
    high.MagneticFieldStrength = 1.5  # a 1.5 T series named T1: it must not go to the 64 mT model
    del unknown.MagneticFieldStrength  # portable scanners do not always write it: enhanced
    for ds in (low, high, unknown):
        spool.store_incoming(ds.SOPInstanceUID, _encoded(ds))

    with OnnxRuntimeBackend(tiny_model) as backend:
        Worker(spool, {"T1": backend}, metrics, QaConfig(max_field_strength=0.1)).process_pending()
        model_id = backend.contract.model_id

    enhanced = {p.stem for p in spool.outgoing("PACS")}
    assert enhanced == {derived_uid(ds.SOPInstanceUID, model_id, "instance") for ds in (low, unknown)}
    assert spool.incoming() == []
    value = metrics.registry.get_sample_value
    above = {"reason": "field strength above qa.max_field_strength"}
    assert value("lohires_skipped_instances_total", above) == 1
    assert value("lohires_enhanced_instances_total", {"sequence": "T1"}) == 2
    assert (f"event=passed_over sop={high.SOPInstanceUID} series={high.SeriesInstanceUID} "
            "reason='field strength above qa.max_field_strength'") in caplog.text


@pytest.mark.parametrize("qa, sent, mark", [
    (QaConfig(min_fidelity=0.0, on_low_fidelity="withhold"), True, "Fidelity to the source: "),
    (QaConfig(min_fidelity=1.0, on_low_fidelity="flag"), True, "LOW FIDELITY: "),
    (QaConfig(min_fidelity=1.0, on_low_fidelity="withhold"), False, "LOW FIDELITY: "),
])
def test_fidelity_guard_flags_or_withholds_below_min_fidelity(tiny_model, tmp_path, caplog, qa, sent, mark):
    # The untrained tiny model is no monotone map of its input: its fidelity is below 1 and above 0.
    spool = Spool(tmp_path / "spool", 10 ** 8, ["PACS", "CONSOLE"])
    metrics = NodeMetrics()
    (t1,) = mr_series(1, description="AX T1 SE")
    spool.store_incoming(t1.SOPInstanceUID, _encoded(t1))

    with caplog.at_level(logging.INFO), OnnxRuntimeBackend(tiny_model) as backend:
        assert Worker(spool, {"T1": backend}, metrics, qa).process_pending() == 1

    assert spool.incoming() == []
    for destination in ("PACS", "CONSOLE"):
        queued, failed = spool.outgoing(destination), list(spool.failed_dir(destination).iterdir())
        (derived,) = queued if sent else failed
        assert (queued, failed) == (([derived], []) if sent else ([], [derived]))
        comments = str(dcmread(derived).ImageComments)
        assert comments.startswith(RESEARCH_CAUTION) and mark in comments
    value = metrics.registry.get_sample_value
    assert 0.0 < value("lohires_slice_fidelity_sum") < 1.0
    # A labelled counter never incremented has no sample (None).
    low = value("lohires_low_fidelity_instances_total", {"action": qa.on_low_fidelity}) or 0
    assert low == (0 if qa.min_fidelity == 0.0 else 1)
    (line,) = [r.getMessage() for r in caplog.records if "event=enhanced" in r.getMessage()]
    assert f"fidelity={value('lohires_slice_fidelity_sum'):.3f}" in line
    assert any("event=low_fidelity" in r.getMessage() for r in caplog.records) == bool(low)
    assert PATIENT_NAME.split("^")[0] not in caplog.text and PATIENT_ID not in caplog.text
