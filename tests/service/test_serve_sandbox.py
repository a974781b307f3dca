"""The whole node (receive, enhance on the CPU, send) inside the unit's sandbox settings that a test can check.

Under strace, with MemoryDenyWriteExecute applied by PR_SET_MDWE where the kernel has it: every system
call must be in the unit's SystemCallFilter=, every socket family in RestrictAddressFamilies=. systemd
answers a filtered call with EPERM, which a library may swallow; tracing catches what a run would not.
"""

from __future__ import annotations

import os
import signal

import pytest

from benchmarks.loopback.peers import free_port, node_config, storescp, storescu, wait_for
from benchmarks.loopback.synthetic_series import mr_series, write_series
from lohires_edge.service.install import UNIT_NAME, source_dir
from tests.conftest import require_programs
from tests.service.as_systemd import serving
from tests.service.syscalls import allowed_calls, setting, strace_command, traced_calls, traced_socket_families
from tests.service.test_serve_notify import START_TIMEOUT_S, STOP_TIMEOUT_S, messages_until

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]

UNIT = source_dir() / UNIT_NAME
# SQLite inside ONNX Runtime chowns its database to the caller only when that caller is root, as this
# test may be; the service never runs as root.
ROOT_ONLY = {"fchown"}
# glibc's getaddrinfo asks the kernel over netlink which address families have addresses; when the
# unit refuses the socket it assumes both IPv4 and IPv6 (check_pf.c), so resolving still works.
# Allowing AF_NETLINK would cost exposure for nothing.
REFUSED_WITH_FALLBACK = {"AF_NETLINK"}


def test_node_runs_within_the_units_system_call_and_socket_filters(tiny_model, tmp_path, notify_socket):
    require_programs("storescp", "storescu")
    allowed = allowed_calls(UNIT)
    families = {f for value in setting(UNIT, "RestrictAddressFamilies") for f in value.split()}
    trace = tmp_path / "strace.log"
    files = write_series(mr_series(2, rows=40, cols=36), tmp_path / "scanner")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    log = tmp_path / "node.log"
    with storescp(ports["dest"], tmp_path / "dest") as received, \
            serving(config, notify_socket.address, 30_000_000, log, home=tmp_path,
                    prefix=strace_command(trace)) as tracer:
        messages_until(notify_socket, "READY=1", START_TIMEOUT_S)
        assert storescu(ports["dicom"], files).returncode == 0
        wait_for(lambda: len(list(received.iterdir())) == 2, 120, "2 derived instances at storescp")
        os.kill(notify_socket.sender_pid, signal.SIGTERM)  # the node, not strace, which runs it
        assert tracer.wait(STOP_TIMEOUT_S) == 0, log.read_text()[-2000:]  # strace exits with the node's code

    used = traced_calls(trace)
    assert {"accept4", "connect", "sendto"} <= used  # the trace saw the listener, the sender and sd_notify
    assert used - allowed - (ROOT_ONLY if os.geteuid() == 0 else set()) == set()
    assert traced_socket_families(trace) - REFUSED_WITH_FALLBACK <= families
