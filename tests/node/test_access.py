"""What the listener refuses, and that it keeps serving afterwards: unknown callers, bad and odd input."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Callable, Iterator

import pytest
from pydicom.uid import CTImageStorage, EnhancedMRImageStorage, ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE, Association, _config

from benchmarks.loopback.peers import (NODE_AE, SCANNER_AE, echoscu, free_port, node_config, running_node, storescp,
                                       storescu, wait_for)
from benchmarks.loopback.synthetic_series import mr_series, write_series
from tests.conftest import require_dcmtk

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*(VR UI|exceeds the maximum length)")]


def test_unknown_callers_are_rejected_at_association(tiny_model, tmp_path):
    require_dcmtk("echoscu", "storescu")
    callers = (f'[[node.allowed_callers]]\nae_title = "{SCANNER_AE}"\nhost = "127.0.0.1"\n'
               '[[node.allowed_callers]]\nae_title = "ELSEWHERE"\nhost = "192.0.2.10"\n')
    config, ports = node_config(tmp_path, tiny_model, free_port(), callers=callers)
    log = tmp_path / "node.log"
    files = write_series(mr_series(1), tmp_path / "scanner")
    with running_node(config, ports, log):
        intruder = echoscu(ports["dicom"], calling="INTRUDER")
        assert intruder.returncode != 0
        assert "Calling AE Title Not Recognized" in intruder.stdout + intruder.stderr
        wrong_host = storescu(ports["dicom"], files, calling="ELSEWHERE")  # allowed title, but not from here
        assert wrong_host.returncode != 0
        assert echoscu(ports["dicom"]).returncode == 0  # the allowed scanner still gets in
    text = log.read_text()
    assert "event=association_rejected calling_ae='INTRUDER'" in text
    assert "event=association_rejected calling_ae='ELSEWHERE'" in text
    assert not list((tmp_path / "spool" / "incoming").iterdir())


def _corrupt_file(tmp_path: Path) -> Path:
    """A file whose meta header is fine and whose dataset is garbage bytes."""
    (source,) = write_series(mr_series(1), tmp_path / "corrupt-src")
    raw = source.read_bytes()
    meta_end = raw.index(b"\x08\x00")  # first group-0008 element: the dataset starts here
    path = tmp_path / "corrupt.dcm"
    path.write_bytes(raw[:meta_end] + b"\x08\x00\x16\x00UI\xff\xff" + bytes(range(256)) * 4)
    return path


def test_bad_input_is_refused_and_the_node_keeps_serving(tiny_model, tmp_path, monkeypatch):
    require_dcmtk("storescp")
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send a file's bytes as they are
    config, ports = node_config(tmp_path, tiny_model, free_port())
    good, traversal, truncated, ct, enhanced = mr_series(5)
    traversal.SOPInstanceUID = "../../../escaped"
    traversal.file_meta.MediaStorageSOPInstanceUID = traversal.SOPInstanceUID
    truncated.PixelData = truncated.PixelData[:64]
    ct.SOPClassUID = ct.file_meta.MediaStorageSOPClassUID = CTImageStorage
    enhanced.SOPClassUID = enhanced.file_meta.MediaStorageSOPClassUID = EnhancedMRImageStorage

    scu = AE(ae_title=SCANNER_AE)
    for sop_class in (MRImageStorage, CTImageStorage, EnhancedMRImageStorage):
        scu.add_requested_context(sop_class, ExplicitVRLittleEndian)
    with storescp(ports["dest"], tmp_path / "dest") as received, running_node(config, ports, tmp_path / "node.log"):
        assoc = scu.associate("127.0.0.1", ports["dicom"], ae_title=NODE_AE)
        assert assoc.is_established
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about the invalid UID we send on purpose
            statuses = {name: assoc.send_c_store(ds).Status for name, ds in
                        [("traversal", traversal), ("truncated", truncated), ("ct", ct), ("enhanced", enhanced)]}
        statuses["corrupt"] = assoc.send_c_store(_corrupt_file(tmp_path)).Status
        statuses["good"] = assoc.send_c_store(good).Status
        assoc.release()
        wait_for(lambda: len(list(received.iterdir())) == 1, 60, "the good instance at the destination")

    assert statuses["good"] == 0x0000
    assert statuses["traversal"] == 0xC001
    assert statuses["truncated"] == 0xC000  # pixel data shorter than Rows x Columns
    assert 0xC000 <= statuses["corrupt"] <= 0xCFFF  # garbage: whichever check trips first, a 0xCxxx failure
    assert statuses["ct"] == 0x0122 and statuses["enhanced"] == 0x0122
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "escaped.dcm").exists()
    assert [p for p in tmp_path.rglob("*escaped*")] == []
    text = (tmp_path / "node.log").read_text()
    assert "Enhanced MR (multi-frame) is not supported" in text
    assert text.count("event=store_refused") == 5


@contextlib.contextmanager
def node_with(tmp_path: Path, model: Path, node_extra: str) -> Iterator[tuple[dict, Callable[[], Association]]]:
    """A running node with extra [node] settings; yields its ports and a call that associates as the scanner."""
    config, ports = node_config(tmp_path, model, free_port(), node_extra=node_extra)
    scu = AE(ae_title=SCANNER_AE)
    scu.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
    with running_node(config, ports, tmp_path / "node.log"):
        yield ports, lambda: scu.associate("127.0.0.1", ports["dicom"], ae_title=NODE_AE)


def test_spool_over_quota_answers_out_of_resources_with_nothing_half_written(tiny_model, tmp_path):
    # 8 KiB quota and no destination: the spool fills after a few ~1.5 KiB slices (each kept twice:
    # incoming until enhanced, then outgoing).
    require_dcmtk("echoscu")
    with node_with(tmp_path, tiny_model, "spool_quota_mb = 0.008") as (ports, associate):
        assoc = associate()
        assert assoc.is_established
        statuses = [assoc.send_c_store(ds).Status for ds in mr_series(12)]
        assoc.release()
        assert echoscu(ports["dicom"]).returncode == 0  # still serving
    accepted = statuses.count(0x0000)
    assert 0 < accepted < 12 and set(statuses) == {0x0000, 0xA700}
    spool = tmp_path / "spool"
    assert len(list((spool / "incoming").iterdir())) + len(list((spool / "outgoing" / "DEST").iterdir())) == accepted
    assert list((spool / "tmp").iterdir()) == []
    assert "event=store_refused status=0xA700" in (tmp_path / "node.log").read_text()


def test_associations_beyond_the_maximum_are_rejected(tiny_model, tmp_path):
    with node_with(tmp_path, tiny_model, "max_associations = 1") as (_, associate):
        first = associate()
        assert first.is_established
        second = associate()
        assert second.is_rejected
        first.release()
        third = wait_for(lambda: (a := associate()).is_established and a, 20, "a free association slot after release")
        third.release()
