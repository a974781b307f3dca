"""The spool: atomic, quota-bound, UID-named files, and the failed area round trip."""

from __future__ import annotations

import pytest

from lohires_edge.dicom.uids import InvalidUID
from lohires_edge.node.spool import Spool, SpoolFull


def _spool(tmp_path, quota=10_000):
    return Spool(tmp_path / "spool", quota, ["PACS", "CONSOLE"])


def test_store_is_complete_and_named_by_uid(tmp_path):
    spool = _spool(tmp_path)
    path = spool.store_incoming("1.2.3.4", b"x" * 100)
    assert path == tmp_path / "spool" / "incoming" / "1.2.3.4.dcm" and path.read_bytes() == b"x" * 100
    assert list(spool.tmp_dir.iterdir()) == []
    assert spool.incoming() == [path]


@pytest.mark.parametrize("uid", ["../../escape", "/etc/passwd", "1.2.3/../../4", "", "1." * 40])
def test_a_uid_that_is_not_a_uid_never_becomes_a_path(tmp_path, uid):
    spool = _spool(tmp_path)
    with pytest.raises(InvalidUID):
        spool.store_incoming(uid, b"data")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_over_quota_is_refused_with_nothing_written(tmp_path):
    spool = _spool(tmp_path, quota=1000)
    spool.store_incoming("1.2.3.1", b"x" * 600)
    with pytest.raises(SpoolFull, match="over its quota"):
        spool.store_incoming("1.2.3.2", b"x" * 600)
    assert [p.name for p in spool.incoming()] == ["1.2.3.1.dcm"] and list(spool.tmp_dir.iterdir()) == []


def test_failed_deliveries_go_back_to_their_queue(tmp_path):
    spool = _spool(tmp_path)
    for name, uid in (("PACS", "1.2.1"), ("CONSOLE", "1.2.2"), ("CONSOLE", "1.2.3")):
        spool.move_to_failed(name, spool.store_outgoing(name, uid, b"d"))
    counts = spool.counts()
    assert counts.failed == {"PACS": 1, "CONSOLE": 2} and counts.outgoing == {"PACS": 0, "CONSOLE": 0}
    assert spool.retry_failed() == 3
    assert spool.counts().outgoing == {"PACS": 1, "CONSOLE": 2}
    assert spool.counts().failed == {"PACS": 0, "CONSOLE": 0}


def test_partial_writes_left_by_a_crash_are_cleared(tmp_path):
    spool = _spool(tmp_path)
    (spool.tmp_dir / "abc.part").write_bytes(b"half")
    spool.clear_partial_writes()
    assert list(spool.tmp_dir.iterdir()) == []


def test_the_quota_check_keeps_a_running_count_instead_of_walking_the_spool(tmp_path, monkeypatch):
    spool = _spool(tmp_path, quota=1000)
    walks = []
    walk = Spool.bytes_used
    monkeypatch.setattr(Spool, "bytes_used", lambda self: walks.append(1) or walk(self))
    paths = [spool.store_incoming(f"1.2.3.{i}", b"x" * 10) for i in range(50)]
    assert len(walks) == 1  # once, at the first write
    for path in paths:
        spool.remove(path)
    spool.store_incoming("1.2.4.1", b"x" * 900)  # fits only if the removals were counted
    assert len(walks) == 1


def test_files_removed_by_hand_are_found_by_the_recount_before_refusing(tmp_path):
    spool = _spool(tmp_path, quota=1000)
    spool.store_incoming("1.2.3.1", b"x" * 600).unlink()  # an admin clears the spool behind the node's back
    spool.store_incoming("1.2.3.2", b"x" * 600)
    assert [p.name for p in spool.incoming()] == ["1.2.3.2.dcm"]
