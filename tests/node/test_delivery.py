"""Nothing is lost: a destination that is down, a node killed with SIGKILL, deliveries past the retry budget.

Input is the project's simulated 64 mT series (trainer.simulate, small size); Orthanc or storescp receive.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from pydicom import dcmread

from benchmarks.loopback.peers import (free_port, node_config, orthanc, orthanc_sop_uids, program, running_node, stop,
                                       storescp, storescu, wait_for)
from lohires_edge.contract import read_contract
from lohires_edge.dicom.uids import derived_uid
from tests.conftest import require_dcmtk, require_programs

pytestmark = [pytest.mark.dcmtk, pytest.mark.orthanc, pytest.mark.slow]


@pytest.fixture(scope="module")
def simulated_t1(tmp_path_factory):
    from trainer.simulate.dataset import simulate_dataset

    root = tmp_path_factory.mktemp("simulated")
    (record,) = simulate_dataset(root / "nifti", 1, ["T1"], dicom_dir=root / "dicom", size="small")
    return sorted(record.dicom_dir.glob("*.dcm"))


def _expected_uids(files, model):
    model_id = read_contract(model).model_id
    return {derived_uid(dcmread(f, stop_before_pixels=True).SOPInstanceUID, model_id, "instance") for f in files}


def _spool_status(config):
    result = subprocess.run([program("lohires-edge"), "spool", "status", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _count(status_text, label):
    match = re.search(rf"^{re.escape(label)}: (\d+)$", status_text, re.M)
    return int(match.group(1)) if match else -1


def test_destination_down_then_up_delivers_everything(tiny_model, tmp_path, simulated_t1):
    require_dcmtk("storescu")
    require_programs("Orthanc")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    n = len(simulated_t1)
    with running_node(config, ports, tmp_path / "node.log") as node:
        assert storescu(ports["dicom"], simulated_t1).returncode == 0
        wait_for(lambda: _count(_spool_status(config), "outgoing to DEST") == n, 60,
                 f"{n} derived instances queued for the unreachable destination")
        with orthanc(tmp_path / "orthanc", ports["dest"], ports["dicom"]) as http:
            wait_for(lambda: len(orthanc_sop_uids(http)) == n, 90, f"{n} instances in Orthanc")
            assert set(orthanc_sop_uids(http)) == _expected_uids(simulated_t1, tiny_model)
        assert stop(node) == 0
    assert "event=association_failed destination=DEST" in (tmp_path / "node.log").read_text()
    assert _count(_spool_status(config), "outgoing to DEST") == 0


def test_sigkill_mid_series_then_restart_delivers_all_without_duplicates(tiny_model, tmp_path, simulated_t1):
    require_dcmtk("storescu")
    require_programs("Orthanc")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    first, rest = simulated_t1[:len(simulated_t1) // 2], simulated_t1[len(simulated_t1) // 2:]
    log = tmp_path / "node.log"
    with running_node(config, ports, log) as node:  # destination still down: work piles up in the spool
        assert storescu(ports["dicom"], first).returncode == 0
        node.kill()
        node.wait(10)
    # Every acknowledged instance is in the spool: still incoming, or derived and queued. A kill between
    # queueing the derived file and removing the incoming one leaves both; the replay makes the same UID.
    spool = tmp_path / "spool"
    waiting = {p.stem for p in (spool / "incoming").iterdir()}
    queued = {dcmread(p).SourceImageSequence[0].ReferencedSOPInstanceUID
              for p in (spool / "outgoing" / "DEST").iterdir()}
    assert waiting | queued == {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in first}
    with orthanc(tmp_path / "orthanc", ports["dest"], ports["dicom"]) as http, running_node(config, ports, log):
        assert storescu(ports["dicom"], rest).returncode == 0
        wait_for(lambda: len(orthanc_sop_uids(http)) >= len(simulated_t1), 90, "the whole series in Orthanc")
        delivered = orthanc_sop_uids(http)
    assert sorted(delivered) == sorted(_expected_uids(simulated_t1, tiny_model))  # all of them, each once


def test_past_the_retry_budget_then_spool_retry(tiny_model, tmp_path, simulated_t1):
    require_dcmtk("storescu", "storescp")
    files = simulated_t1[:3]
    config, ports = node_config(tmp_path, tiny_model, free_port(),
                                sending="retries = 1\nbackoff_initial = 0.1\nbackoff_max = 0.2\n")
    with running_node(config, ports, tmp_path / "node.log") as node:
        assert storescu(ports["dicom"], files).returncode == 0
        wait_for(lambda: _count(_spool_status(config), "failed for DEST") == 3, 60, "3 failed deliveries")
        with storescp(ports["dest"], tmp_path / "dest") as received:
            retry = subprocess.run([program("lohires-edge"), "spool", "retry", "--config", str(config)],
                                   capture_output=True, text=True, timeout=60)
            assert retry.returncode == 0 and "re-queued 3" in retry.stdout
            wait_for(lambda: len(list(received.iterdir())) == 3, 60, "the re-sent instances at storescp")
        assert stop(node) == 0
    assert {dcmread(p).SOPInstanceUID for p in received.iterdir()} == _expected_uids(files, tiny_model)
    assert "event=gave_up" in (tmp_path / "node.log").read_text()
