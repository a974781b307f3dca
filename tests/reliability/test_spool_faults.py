"""The spool under faults: a really full disk (a small tmpfs), and damaged files found in it at start."""

from __future__ import annotations

import contextlib
import subprocess
import warnings
from pathlib import Path
from typing import Iterator

import pytest
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE

from benchmarks.loopback.destination import log_events, recording_destination
from benchmarks.loopback.peers import NODE_AE, SCANNER_AE, echoscu, free_port, node_config, running_node, wait_for
from benchmarks.loopback.synthetic_series import mr_series, write_series
from lohires_edge.contract import read_contract
from lohires_edge.dicom.uids import derived_uid
from tests.conftest import require_dcmtk

pytestmark = [pytest.mark.slow]


@contextlib.contextmanager
def small_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A real filesystem that fills up: tmpfs of `size` at `folder` (needs root or CAP_SYS_ADMIN)."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip() or 'mount failed'}); "
                    "the spool quota case is tests/node/test_access.py")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True, timeout=30)


def test_full_disk_answers_out_of_resources_leaves_no_partial_file_and_recovers(tiny_model, tmp_path):
    require_dcmtk("echoscu")
    series = mr_series(40, rows=8, cols=8)
    model_id = read_contract(tiny_model).model_id
    config, ports = node_config(tmp_path, tiny_model, free_port())  # default quota (2 GiB): only the disk limits
    log = tmp_path / "node.log"
    scu = AE(ae_title=SCANNER_AE)
    scu.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    with small_tmpfs(tmp_path / "spool", "96k") as spool:
        with running_node(config, ports, log):  # destination down: nothing leaves the spool
            assoc = scu.associate("127.0.0.1", ports["dicom"], ae_title=NODE_AE)
            assert assoc.is_established
            statuses = [int(assoc.send_c_store(ds).Status) for ds in series]
            assoc.release()
            assert echoscu(ports["dicom"]).returncode == 0  # still serving
            accepted = [ds for ds, status in zip(series, statuses) if status == 0x0000]
            assert statuses[0] == 0x0000 and statuses[-1] == 0xA700 and set(statuses) == {0x0000, 0xA700}
            assert list((spool / "tmp").iterdir()) == []  # the failed writes left nothing behind
            incoming = {p.stem: p for p in (spool / "incoming").glob("*.dcm")}
            outgoing = {p.stem: p for p in (spool / "outgoing" / "DEST").glob("*.dcm")}
            for ds in accepted:  # each acknowledged instance is whole, either still received or derived
                derived = derived_uid(ds.SOPInstanceUID, model_id, "instance")
                assert (ds.SOPInstanceUID in incoming) != (derived in outgoing)
                kept = dcmread(incoming.get(ds.SOPInstanceUID) or outgoing[derived])
                assert kept.pixel_array.shape == (kept.Rows, kept.Columns)
            assert len(incoming) + len(outgoing) == len(accepted)
            with recording_destination(ports["dest"]) as destination:  # space frees as deliveries go out
                expected = {derived_uid(ds.SOPInstanceUID, model_id, "instance") for ds in accepted}
                wait_for(lambda: set(destination.counts()) >= expected, 60, "every accepted instance delivered")
    text = log.read_text()
    assert "event=store_refused status=0xA700" in text and "disk of spool" in text  # ENOSPC, not the quota


def test_damaged_files_in_the_spool_at_start_are_quarantined_and_the_rest_delivered(tiny_model, tmp_path):
    good = write_series(mr_series(5, rows=8, cols=8), tmp_path / "scanner")
    spool = tmp_path / "spool"
    (spool / "incoming").mkdir(parents=True)
    (spool / "tmp").mkdir()
    for f in good:
        (spool / "incoming" / f"{dcmread(f).SOPInstanceUID}.dcm").write_bytes(f.read_bytes())
    damaged = {"1.2.3.1": good[0].read_bytes()[:300],  # cut short
               "1.2.3.2": bytes(range(256)) * 8,  # not DICOM at all
               "1.2.3.3": b""}  # empty
    for uid, data in damaged.items():
        (spool / "incoming" / f"{uid}.dcm").write_bytes(data)
    (spool / "tmp" / "leftover.part").write_bytes(b"half an instance")  # a write a crash interrupted
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    model_id = read_contract(tiny_model).model_id
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {derived_uid(dcmread(f).SOPInstanceUID, model_id, "instance") for f in good}
    with recording_destination(ports["dest"]) as destination, running_node(config, ports, log):
        wait_for(lambda: set(destination.counts()) >= expected, 60, "the 5 good instances delivered")
        wait_for(lambda: log_events(log, "quarantined") == 3, 30, "3 quarantined files")
    assert set(destination.counts()) == expected
    assert sorted(p.stem for p in (spool / "quarantine").iterdir()) == sorted(damaged)
    assert list((spool / "incoming").iterdir()) == [] and list((spool / "tmp").iterdir()) == []
