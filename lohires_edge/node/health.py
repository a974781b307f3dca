"""Health of the running node and the loopback HTTP endpoint serving it with the metrics.

GET /health answers 200 while the listener is up and the processing loop has beaten recently, 503
otherwise (JSON body says which); GET /metrics is the Prometheus exposition.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lohires_edge.node.telemetry import NodeMetrics

STALE_AFTER_S = 60.0  # the processing loop beats every ~0.5 s; a minute without means it is stuck


class Health:
    def __init__(self) -> None:
        self.listening = False
        self._beat = time.monotonic()
        self._lock = threading.Lock()

    def beat(self) -> None:
        with self._lock:
            self._beat = time.monotonic()

    def report(self) -> tuple[bool, dict]:
        with self._lock:
            age = time.monotonic() - self._beat
        healthy = self.listening and age < STALE_AFTER_S
        return healthy, {"status": "ok" if healthy else "unhealthy", "listening": self.listening,
                         "processing_loop_age_s": round(age, 3)}


def start_endpoint(host: str, port: int, health: Health, metrics: NodeMetrics) -> ThreadingHTTPServer:
    """Serve /health and /metrics on host:port in a daemon thread; call .shutdown() to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/metrics":
                self._reply(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
            elif self.path == "/health":
                healthy, body = health.report()
                self._reply(200 if healthy else 503, "application/json", json.dumps(body).encode())
            else:
                self._reply(404, "text/plain", b"not found: try /health or /metrics\n")

        def _reply(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # scrapes are not worth a log line
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="telemetry", daemon=True).start()
    return server
