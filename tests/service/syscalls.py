"""What the unit's sandbox allows, per systemd-analyze and the unit file, and what a traced process did, per strace."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

from tests.conftest import require_programs

_CALL = re.compile(r"^\d+\s+([a-z_0-9]+)\(")
_SOCKET = re.compile(r"^\d+\s+socket\((AF_[A-Z0-9]+)")


@cache
def expand(name: str) -> frozenset[str]:
    """A system call, or a group (@system-service) expanded recursively by systemd's own table."""
    if not name.startswith("@"):
        return frozenset([name])
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                         check=True).stdout
    members = [line.strip() for line in out.splitlines()[1:] if line.startswith("    ") and "#" not in line]
    return frozenset().union(*(expand(m) for m in members if m))


def setting(unit: Path, name: str) -> list[str]:
    """The values of every `name=` line of a unit file, in order."""
    return [line.partition("=")[2] for line in unit.read_text().splitlines() if line.startswith(f"{name}=")]


def allowed_calls(unit: Path) -> frozenset[str]:
    """The allow-list of the unit's SystemCallFilter= lines, in order: the first sets it, '~' lines subtract."""
    require_programs("systemd-analyze")
    allowed: frozenset[str] | None = None
    for value in setting(unit, "SystemCallFilter"):
        names = frozenset().union(*(expand(n) for n in value.lstrip("~").split()))
        if value.startswith("~"):
            allowed = (allowed or frozenset()) - names
        else:
            allowed = names if allowed is None else allowed | names
    assert allowed is not None, f"{unit} has no SystemCallFilter="
    return allowed


def strace_command(trace: Path) -> list[str]:
    """A prefix that runs a command under strace, following threads and children, into `trace`."""
    require_programs("strace")
    return ["strace", "-f", "-qq", "-s", "0", "-o", str(trace)]


def traced_calls(trace: Path) -> set[str]:
    """The system calls a full strace log names (a call split by another thread counts once, by its start)."""
    with trace.open() as lines:
        return {m.group(1) for m in map(_CALL.match, lines) if m}


def traced_socket_families(trace: Path) -> set[str]:
    with trace.open() as lines:
        return {m.group(1) for m in map(_SOCKET.match, lines) if m}
