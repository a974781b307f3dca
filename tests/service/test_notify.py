"""The sd_notify protocol as systemd reads it, against sockets the tests own."""

from __future__ import annotations

import logging
import os

from lohires_edge.service.notify import Notifier


def test_each_notification_is_one_datagram_in_order(notify_socket):
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "1000000"})
    assert notifier.enabled
    notifier.status("building engine")
    notifier.ready()
    notifier.watchdog()
    notifier.stopping()
    notifier.close()
    received = [notify_socket.receive() for _ in range(4)]
    assert received == ["STATUS=building engine", "READY=1", "WATCHDOG=1", "STOPPING=1"]


def test_status_is_kept_to_one_line(notify_socket):
    # A newline would start a new assignment: "serving\nREADY=1" must not mark the service ready.
    Notifier({"NOTIFY_SOCKET": notify_socket.address}).status("serving\nREADY=1")
    assert notify_socket.receive() == "STATUS=serving READY=1"


def test_abstract_namespace_socket(abstract_notify_socket):
    assert abstract_notify_socket.address.startswith("@")
    Notifier({"NOTIFY_SOCKET": abstract_notify_socket.address}).ready()
    assert abstract_notify_socket.receive() == "READY=1"


def test_without_notify_socket_nothing_is_sent(notify_socket, monkeypatch):
    # The process environment names a listener, but the environment given says there is no manager.
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.ready()
    notifier.watchdog()
    assert notify_socket.pending() == []


def test_default_environment_is_read(notify_socket, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", notify_socket.address)
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = Notifier()
    notifier.watchdog()
    assert notify_socket.receive() == "WATCHDOG=1"
    assert notifier.watchdog_interval == 1.5


def test_watchdog_interval_is_half_of_watchdog_usec():
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 10.0


def test_watchdog_meant_for_another_process_is_off(notify_socket):
    # A child that inherited its parent's variables must not ping on the parent's behalf.
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "20000000",
                         "WATCHDOG_PID": str(os.getpid() + 1)})
    assert notifier.watchdog_interval is None
    notifier.watchdog()
    notifier.status("still here")
    assert notify_socket.receive() == "STATUS=still here"


def test_no_watchdog_pings_without_watchdog_usec(notify_socket):
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.address})
    notifier.watchdog()
    notifier.ready()
    assert notify_socket.receive() == "READY=1"


def test_no_or_bad_watchdog_usec_means_no_watchdog(caplog):
    assert Notifier({}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None
    with caplog.at_level(logging.WARNING):
        assert Notifier({"WATCHDOG_USEC": "soon"}).watchdog_interval is None
    assert "WATCHDOG_USEC" in caplog.text


def test_unreachable_socket_is_logged_once_not_raised(tmp_path, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens"), "WATCHDOG_USEC": "1000000"})
    with caplog.at_level(logging.WARNING):
        notifier.ready()
        for _ in range(3):
            notifier.watchdog()
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["could not notify the service manager (READY)"]


def test_non_unix_notify_socket_is_ignored(caplog):
    with caplog.at_level(logging.WARNING):
        notifier = Notifier({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert "not a unix socket path" in caplog.text
