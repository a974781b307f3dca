"""Whole files or nothing: write through a temporary file, fsync it, rename it over the target, fsync the folder.

A crash or a full disk never leaves a half-written model, engine, volume or spooled instance under its final
name, and the temporary file is removed whenever the write fails.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(path: Path, tmp_dir: Path | None = None, suffix: str = ".part",
                mode: int | None = None) -> Iterator[Path]:
    """A temporary path to write `path` through; it becomes `path` only if the block completes.

    `tmp_dir` (default: the target's folder) must be on the same filesystem; `suffix` ends the temporary
    name, for writers that choose a format by extension (nibabel). The file gets `mode`, by default what
    an ordinary open() would give under the umask: a model written as root must stay readable by the
    service's own user, whereas patient data (the spool) asks for 0o600. The umask is never changed: it is
    process-wide, and other threads create files meanwhile.
    """
    path = Path(path)
    folder = Path(tmp_dir or path.parent)
    tmp = _create_temporary(folder, f".{path.name}.", suffix, 0o666 if mode is None else mode)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)  # exactly `mode`, whatever the umask took away at creation
        _fsync(tmp, os.O_RDONLY)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes, tmp_dir: Path | None = None, mode: int | None = None) -> None:
    """Write `data` to `path` whole or not at all."""
    with atomic_path(path, tmp_dir, mode=mode) as tmp:
        tmp.write_bytes(data)


def fsync_dir(folder: Path) -> None:
    """Make a rename or removal in `folder` durable."""
    _fsync(folder, os.O_RDONLY | os.O_DIRECTORY)


def _create_temporary(folder: Path, prefix: str, suffix: str, mode: int) -> Path:
    """A new empty file with a random name, created with `mode` under the umask (as open() would)."""
    while True:
        tmp = folder / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
            return tmp
        except FileExistsError:  # 64 random bits: practically never
            continue


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
