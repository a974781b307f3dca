"""`serve` under a service manager: READY/STATUS/WATCHDOG/STOPPING over a real NOTIFY_SOCKET, SIGTERM, health."""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
from pathlib import Path

import pytest

from benchmarks.loopback.peers import (free_port, http_get, node_config, port_open, running_node, stop, storescu,
                                       wait_for)
from benchmarks.loopback.synthetic_series import mr_series, write_series
from tests.conftest import require_dcmtk

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]


def _receive(sock: socket.socket, messages: list[str], until: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while until not in messages:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            messages.extend(sock.recv(4096).decode().split("\n"))
        except socket.timeout:
            raise AssertionError(f"no {until} within {timeout} s; got {messages}") from None


def test_notifications_sigterm_and_health(tiny_model, tmp_path):
    require_dcmtk("storescu")
    config, ports = node_config(tmp_path, tiny_model, free_port())  # destination down on purpose
    files = write_series(mr_series(3), tmp_path / "scanner")
    short = Path(tempfile.mkdtemp(prefix="notify-", dir="/tmp"))  # AF_UNIX paths must stay short
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(short / "s"))
    messages: list[str] = []
    try:
        env = {**os.environ, "NOTIFY_SOCKET": str(short / "s"), "WATCHDOG_USEC": "2000000"}
        env.pop("WATCHDOG_PID", None)
        with running_node(config, ports, tmp_path / "node.log", env=env) as node:
            _receive(sock, messages, "READY=1", 30)
            assert port_open(ports["dicom"])  # READY only once the listener is up
            assert any(m.startswith("STATUS=serving as LOHIRES") for m in messages)
            messages.clear()
            _receive(sock, messages, "WATCHDOG=1", 5)

            code, body = http_get(ports["http"], "/health")
            assert code == 200 and json.loads(body)["listening"] is True
            assert http_get(ports["http"], "/nothing")[0] == 404

            assert storescu(ports["dicom"], files).returncode == 0
            outgoing = tmp_path / "spool" / "outgoing" / "DEST"
            wait_for(lambda: len(list(outgoing.iterdir())) == 3, 60, "3 instances waiting for the destination")
            assert stop(node) == 0
            _receive(sock, messages, "STOPPING=1", 1)
        assert len(list(outgoing.iterdir())) == 3  # unfinished work stays in the spool for the restart
        assert not port_open(ports["dicom"])
    finally:
        sock.close()
        (short / "s").unlink(missing_ok=True)
        short.rmdir()
