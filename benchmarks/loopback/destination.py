"""A recording destination (pynetdicom Storage SCP on loopback) and node-process probes for the reliability tests.

Orthanc and storescp store a re-sent instance once, so they cannot show a duplicate; this peer keeps
every C-STORE it answered, so "exactly once" is checked on what crossed the wire, by SOP Instance UID.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE, evt

from benchmarks.loopback.peers import DEST_AE


class Recorder:
    """Every SOP Instance UID answered Success, in arrival order (a re-send appears twice)."""

    def __init__(self, seconds_per_store: float = 0.0) -> None:
        self._lock = threading.Lock()
        self.received: list[str] = []
        self.seconds_per_store = seconds_per_store  # a slow destination widens the sending phase

    def on_store(self, event: evt.Event) -> int:
        uid = str(event.request.AffectedSOPInstanceUID)
        time.sleep(self.seconds_per_store)
        with self._lock:
            self.received.append(uid)
        return 0x0000

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.received)


@contextlib.contextmanager
def recording_destination(port: int, recorder: Recorder | None = None) -> Iterator[Recorder]:
    recorder = recorder or Recorder()
    ae = AE(ae_title=DEST_AE)
    ae.maximum_associations = 8
    ae.add_supported_context(MRImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_STORE, recorder.on_store)])
    try:
        yield recorder
    finally:
        server.shutdown()


def proc_status_kib(pid: int, field: str) -> int:
    """A memory figure of a live process from /proc/<pid>/status (VmHWM is the peak RSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def log_events(log: Path, event: str) -> int:
    """How many `event=<event>` lines the node has logged so far."""
    try:
        return log.read_text(errors="replace").count(f"event={event} ")
    except FileNotFoundError:
        return 0
