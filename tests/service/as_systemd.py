"""Start `lohires-edge serve` the way the unit does, as far as a test can without systemd as PID 1.

Like systemd: NOTIFY_SOCKET names a socket the test owns, WATCHDOG_USEC is set and WATCHDOG_PID is the
pid of the serving process itself (the launcher sets it, then execs in the same process), and
MemoryDenyWriteExecute is applied by the kernel's PR_SET_MDWE, which execve keeps (Linux 6.3+; skipped
silently on older kernels: the notify protocol does not depend on it).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks.loopback.peers import program, stop

LAUNCHER = """
import ctypes, os, sys
os.environ["WATCHDOG_PID"] = str(os.getpid())
ctypes.CDLL(None).prctl(65, 1, 0, 0, 0)  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
os.execv(sys.argv[1], sys.argv[1:])
"""


@contextlib.contextmanager
def serving(config: Path, notify_address: str, watchdog_usec: int, log: Path, home: Path,
            prefix: list[str] = ()) -> Iterator[subprocess.Popen]:
    """`lohires-edge -v serve --config CONFIG` with the service manager's environment; stopped on exit.

    `home`: the unit sets HOME to the state directory. `prefix`: a command to run it under (strace).
    """
    env = {**os.environ, "NOTIFY_SOCKET": notify_address, "WATCHDOG_USEC": str(watchdog_usec), "HOME": str(home)}
    env.pop("WATCHDOG_PID", None)
    command = [*prefix, sys.executable, "-c", LAUNCHER, program("lohires-edge"), "-v", "serve",
               "--config", str(config)]
    with open(log, "ab") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        stop(proc)
