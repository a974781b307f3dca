"""The sender against a real dcmtk storescp: a file it cannot read never blocks the others; one association
stays open while work flows."""

from __future__ import annotations

import threading

from benchmarks.loopback.peers import free_port, node_config, storescp, wait_for
from benchmarks.loopback.synthetic_series import mr_series
from lohires_edge.node.config import load_config
from lohires_edge.node.sender import IDLE_RELEASE_S, Sender
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics
from tests.conftest import require_dcmtk
from tests.reliability.test_hostile import _as_received


def test_an_outgoing_file_pydicom_cannot_parse_goes_to_failed_and_the_rest_is_delivered(tiny_model, tmp_path):
    require_dcmtk("storescp")
    dest_port = free_port()
    config = load_config(node_config(tmp_path, tiny_model, dest_port)[0])
    destination = config.destinations[0]
    spool = Spool(config.spool_dir, config.spool_quota_bytes, [destination.name])
    good, damaged = mr_series(2, rows=8, cols=8)
    raw = _as_received(damaged)
    vr_at = raw.index(b"UL", 132)  # an unknown VR in the file meta: pydicom raises NotImplementedError
    spool.store_outgoing(destination.name, damaged.SOPInstanceUID, raw[:vr_at] + b"AL" + raw[vr_at + 2:])
    spool.store_outgoing(destination.name, good.SOPInstanceUID, _as_received(good))

    with storescp(dest_port, tmp_path / "received") as received:
        sender = Sender(config, destination, spool, NodeMetrics(), threading.Event())
        sender.send_round(spool.outgoing(destination.name))
        sender.release()
        wait_for(lambda: len(list(received.iterdir())) == 1, 20, "the good instance at storescp")

    assert [p.stem for p in spool.failed_dir(destination.name).iterdir()] == [damaged.SOPInstanceUID]
    assert spool.outgoing(destination.name) == []


def test_rounds_reuse_one_association_which_is_released_when_idle(tiny_model, tmp_path):
    require_dcmtk("storescp")
    dest_port = free_port()
    config = load_config(node_config(tmp_path, tiny_model, dest_port)[0])
    destination = config.destinations[0]
    spool = Spool(config.spool_dir, config.spool_quota_bytes, [destination.name])
    first, second = mr_series(3, rows=8, cols=8), mr_series(3, rows=8, cols=8, seed=1)
    log = tmp_path / "storescp.log"
    stop = threading.Event()
    with storescp(dest_port, tmp_path / "received", log) as received:
        sender = Sender(config, destination, spool, NodeMetrics(), stop)
        sender.start()
        for batch, expected in ((first, 3), (second, 6)):  # two rounds: the second arrives after the first
            for ds in batch:
                spool.store_outgoing(destination.name, ds.SOPInstanceUID, _as_received(ds))
            sender.wake.set()
            wait_for(lambda: len(list(received.iterdir())) == expected, 20, f"{expected} instances at storescp")
        assert log.read_text().count("Association Acknowledged") == 1
        wait_for(lambda: "Association Release" in log.read_text(), IDLE_RELEASE_S + 10, "the idle release")
        stop.set()
        sender.join(10)
    assert log.read_text().count("Association Acknowledged") == 1
