"""A notify socket the test owns: the service manager's end of sd_notify, on loopback unix sockets."""

from __future__ import annotations

import socket
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


class NotifyListener:
    """Receives the datagrams a Notifier (or `serve`) sends, as systemd would."""

    def __init__(self, sock: socket.socket, address: str) -> None:
        # Like systemd, ask the kernel for each sender's credentials (NotifyAccess=main checks the pid).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock = sock
        self.address = address  # the value for NOTIFY_SOCKET
        self.sender_pid: int | None = None  # of the last datagram received

    def receive(self, timeout: float = 5.0) -> str:
        self.sock.settimeout(timeout)
        data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                self.sender_pid = struct.unpack("3i", payload[:struct.calcsize("3i")])[0]
        return data.decode()

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
