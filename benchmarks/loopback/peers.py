"""Real DICOM peers on loopback for the node tests and benchmarks: the node itself (a subprocess), dcmtk, Orthanc.

Every wait is bounded; every process started here is stopped by the context manager that started it.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

from lohires_edge.dicom.dcmtk import dcmtk_program

NODE_AE, SCANNER_AE, DEST_AE = "LOHIRES", "SCANNER", "DEST"


class PeerMissing(RuntimeError):
    """A peer program (dcmtk) is not installed; tests skip before they get here (tests.conftest.require_dcmtk)."""


def program(name: str) -> str:
    """Path of one of our console scripts in the running environment (the venv need not be activated)."""
    return str(Path(sys.executable).with_name(name))


def dcmtk(name: str) -> str:
    """dcmtk's `name`, never pynetdicom's console script of that name."""
    found = dcmtk_program(name)
    if found is None:
        raise PeerMissing(f"dcmtk's {name} is not installed (Debian package dcmtk; `make test` installs it)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def node_config(tmp: Path, model: Path, dest_port: int, **overrides: object) -> tuple[Path, dict]:
    """Write a node config for loopback tests; returns its path and the ports it uses."""
    ports = {"dicom": free_port(), "http": free_port(), "dest": dest_port}
    callers = overrides.pop("callers", f'[[node.allowed_callers]]\nae_title = "{SCANNER_AE}"\nhost = "127.0.0.1"\n')
    sending = overrides.pop("sending", "retries = 50\nbackoff_initial = 0.2\nbackoff_max = 1.0\n")
    text = f"""
[node]
ae_title = "{NODE_AE}"
host = "127.0.0.1"
port = {ports['dicom']}
spool_dir = "{tmp / 'spool'}"
dimse_timeout = 10
acse_timeout = 10
network_timeout = 10
{overrides.pop('node_extra', '')}
{callers}
[[models]]
sequence = "T1"
path = "{model}"

[[destinations]]
ae_title = "{DEST_AE}"
host = "127.0.0.1"
port = {dest_port}

[sending]
{sending}
[telemetry]
port = {ports['http']}
"""
    path = tmp / "node.toml"
    path.write_text(text)
    return path, ports


@contextlib.contextmanager
def running_node(config: Path, ports: dict, log: Path, env: dict[str, str] | None = None
                 ) -> Iterator[subprocess.Popen]:
    """`lohires-edge -v serve` until healthy; SIGTERM (then SIGKILL) on exit unless already gone."""
    with open(log, "ab") as sink:
        proc = subprocess.Popen([program("lohires-edge"), "-v", "serve", "--config", str(config)],
                                stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: proc.poll() is not None or (port_open(ports["http"])
                                                     and http_get(ports["http"], "/health")[0] == 200),
                 120, "the node to become healthy")
        assert proc.poll() is None, f"node exited with {proc.returncode}: {log.read_text()[-2000:]}"
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


@contextlib.contextmanager
def storescp(port: int, folder: Path, log: Path | None = None) -> Iterator[Path]:
    """dcmtk's storescp as the destination, writing every received instance into `folder`; with `log`,
    its verbose output (one "Association Acknowledged" line per association) goes there."""
    folder.mkdir(parents=True, exist_ok=True)
    verbose = ["-v"] if log else []
    with open(log or "/dev/null", "ab") as sink:
        proc = subprocess.Popen([dcmtk("storescp"), *verbose, "-aet", DEST_AE, "-od", str(folder), str(port)],
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: port_open(port), 20, "storescp to listen")
        yield folder
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def orthanc(tmp: Path, dicom_port: int, node_port: int) -> Iterator[int]:
    """Orthanc as the destination (own storage, DICOM and HTTP ports); yields its HTTP port."""
    http_port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "orthanc.json"
    config.write_text(json.dumps({
        "Name": "lohires-test", "StorageDirectory": str(tmp / "db"), "IndexDirectory": str(tmp / "db"),
        "DicomAet": DEST_AE, "DicomPort": dicom_port, "HttpPort": http_port, "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "DicomCheckCalledAet": True, "Plugins": [],
        "DicomModalities": {"node": [NODE_AE, "127.0.0.1", node_port]},
        "DicomAlwaysAllowStore": True,
    }))
    proc = subprocess.Popen(["/usr/sbin/Orthanc", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: port_open(dicom_port) and port_open(http_port), 60, "Orthanc to listen")
        yield http_port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def orthanc_sop_uids(http_port: int) -> list[str]:
    """SOP Instance UIDs of every instance Orthanc holds (one entry per stored instance)."""
    _, body = http_get(http_port, "/instances?expand")
    return [item["MainDicomTags"]["SOPInstanceUID"] for item in json.loads(body)]


def storescu(port: int, files: list[Path], calling: str = SCANNER_AE, options: tuple[str, ...] = ()
             ) -> subprocess.CompletedProcess:
    """dcmtk's storescu sending `files` to the node; `options` such as ("-xb",) (propose big endian only)."""
    return subprocess.run([dcmtk("storescu"), *options, "-aet", calling, "-aec", NODE_AE, "127.0.0.1",
                           str(port), *map(str, files)], capture_output=True, text=True, timeout=120)


def echoscu(port: int, calling: str = SCANNER_AE, called: str = NODE_AE) -> subprocess.CompletedProcess:
    return subprocess.run([dcmtk("echoscu"), "-aet", calling, "-aec", called, "127.0.0.1", str(port)],
                          capture_output=True, text=True, timeout=60)
