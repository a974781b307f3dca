"""Health and the retry schedule, in process: the parts whose failure modes the loopback tests cannot reach fast."""

from __future__ import annotations

import json

from benchmarks.loopback.peers import free_port, http_get
from lohires_edge.node.health import STALE_AFTER_S, Health, start_endpoint
from lohires_edge.node.sender import backoff_seconds, delivered
from lohires_edge.node.telemetry import NodeMetrics


def test_health_is_503_until_listening_and_when_the_loop_stalls():
    health, port = Health(), free_port()
    server = start_endpoint("127.0.0.1", port, health, NodeMetrics())
    try:
        code, body = http_get(port, "/health")
        assert code == 503 and json.loads(body)["listening"] is False
        health.listening = True
        assert http_get(port, "/health")[0] == 200
        health._beat -= STALE_AFTER_S + 1  # as if the processing loop had not run for a minute
        code, body = http_get(port, "/health")
        assert code == 503 and json.loads(body)["processing_loop_age_s"] > STALE_AFTER_S
        health.beat()
        assert http_get(port, "/health")[0] == 200
    finally:
        server.shutdown()


def test_backoff_doubles_up_to_its_cap():
    waits = [backoff_seconds(n, 2.0, 60.0) for n in range(1, 9)]
    assert waits[:5] == [2.0, 4.0, 8.0, 16.0, 32.0] and waits[5:] == [60.0] * 3


def test_warnings_count_as_delivered_failures_do_not():
    assert all(delivered(s) for s in (0x0000, 0xB000, 0xB006, 0xB007))
    assert not any(delivered(s) for s in (0xA700, 0xA900, 0xC000, 0x0122, -1))
