"""Faults: SIGKILL landed in each phase (receive, inference, sending), repeatedly over one series; a full disk;
a corrupt file in the spool at start.

Each kill is placed by watching the node's own log events (`event=spooled`, `event=enhanced`) or the
destination's received count, and the test then checks that the kill really fell inside that phase (the
phase's queue was neither empty nor finished). After the last restart, the destination must hold every
expected derived SOP Instance UID and no other: nothing lost, and no second instance for any slice.
Re-sends of the same UID (delivery is at least once; the UID is deterministic) are allowed and counted.
Destination down for a while is tests/node/test_delivery.py::test_destination_down_then_up_delivers_everything.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from pydicom import dcmread

from lohires_edge.contract import read_contract
from lohires_edge.dicom.uids import derived_uid
from tests.conftest import program, require_programs
from tests.dicom.series import mr_series, write_series
from tests.node.peers import NODE_AE, SCANNER_AE, free_port, node_config, running_node, storescu, wait_for
from tests.reliability.destination import Recorder, log_events, recording_destination

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]

SLICES, KILLS, STEP = 30, 3, 4  # each kill comes STEP events after the previous start


def _expected(files: list[Path], model: Path) -> set[str]:
    model_id = read_contract(model).model_id
    return {derived_uid(dcmread(f, stop_before_pixels=True).SOPInstanceUID, model_id, "instance") for f in files}


@contextlib.contextmanager
def spawned_node(config: Path, log: Path) -> Iterator[subprocess.Popen]:
    """The node without waiting for health, so a kill can land while it is still catching up on its spool."""
    with open(log, "ab") as sink:
        proc = subprocess.Popen([program("lohires-edge"), "-v", "serve", "--config", str(config)],
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(10)


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dcm"))


def _all_complete(spool: Path) -> None:
    """Every file under a final name is a whole instance: a kill may only leave partial writes in tmp/."""
    for path in [*_files(spool / "incoming"), *_files(spool / "outgoing" / "DEST")]:
        ds = dcmread(path)
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns), path.name
        assert path.stem == ds.SOPInstanceUID


def _preload_incoming(files: list[Path], spool: Path) -> None:
    """The spool as the listener leaves it: each received instance as <SOPInstanceUID>.dcm in incoming/."""
    (spool / "incoming").mkdir(parents=True, exist_ok=True)
    for f in files:
        uid = dcmread(f, stop_before_pixels=True).SOPInstanceUID
        (spool / "incoming" / f"{uid}.dcm").write_bytes(f.read_bytes())


def test_sigkill_during_receive_repeatedly_loses_and_duplicates_nothing(tiny_model, tmp_path):
    require_programs("storescu")
    files = write_series(mr_series(SLICES), tmp_path / "scanner")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with recording_destination(ports["dest"]) as destination:
        for _ in range(KILLS):
            with running_node(config, ports, log) as node:
                before = log_events(log, "spooled")
                scanner = subprocess.Popen(["storescu", "-aet", SCANNER_AE, "-aec", NODE_AE, "127.0.0.1",
                                            str(ports["dicom"]), *map(str, files)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_for(lambda: log_events(log, "spooled") >= before + STEP, 60, "instances spooled", 0.01)
                _kill(node)
                assert scanner.wait(60) != 0  # the kill cut the association: it fell inside the receive
            _all_complete(tmp_path / "spool")
        with running_node(config, ports, log):  # the scanner re-sends the series whose transfer failed
            assert storescu(ports["dicom"], files).returncode == 0
            expected = _expected(files, tiny_model)
            wait_for(lambda: set(destination.counts()) >= expected, 90, "the whole series at the destination")
    assert set(destination.counts()) == expected


def test_sigkill_during_inference_repeatedly_loses_and_duplicates_nothing(tiny_model, tmp_path):
    files = write_series(mr_series(SLICES, rows=160, cols=160), tmp_path / "scanner")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    spool, log = tmp_path / "spool", tmp_path / "node.log"
    _preload_incoming(files, spool)
    for _ in range(KILLS):  # destination down: the worker is the only thing moving
        left = len(_files(spool / "incoming"))
        with spawned_node(config, log) as node:
            before = log_events(log, "enhanced")
            wait_for(lambda: log_events(log, "enhanced") >= before + STEP, 60, "slices enhanced", 0.01)
            _kill(node)
        assert 0 < len(_files(spool / "incoming")) < left  # killed mid-way through the spool
        _all_complete(spool)
    with recording_destination(ports["dest"]) as destination, running_node(config, ports, log):
        expected = _expected(files, tiny_model)
        wait_for(lambda: set(destination.counts()) >= expected, 90, "the whole series at the destination")
    assert set(destination.counts()) == expected


def test_sigkill_during_sending_repeatedly_loses_and_duplicates_nothing(tiny_model, tmp_path):
    files = write_series(mr_series(SLICES), tmp_path / "scanner")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    spool, log = tmp_path / "spool", tmp_path / "node.log"
    _preload_incoming(files, spool)
    with running_node(config, ports, log):  # destination down: everything ends up queued
        wait_for(lambda: len(_files(spool / "outgoing" / "DEST")) == SLICES, 60, "all derived instances queued")
    destination = Recorder(seconds_per_store=0.02)
    with recording_destination(ports["dest"], destination):
        for _ in range(KILLS):
            queued = len(_files(spool / "outgoing" / "DEST"))
            with spawned_node(config, log) as node:
                before = sum(destination.counts().values())
                wait_for(lambda: sum(destination.counts().values()) >= before + STEP, 60, "deliveries", 0.01)
                _kill(node)
            assert 0 < len(_files(spool / "outgoing" / "DEST")) < queued  # killed mid-way through the queue
            _all_complete(spool)
        with running_node(config, ports, log):
            wait_for(lambda: not _files(spool / "outgoing" / "DEST"), 90, "the outgoing queue to drain")
    counts = destination.counts()
    assert set(counts) == _expected(files, tiny_model)
    # Re-sent only: the one store in flight at each kill, or one whose answer the node logged as not received.
    assert sum(counts.values()) - len(counts) <= KILLS + log.read_text().count("event=delivery_refused ")
