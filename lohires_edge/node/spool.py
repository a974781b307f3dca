"""The node's spool on disk: every handoff between listener, worker and sender is a file here.

    incoming/<SOPInstanceUID>.dcm          received, acknowledged, waiting for the worker
    outgoing/<destination>/<UID>.dcm       derived, waiting for the sender
    failed/<destination>/<UID>.dcm         past the retry budget; `lohires-edge spool retry` re-queues
    quarantine/<UID>.dcm                   received but unprocessable (kept for inspection)
    tmp/                                   partial writes; emptied at start

The quota check keeps a running count of the bytes in the spool (walked once, at the first write, then
kept up by every write and removal through this class); before refusing a write it walks the spool again,
so files removed by hand never make it refuse wrongly.

A file appears under its final name only complete (temp file, fsync, rename, fsync of the folder), so
a crash leaves either the whole instance or nothing. File names come only from UIDs checked by
`require_valid_uid`, never from any other dataset value.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from lohires_edge.atomic_file import fsync_dir, write_atomically
from lohires_edge.dicom.uids import require_valid_uid
from lohires_edge.errors import LohiresError

SUFFIX = ".dcm"


class SpoolFull(LohiresError):
    """The spool is over its quota or its disk is full."""


@dataclass(frozen=True)
class SpoolCounts:
    incoming: int
    outgoing: dict[str, int]
    failed: dict[str, int]
    quarantine: int
    bytes_used: int


class Spool:
    def __init__(self, root: Path, quota_bytes: int, destinations: Iterable[str], create: bool = True) -> None:
        """`create=False` is for the admin's `spool` commands: often run as root, they must not create folders
        that the service's own user then cannot write into. A missing folder then reads as empty."""
        self.root = Path(root)
        self.quota_bytes = quota_bytes
        self.destinations = tuple(destinations)
        self.incoming_dir = self.root / "incoming"
        self.quarantine_dir = self.root / "quarantine"
        self.tmp_dir = self.root / "tmp"
        self._lock = threading.Lock()  # the listener's threads, the worker and the senders write and remove
        self._used: int | None = None  # running count of bytes in the spool; None until the first write
        if not create:
            return
        for folder in (self.incoming_dir, self.quarantine_dir, self.tmp_dir,
                       *(self.outgoing_dir(d) for d in self.destinations),
                       *(self.failed_dir(d) for d in self.destinations)):
            folder.mkdir(parents=True, exist_ok=True)

    def outgoing_dir(self, destination: str) -> Path:
        return self.root / "outgoing" / destination

    def failed_dir(self, destination: str) -> Path:
        return self.root / "failed" / destination

    def clear_partial_writes(self) -> None:
        """Remove temp files a crash left behind; their instances were never acknowledged."""
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)

    def store_incoming(self, sop_instance_uid: str, data: bytes) -> Path:
        """Durably store a received instance; SpoolFull (nothing written) if over quota or out of disk."""
        return self._write(self.incoming_dir, sop_instance_uid, data)

    def store_outgoing(self, destination: str, sop_instance_uid: str, data: bytes) -> Path:
        return self._write(self.outgoing_dir(destination), sop_instance_uid, data)

    def incoming(self) -> list[Path]:
        """Received instances, oldest first (so a series is processed in arrival order)."""
        return _oldest_first(self.incoming_dir)

    def outgoing(self, destination: str) -> list[Path]:
        return _oldest_first(self.outgoing_dir(destination))

    def remove(self, path: Path) -> None:
        """Delete a spooled file (delivered, or processed) and take it off the running count."""
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:  # `spool retry` or another process moved it
            return
        self._release(size)

    def move_to_failed(self, destination: str, path: Path) -> Path:
        return _move(path, self.failed_dir(destination))

    def quarantine(self, path: Path) -> Path:
        return _move(path, self.quarantine_dir)

    def retry_failed(self) -> int:
        """Move every failed delivery back to its outgoing queue; returns how many."""
        moved = 0
        for destination in self.destinations:
            for path in _oldest_first(self.failed_dir(destination)):
                _move(path, self.outgoing_dir(destination))
                moved += 1
        return moved

    def bytes_used(self) -> int:
        total = 0
        for folder, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except FileNotFoundError:  # moved or sent while we counted
                    pass
        return total

    def counts(self) -> SpoolCounts:
        return SpoolCounts(incoming=len(self.incoming()),
                           outgoing={d: len(self.outgoing(d)) for d in self.destinations},
                           failed={d: len(_oldest_first(self.failed_dir(d))) for d in self.destinations},
                           quarantine=len(_oldest_first(self.quarantine_dir)), bytes_used=self.bytes_used())

    def _write(self, folder: Path, uid: str, data: bytes) -> Path:
        name = require_valid_uid(uid, "SOPInstanceUID") + SUFFIX
        final = folder / name
        self._reserve(len(data))
        try:
            write_atomically(final, data, tmp_dir=self.tmp_dir, mode=0o600)  # patient data: owner only
        except OSError as exc:
            self._release(len(data))
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise SpoolFull(f"disk of spool {self.root} is full; free space on it") from None
            raise
        return final

    def _reserve(self, size: int) -> None:
        with self._lock:
            if self._used is None or self._used + size > self.quota_bytes:
                self._used = self.bytes_used()  # the first write, or a recount before refusing
            if self._used + size > self.quota_bytes:
                quota_mib = self.quota_bytes // 1024 ** 2
                raise SpoolFull(f"spool {self.root} is over its quota of {quota_mib} MiB; free space by "
                                "delivering or removing failed instances, or raise node.spool_quota_mb")
            self._used += size

    def _release(self, size: int) -> None:
        with self._lock:
            if self._used is not None:
                self._used = max(0, self._used - size)


def _oldest_first(folder: Path) -> list[Path]:
    entries = []
    for path in folder.glob("*" + SUFFIX):
        try:
            entries.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:
            pass
    return [path for _, _, path in sorted(entries)]


def _move(path: Path, folder: Path) -> Path:
    target = folder / path.name
    os.replace(path, target)
    fsync_dir(folder)
    return target
