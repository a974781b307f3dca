"""The /health endpoint, in process: its failure modes (not yet listening, a stalled processing loop) are
the ones the loopback tests cannot reach fast."""

from __future__ import annotations

import json

from benchmarks.loopback.peers import free_port, http_get
from lohires_edge.node.health import STALE_AFTER_S, Health, start_endpoint
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

