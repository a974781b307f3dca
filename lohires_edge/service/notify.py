"""sd_notify over a plain AF_UNIX datagram socket, so `serve` tells systemd when it is ready and alive.

The protocol is small (newline-separated KEY=VALUE datagrams to $NOTIFY_SOCKET), so a dependency on
libsystemd or a wrapper library would buy nothing. Without NOTIFY_SOCKET every call does nothing, so
`serve` behaves the same outside systemd. Reference: sd_notify(3), sd_watchdog_enabled(3).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 to the service manager, if there is one.

    A failed send is logged, never raised: losing a status line must not take the node down, and if
    READY=1 or the watchdog pings cannot reach systemd, systemd itself restarts the service.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_interval = _watchdog_interval(env)
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._failed = False

    @property
    def enabled(self) -> bool:
        """True when a service manager listens (NOTIFY_SOCKET is set)."""
        return self._address is not None

    def ready(self) -> None:
        """The listener is up and the model loaded: systemd may consider the start complete."""
        self.send("READY=1")

    def status(self, text: str) -> None:
        """A one-line status for `systemctl status`; the node sends "loading models", then "serving as"."""
        self.send("STATUS=" + " ".join(text.split()))

    def watchdog(self) -> None:
        """Proof of life; call it from the processing loop, at least every `watchdog_interval` seconds.

        Nothing is sent when no watchdog is meant for this process (see `watchdog_interval`).
        """
        if self.watchdog_interval is not None:
            self.send("WATCHDOG=1")

    def stopping(self) -> None:
        """Shutdown has begun (SIGTERM): systemd waits for the exit instead of counting a failure."""
        self.send("STOPPING=1")

    def send(self, message: str) -> None:
        """Send one datagram of newline-separated KEY=VALUE assignments; a no-op without NOTIFY_SOCKET."""
        if self._address is None:
            return
        with self._lock:
            try:
                if self._socket is None:
                    self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.sendto(message.encode("utf-8"), self._address)
            except OSError as exc:
                # Once as a warning: the watchdog pings twice a second and would flood the journal.
                level = logging.DEBUG if self._failed else logging.WARNING
                self._failed = True
                log.log(level, "could not notify the service manager (%s): %s", message.split("=")[0], exc)

    def close(self) -> None:
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None


def _socket_address(value: str) -> str | bytes | None:
    """NOTIFY_SOCKET as a connectable address: a filesystem path, or '@name' for the abstract namespace."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    if value:
        # systemd also speaks vsock (vsock:CID:PORT) to VMs; a Jetson service never gets that.
        log.warning("NOTIFY_SOCKET=%r is not a unix socket path; notifications are off", value)
    return None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds between pings (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises), or None.

    WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the variables
    must not ping on its parent's behalf.
    """
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number of microseconds; the watchdog is off", usec)
        return None
    return value / 2_000_000 if value > 0 else None
