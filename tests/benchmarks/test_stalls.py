"""benchmarks/stalls.py reads send waits and re-sends from a round trip's logs."""

from __future__ import annotations

from pathlib import Path

from benchmarks.stalls import stall_figures

NODE_LOG = """\
2026-11-29 09:00:00,001 INFO lohires_edge.node.sender: event=delivered sop=1.2.1 destination=DEST status=0x0000 wait_s=0.012
2026-11-29 09:00:00,002 WARNING pynetdicom.association: Received unexpected C-STORE service message
2026-11-29 09:01:00,003 WARNING lohires_edge.node.sender: event=delivery_refused sop=1.2.2 destination=DEST status=none wait_s=60.004
2026-11-29 09:01:02,004 INFO lohires_edge.node.sender: event=delivered sop=1.2.2 destination=DEST status=0x0000 wait_s=0.020
2026-11-29 09:01:02,005 INFO lohires_edge.node.sender: event=delivered sop=1.2.3 destination=DEST status=0x0000 wait_s=6.500
"""


def test_waits_resends_and_their_causes_come_from_the_logs(tmp_path: Path) -> None:
    node_log, receiver_log = tmp_path / "node.log", tmp_path / "receiver.log"
    node_log.write_text(NODE_LOG)
    receiver_log.write_text("I: Received Store Request\n" * 4)  # 3 slices, one of them twice

    figures = stall_figures(node_log, receiver_log, slices=3)

    assert figures == {"sends": 4, "max_wait_s": 60.004, "median_wait_s": (0.020 + 6.500) / 2,
                       "waits_over_limit": 2, "stores_received": 4, "resends": 1, "failed_sends_logged": 1,
                       "unexpected_responses": 1}
