"""A notify socket the test owns: the service manager's end of sd_notify, on loopback unix sockets."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


class NotifyListener:
    """Receives the datagrams a Notifier (or `serve`) sends, as systemd would."""

    def __init__(self, sock: socket.socket, address: str) -> None:
        self.sock = sock
        self.address = address  # the value for NOTIFY_SOCKET

    def receive(self, timeout: float = 5.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def pending(self) -> list[str]:
        """Every datagram already queued, without waiting."""
        self.sock.setblocking(False)
        messages = []
        try:
            while True:
                messages.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return messages


@pytest.fixture
def notify_socket() -> Iterator[NotifyListener]:
    # A short directory of its own: AF_UNIX paths are limited to 107 bytes, pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="lohires-notify-") as folder:
        path = str(Path(folder) / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        try:
            yield NotifyListener(sock, path)
        finally:
            sock.close()


@pytest.fixture
def abstract_notify_socket() -> Iterator[NotifyListener]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0")  # autobind: the kernel picks a unique abstract name
    name = sock.getsockname()
    try:
        yield NotifyListener(sock, "@" + name[1:].decode())
    finally:
        sock.close()
