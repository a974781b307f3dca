"""What the unit's SystemCallFilter= allows, per systemd-analyze, and what a traced process called, per strace."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from tests.conftest import require_programs


@cache
def expand(name: str) -> frozenset[str]:
    """A system call, or a group (@system-service) expanded recursively by systemd's own table."""
    if not name.startswith("@"):
        return frozenset([name])
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                         check=True).stdout
    members = [line.strip() for line in out.splitlines()[1:] if line.startswith("    ") and "#" not in line]
    return frozenset().union(*(expand(m) for m in members if m))


def allowed_by(unit: Path) -> frozenset[str]:
    """The allow-list of the unit's SystemCallFilter= lines, in order: the first sets it, '~' lines subtract."""
    require_programs("systemd-analyze")
    allowed: frozenset[str] | None = None
    for line in unit.read_text().splitlines():
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.partition("=")[2]
        names = frozenset().union(*(expand(n) for n in value.lstrip("~").split()))
        if value.startswith("~"):
            allowed = (allowed or frozenset()) - names
        else:
            allowed = names if allowed is None else allowed | names
    assert allowed is not None, f"{unit} has no SystemCallFilter="
    return allowed


def strace_command(summary: Path) -> list[str]:
    """A prefix that runs a command under strace, following threads and children, counting system calls."""
    require_programs("strace")
    return ["strace", "-f", "-qq", "-c", "-o", str(summary)]


def traced(summary: Path) -> set[str]:
    """The system calls named in a `strace -c` summary table."""
    names = set()
    for line in summary.read_text().splitlines():
        fields = line.split()
        if fields and fields[0][0].isdigit() and fields[-1] != "total":
            names.add(fields[-1])
    return names
