"""The sender against a real dcmtk storescp: a file it cannot read never blocks the others."""

from __future__ import annotations

import threading

from lohires_edge.node.config import load_config
from lohires_edge.node.sender import Sender
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics
from tests.dicom.series import mr_series
from tests.node.peers import free_port, node_config, require_dcmtk, storescp, wait_for
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
        wait_for(lambda: len(list(received.iterdir())) == 1, 20, "the good instance at storescp")

    assert [p.stem for p in spool.failed_dir(destination.name).iterdir()] == [damaged.SOPInstanceUID]
    assert spool.outgoing(destination.name) == []
