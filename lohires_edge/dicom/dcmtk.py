"""Where dcmtk's command-line programs are, never mistaking pynetdicom's console scripts for them.

pynetdicom installs `storescu`, `storescp`, `echoscu` (and more) into the environment's bin folder,
with other options than dcmtk's. With a virtualenv first on PATH, `shutil.which("storescu")` finds
pynetdicom's script, which then fails on dcmtk's flags. The demo, the tests and the benchmarks use
`dcmtk_program` instead: it walks PATH and takes the first program whose `--version` names dcmtk.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

VERSION_TIMEOUT_S = 10.0


def dcmtk_program(name: str, path: str | None = None) -> str | None:
    """Absolute path of dcmtk's `name` on `path` (default: $PATH), or None where dcmtk lacks it."""
    return _first_dcmtk(name, os.environ.get("PATH", "") if path is None else path)


@functools.lru_cache(maxsize=None)
def _first_dcmtk(name: str, path: str) -> str | None:
    for folder in path.split(os.pathsep):
        candidate = shutil.which(name, path=folder) if folder else None
        if candidate and _is_dcmtk(candidate):
            return os.path.abspath(candidate)
    return None


def _is_dcmtk(program: str) -> bool:
    """dcmtk's programs print "$dcmtk: <name> v3.x ..." for --version; pynetdicom's do not."""
    try:
        result = subprocess.run([program, "--version"], capture_output=True, text=True,
                                timeout=VERSION_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return False
    return "$dcmtk:" in result.stdout + result.stderr
