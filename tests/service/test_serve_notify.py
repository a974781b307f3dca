"""`serve` speaks sd_notify as the unit expects: READY=1 once it listens, watchdog pings, clean SIGTERM."""

from __future__ import annotations

import signal
import socket
import time

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from benchmarks.loopback.peers import NODE_AE, SCANNER_AE, free_port, node_config, port_open
from lohires_edge.node.config import load_config
from lohires_edge.service.install import source_dir
from tests.service.as_systemd import serving

pytestmark = pytest.mark.slow

WATCHDOG_USEC = 10_000_000  # systemd would restart a node silent for this long
START_TIMEOUT_S = 120  # generous bounds for a shared CPU; the unit's TimeoutStartSec is 120 s too
STOP_TIMEOUT_S = 30  # the unit's TimeoutStopSec


def messages_until(listener, wanted: str, timeout: float) -> list[str]:
    """Every datagram up to and including the first that is `wanted`; fails after `timeout` seconds."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        try:
            seen.append(listener.receive(timeout=max(left, 0.01)))
        except socket.timeout:
            raise AssertionError(f"no {wanted} within {timeout:.0f} s; got {seen}") from None
    return seen


def test_ready_watchdog_and_sigterm(tiny_model, tmp_path, notify_socket):
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with serving(config, notify_socket.address, WATCHDOG_USEC, log, home=tmp_path) as proc:
        before_ready = messages_until(notify_socket, "READY=1", START_TIMEOUT_S)
        assert proc.poll() is None, log.read_text()[-2000:]
        assert notify_socket.sender_pid == proc.pid  # the main process itself (NotifyAccess=main)
        # READY=1 means the listener is up: the port answers at once, not eventually.
        assert port_open(ports["dicom"])
        assert "STATUS=loading models" in before_ready
        assert c_echo(ports["dicom"]) == 0x0000

        # Pings keep coming, each within WATCHDOG_USEC of the last (systemd's restart threshold).
        for _ in range(5):
            messages_until(notify_socket, "WATCHDOG=1", WATCHDOG_USEC / 1e6)
            assert notify_socket.sender_pid == proc.pid

        proc.send_signal(signal.SIGTERM)
        after_term = messages_until(notify_socket, "STOPPING=1", STOP_TIMEOUT_S)
        assert proc.wait(STOP_TIMEOUT_S) == 0, log.read_text()[-2000:]
    assert "READY=1" not in after_term
    assert not port_open(ports["dicom"])


def c_echo(port: int) -> int:
    """A C-ECHO from an allowed caller, with pynetdicom: the status the node answered."""
    ae = AE(ae_title=SCANNER_AE)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title=NODE_AE)
    assert assoc.is_established
    try:
        return assoc.send_c_echo().Status
    finally:
        assoc.release()


def test_example_config_is_a_valid_node_config(tiny_model, tmp_path):
    """The shipped example names every key the node knows by its right name (unknown keys are errors)."""
    text = (source_dir() / "config.example.toml").read_text()
    assert '"/var/lib/lohires-edge/models/t1.onnx"' in text
    config = tmp_path / "config.toml"
    config.write_text(text.replace('"/var/lib/lohires-edge/models/t1.onnx"', f'"{tiny_model}"'))
    loaded = load_config(config)
    assert loaded.port == 11112 and loaded.ae_title == "LOHIRES"
    assert str(loaded.spool_dir).startswith("/var/lib/lohires-edge/")
    assert str(loaded.engines_dir).startswith("/var/lib/lohires-edge/")
