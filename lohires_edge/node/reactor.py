"""A pause of a pynetdicom association's reactor that is confirmed, so a C-STORE response always reaches
the send that waits for it.

Each association has a reactor thread that polls the DIMSE queue and serves what it finds. While a
`send_*` call waits for its response, pynetdicom 3.0.4 pauses the reactor: the sending thread clears
`_reactor_checkpoint` and spins until `_is_paused` is true. The reactor sets `_is_paused` just before it
waits on the checkpoint and clears it just after, so for a moment after passing an open checkpoint it is
still marked paused. A send that starts in that moment goes out while the reactor is about to poll the
queue; when the response is queued before the sender waits for it, the reactor takes it ("Received
unexpected C-STORE service message"), and the send waits out `dimse_timeout` and aborts. Under CPU
contention the scheduler stretches that moment (pynetdicom issues #435 and #875 are the same race).

`ReactorCheckpoint` replaces the association's checkpoint (an EVT_ESTABLISHED handler installs it, before
the reactor thread starts) and knows when the reactor is parked on it. `hold` closes it and returns once
the reactor is parked there: the reactor cannot leave until the checkpoint is opened again, which the send
does after taking its response. A send must never overlap another on the same association (the sender
has one thread per association).
"""

from __future__ import annotations

import threading

from pynetdicom import evt
from pynetdicom.association import Association

# How often `hold` looks whether the reactor thread is still alive while it waits for it to park.
_POLL_S = 0.01


class ReactorCheckpoint:
    """Stands in for the association's `_reactor_checkpoint` (pynetdicom calls set, clear and wait)."""

    def __init__(self, assoc: Association) -> None:
        self._assoc = assoc
        self._changed = threading.Condition()
        self._open = True
        self._parked = 0  # threads waiting on the closed checkpoint: the reactor, or nobody

    def set(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._open = False

    def wait(self, timeout: float | None = None) -> bool:
        """Pass while open; else park until opened. A wake-up that finds it closed again parks again."""
        with self._changed:
            self._parked += 1
            self._changed.notify_all()  # a `hold` waiting for the reactor to park
            try:
                return self._changed.wait_for(lambda: self._open, timeout)
            finally:
                self._parked -= 1

    def hold(self) -> None:
        """Close the checkpoint; return once the reactor is parked on it, or its thread has ended (the
        association is gone, and nothing is left to take a response)."""
        with self._changed:
            self._open = False
            while not self._parked and self._assoc.is_alive():
                self._changed.wait(_POLL_S)


def install_checkpoint(event: evt.Event) -> None:
    """EVT_ESTABLISHED: give the new association a checkpoint whose pause `hold_reactor` can confirm."""
    event.assoc._reactor_checkpoint = ReactorCheckpoint(event.assoc)


def hold_reactor(assoc: Association) -> None:
    """Call before each send_* (and release) on `assoc`, opened with `install_checkpoint`: the reactor stays
    parked until that call has its response."""
    assoc._reactor_checkpoint.hold()
