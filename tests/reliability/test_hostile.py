"""Hostile input: fuzzed datasets through a running node and through the worker, and hand-made bad cases.

The node must answer every C-STORE with a status (never hang, never crash), refuse what it cannot use with
the right status, and keep serving: an echo and a good store succeed after each case. Hypothesis runs are
bounded (max_examples, a per-example deadline) and derandomized so the suite is repeatable.
"""

from __future__ import annotations

import subprocess
import warnings
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE, _config
from pynetdicom.sop_class import Verification

from benchmarks.loopback.destination import Recorder, log_events, recording_destination
from benchmarks.loopback.peers import NODE_AE, SCANNER_AE, free_port, node_config, running_node, wait_for
from benchmarks.loopback.synthetic_series import mr_series, write_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.dicom.uids import derived_uid
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.node.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*(VR UI|exceeds the maximum length|Invalid)")]

# Statuses the listener may answer to a malformed MR instance (PS3.4 Annex B); 0xC211 would mean its handler
# raised, and no status at all would mean a hang or a dropped association.
REFUSALS = {0xA900, 0xC000, 0xC001}
FUZZ = settings(max_examples=40, deadline=timedelta(seconds=10), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _mutations(size: int, hot: int) -> st.SearchStrategy:
    """Byte overwrites (half of them in the first `hot` bytes, where the header is) and an optional cut."""
    offset = st.one_of(st.integers(0, hot - 1), st.integers(0, size - 1))
    return st.tuples(st.lists(st.tuples(offset, st.integers(0, 255)), min_size=1, max_size=8),
                     st.one_of(st.none(), st.integers(0, size)))


def _mutate(data: bytes, start: int, mutation) -> bytes:
    """Apply `mutation` to `data[start:]`, leaving the first `start` bytes (the file meta) intact."""
    writes, cut = mutation
    body = bytearray(data[start:])
    for offset, value in writes:
        body[offset % len(body)] = value
    return data[:start] + bytes(body[:cut] if cut is not None else body)


def _scu() -> AE:
    scu = AE(ae_title=SCANNER_AE)
    scu.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    scu.add_requested_context(Verification)
    scu.acse_timeout = scu.dimse_timeout = scu.network_timeout = 15
    return scu


def _store(port: int, item) -> int | None:
    """One association, one C-STORE of `item` (a Dataset, or a file sent byte for byte); its status or None."""
    assoc = _scu().associate("127.0.0.1", port, ae_title=NODE_AE)
    assert assoc.is_established, "the node refused a new association"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = assoc.send_c_store(item)
        return int(response.Status) if "Status" in response else None
    finally:
        if assoc.is_established:
            assoc.release()


def _still_serving(port: int, seed: int) -> None:
    assoc = _scu().associate("127.0.0.1", port, ae_title=NODE_AE)
    assert assoc.is_established and assoc.send_c_echo().Status == 0x0000
    assoc.release()
    assert _store(port, mr_series(1, seed=seed)[0]) == 0x0000


def test_fuzzed_datasets_sent_to_a_running_node(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send the mutated bytes as they are
    (source,) = write_series(mr_series(1, rows=8, cols=8), tmp_path / "source")
    data = source.read_bytes()
    meta_end = data.index(b"\x08\x00")  # the dataset starts at its first group-0008 element
    config, ports = node_config(tmp_path, tiny_model, free_port())
    spool, answers = tmp_path / "spool", []
    with recording_destination(ports["dest"]), running_node(config, ports, tmp_path / "node.log") as node:
        @FUZZ
        @given(_mutations(len(data) - meta_end, 300))
        def send(mutation) -> None:
            fuzzed = tmp_path / "fuzzed.dcm"
            fuzzed.write_bytes(_mutate(data, meta_end, mutation))
            status = _store(ports["dicom"], fuzzed)
            answers.append(status)
            assert status == 0x0000 or status in REFUSALS, f"status {status}"
            assert node.poll() is None

        send()
        _still_serving(ports["dicom"], seed=1)
        # Every accepted instance was handled by the worker: enhanced, passed over or quarantined.
        wait_for(lambda: not list((spool / "incoming").iterdir()), 60, "the incoming queue to drain")
        assert node.poll() is None
    assert len(answers) >= 20 and set(answers) - {0x0000}, answers  # the fuzzer did reach the refusals


def test_fuzzed_spool_files_never_stop_the_worker(tiny_model, tmp_path):
    (good,) = mr_series(1, rows=8, cols=8)
    buffer = BytesIO()
    good.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    spool = Spool(tmp_path / "spool", 10 ** 9, ["DEST"])
    outcomes = {"outgoing": 0, "quarantine": 0, "passed_over": 0}
    with OnnxRuntimeBackend(tiny_model) as backend:
        worker = Worker(spool, {"T1": backend}, NodeMetrics())

        @FUZZ
        @given(_mutations(len(data), 500))
        def process(mutation) -> None:
            path = spool.store_incoming(good.SOPInstanceUID, _mutate(data, 0, mutation))
            worker.process(path)  # must not raise, whatever the bytes
            assert not path.exists()
            for folder, key in ((spool.outgoing_dir("DEST"), "outgoing"), (spool.quarantine_dir, "quarantine")):
                for leftover in folder.iterdir():
                    outcomes[key] += 1
                    leftover.unlink()
                    break
            else:
                outcomes["passed_over"] += 1

        process()
    assert outcomes["quarantine"] > 0 and outcomes["outgoing"] > 0, outcomes


def _case(name: str):
    (ds,) = mr_series(1, rows=8, cols=8, seed=len(name))
    return ds


def _handmade() -> list[tuple[str, object, int]]:
    """(name, dataset, expected status) for each hand-made hostile case."""
    cases = []
    huge = _case("huge")
    huge.Rows = huge.Columns = 65535
    cases.append(("huge Rows/Columns", huge, 0xC000))
    big = _case("big")
    big.Rows = big.Columns = 4096  # in range, but the 128 bytes of pixel data cannot fill it
    cases.append(("4096x4096 header, 8x8 pixels", big, 0xC000))
    for bits in (1, 32):
        wrong = _case(f"bits{bits}")
        wrong.BitsAllocated = bits
        cases.append((f"BitsAllocated {bits}", wrong, 0xC000))
    for name, keyword, value in [("slash in SOP UID", "SOPInstanceUID", "1.2.3/../../x"),
                                 ("backslash in series UID", "SeriesInstanceUID", "1.2.3\\..\\x"),
                                 ("65-character SOP UID", "SOPInstanceUID", "1." + "2" * 63),
                                 ("65-character series UID", "SeriesInstanceUID", "1." + "3" * 63)]:
        ds = _case(name)
        setattr(ds, keyword, value)
        if len(ds.SOPInstanceUID) <= 64:  # pynetdicom will not put a longer UID in the C-STORE request itself
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        cases.append((name, ds, 0xC001))
    no_pixels = _case("no pixels")
    del no_pixels.PixelData
    cases.append(("no PixelData", no_pixels, 0xC000))
    return cases


@dataclass
class SharedNode:
    port: int
    proc: subprocess.Popen
    destination: Recorder
    log: Path
    root: Path


@pytest.fixture(scope="module")
def shared_node(tiny_model, tmp_path_factory) -> Iterator[SharedNode]:
    """One node (and recording destination) for the hand-made cases: each case must leave it serving."""
    tmp = tmp_path_factory.mktemp("handmade")
    config, ports = node_config(tmp, tiny_model, free_port())
    with recording_destination(ports["dest"]) as destination, running_node(config, ports, tmp / "node.log") as node:
        yield SharedNode(ports["dicom"], node, destination, tmp / "node.log", tmp)


@pytest.mark.parametrize("name,dataset,expected", _handmade(), ids=[c[0] for c in _handmade()])
def test_handmade_hostile_cases_are_refused_and_the_node_keeps_serving(tmp_path, monkeypatch, name, dataset,
                                                                       expected, shared_node):
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # the request UIDs come from the file meta
    path = tmp_path / "case.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path.write_bytes(_as_received(dataset))
    assert _store(shared_node.port, path) == expected
    _still_serving(shared_node.port, seed=7)
    assert shared_node.proc.poll() is None
    assert [p for p in shared_node.root.rglob("*") if "x" == p.name or ".." in p.name] == []


def test_non_ascii_names_are_enhanced_and_never_logged(tiny_model, shared_node):
    series = mr_series(2, rows=8, cols=8, description="AX T1 Schädel")
    for ds in series:
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName, ds.PatientID = "Müller^Jürgen=山田^太郎", "ÄÖÜ-4711"
    model_id = read_contract(tiny_model).model_id
    expected = {derived_uid(ds.SOPInstanceUID, model_id, "instance") for ds in series}
    assert [_store(shared_node.port, ds) for ds in series] == [0x0000, 0x0000]
    wait_for(lambda: set(shared_node.destination.counts()) >= expected, 60, "2 derived instances delivered")
    text = shared_node.log.read_text(encoding="utf-8", errors="replace")
    for secret in ("Müller", "Jürgen", "山田", "太郎", "ÄÖÜ-4711"):
        assert secret not in text


def test_an_empty_series_leaves_nothing_behind_and_the_node_keeps_serving(shared_node):
    spooled = log_events(shared_node.log, "spooled")
    for _ in range(3):  # a scanner that opens an association and sends nothing
        assoc = _scu().associate("127.0.0.1", shared_node.port, ae_title=NODE_AE)
        assert assoc.is_established
        assoc.release()
    assert log_events(shared_node.log, "spooled") == spooled
    _still_serving(shared_node.port, seed=3)
    assert log_events(shared_node.log, "spooled") == spooled + 1


def test_spooled_files_the_worker_cannot_read_or_re_encode_are_quarantined_not_fatal(tiny_model, tmp_path):
    """Found by the fuzzers: each of these escaped the worker and stopped the node (again at every restart,
    since the file stays in incoming/). A command-set element (0000,xxxx) in the dataset decodes, but the
    derived copy cannot be written; an unknown VR in the file meta raises NotImplementedError in pydicom."""
    spool = Spool(tmp_path / "spool", 10 ** 9, ["DEST"])
    command_set, unknown_vr, good = mr_series(3, rows=8, cols=8)
    command_set.add_new(0x00000902, "LO", "a command-set element inside the dataset")
    spool.store_incoming(command_set.SOPInstanceUID, _as_received(command_set))
    raw = _as_received(unknown_vr)
    vr_at = raw.index(b"UL", 132)  # (0002,0000) File Meta Information Group Length, VR UL
    spool.store_incoming(unknown_vr.SOPInstanceUID, raw[:vr_at] + b"AL" + raw[vr_at + 2:])
    spool.store_incoming(good.SOPInstanceUID, _as_received(good))
    with OnnxRuntimeBackend(tiny_model) as backend:
        assert Worker(spool, {"T1": backend}, NodeMetrics()).process_pending() == 3
    assert sorted(p.stem for p in spool.quarantine_dir.iterdir()) == sorted(
        [command_set.SOPInstanceUID, unknown_vr.SOPInstanceUID])
    assert len(spool.outgoing("DEST")) == 1 and spool.incoming() == []


def _as_received(ds) -> bytes:
    """Preamble, file meta and the dataset's bytes as a peer sends them (dcmwrite refuses group 0000)."""
    out = DicomBytesIO()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, ds.file_meta, enforce_standard=True)
    out.is_little_endian, out.is_implicit_VR = True, False
    write_dataset(out, ds)
    return out.getvalue()


def test_a_dataset_failing_in_an_unforeseen_way_is_quarantined_and_the_rest_processed(tiny_model, tmp_path):
    """A single-valued PixelSpacing (VM 1, invalid) passes receive-time validation but makes the derived
    geometry raise TypeError; any such surprise must quarantine the file, not end (and crash-loop) the node."""
    spool = Spool(tmp_path / "spool", 10 ** 9, ["DEST"])
    odd, good = mr_series(2, rows=8, cols=8)
    odd.PixelSpacing = "1.6"
    for ds in (odd, good):
        spool.store_incoming(ds.SOPInstanceUID, _as_received(ds))
    with OnnxRuntimeBackend(tiny_model) as backend:
        assert Worker(spool, {"T1": backend}, NodeMetrics()).process_pending() == 2
    assert [p.stem for p in spool.quarantine_dir.iterdir()] == [odd.SOPInstanceUID]
    assert len(spool.outgoing("DEST")) == 1 and spool.incoming() == []
