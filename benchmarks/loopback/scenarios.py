"""The load and SIGKILL scenarios, shared by tests/reliability (small sizes, asserted) and
benchmarks/reliability.py (longer runs, reported).

Each kill is placed by watching the node's own log events (`event=spooled`, `event=enhanced`) or the
destination's received count, and the scenario checks that it fell inside that phase (the phase's queue
was neither empty nor finished), raising AssertionError if it did not.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator

from pydicom import dcmread

from benchmarks.loopback.destination import Recorder, log_events, proc_status_kib, recording_destination
from benchmarks.loopback.peers import (NODE_AE, SCANNER_AE, dcmtk, free_port, node_config, program, running_node,
                                       storescu, wait_for)
from benchmarks.loopback.synthetic_series import mr_series, write_series
from lohires_edge.contract import read_contract
from lohires_edge.dicom.uids import derived_uid

DELIVERY_TIMEOUT_S = 600


@dataclass
class Outcome:
    expected: set[str]  # derived SOP Instance UIDs the destination should hold
    counts: Counter  # C-STOREs the destination answered, per SOP Instance UID
    log: str  # the node's log over the whole scenario
    peak_rss_mib: float | None = None

    @property
    def lost(self) -> int:
        return len(self.expected - set(self.counts))

    @property
    def unexpected(self) -> int:
        """Instances the destination got that are not the expected ones (a second UID for a slice)."""
        return len(set(self.counts) - self.expected)

    @property
    def resends(self) -> int:
        return sum(self.counts.values()) - len(self.counts)

    @property
    def unconfirmed_stores(self) -> int:
        """Stores the node logged as not confirmed by the destination: the only reason it may re-send."""
        return self.log.count("event=delivery_refused ")


def expected_uids(files: list[Path], model: Path) -> set[str]:
    model_id = read_contract(model).model_id
    return {derived_uid(dcmread(f, stop_before_pixels=True).SOPInstanceUID, model_id, "instance") for f in files}


def scanner(port: int, files: list[Path]) -> subprocess.Popen:
    """dcmtk storescu sending `files` over one association, in the background."""
    return subprocess.Popen([dcmtk("storescu"), "-aet", SCANNER_AE, "-aec", NODE_AE, "127.0.0.1", str(port),
                             *map(str, files)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def load(model: Path, work: Path, scanners: int, slices: int, size: int = 24) -> Outcome:
    """`scanners` storescu processes each send a `slices`-slice series at once; wait for every derivative."""
    series = [write_series(mr_series(slices, rows=size, cols=size, seed=s), work / f"scanner{s}")
              for s in range(scanners)]
    expected = {uid for files in series for uid in expected_uids(files, model)}
    config, ports = node_config(work, model, free_port())
    log = work / "node.log"
    with recording_destination(ports["dest"]) as destination, running_node(config, ports, log) as node:
        senders = [scanner(ports["dicom"], files) for files in series]
        for sender in senders:
            output, _ = sender.communicate(timeout=DELIVERY_TIMEOUT_S)
            assert sender.returncode == 0, output
        wait_for(lambda: set(destination.counts()) >= expected, DELIVERY_TIMEOUT_S, f"{len(expected)} derivatives")
        peak = proc_status_kib(node.pid, "VmHWM") / 1024
    return Outcome(expected, destination.counts(), log.read_text(), peak)


def slice_latencies(log: str) -> list[float]:
    """Per slice, seconds from the node spooling the source to the destination confirming its derivative."""
    stamp = r"^(\S+ \S+) .*?"
    spooled = {m[1]: _time(m[0]) for m in re.findall(stamp + r"event=spooled sop=(\S+)", log, re.M)}
    derived = dict(re.findall(r"event=enhanced sop=(\S+) .*?derived_sop=(\S+)", log))
    delivered = {m[1]: _time(m[0]) for m in re.findall(stamp + r"event=delivered sop=(\S+)", log, re.M)}
    return [delivered[derived[sop]] - t for sop, t in spooled.items() if derived.get(sop) in delivered]


def _time(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


@contextlib.contextmanager
def spawned_node(config: Path, log: Path) -> Iterator[subprocess.Popen]:
    """The node without waiting for health, so a kill can land while it is still catching up on its spool."""
    with open(log, "ab") as sink:
        proc = subprocess.Popen([program("lohires-edge"), "-v", "serve", "--config", str(config)],
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(10)


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dcm"))


def _all_complete(spool: Path) -> None:
    """Every file under a final name is a whole instance: a kill may only leave partial writes in tmp/."""
    for path in [*_files(spool / "incoming"), *_files(spool / "outgoing" / "DEST")]:
        ds = dcmread(path)
        assert ds.pixel_array.shape == (ds.Rows, ds.Columns), path.name
        assert path.stem == ds.SOPInstanceUID


def _preload_incoming(files: list[Path], spool: Path) -> None:
    """The spool as the listener leaves it: each received instance as <SOPInstanceUID>.dcm in incoming/."""
    (spool / "incoming").mkdir(parents=True, exist_ok=True)
    for f in files:
        uid = dcmread(f, stop_before_pixels=True).SOPInstanceUID
        (spool / "incoming" / f"{uid}.dcm").write_bytes(f.read_bytes())


def kill_during_receive(model: Path, work: Path, slices: int, kills: int, step: int) -> Outcome:
    """SIGKILL `kills` times while storescu sends the series, `step` spooled instances after each start;
    then the scanner re-sends the series whose transfer failed, to a restarted node."""
    # 192x192 slices (72 KiB each, fsync'd one by one) keep the transfer long enough for the kill to land in it
    files = write_series(mr_series(slices, rows=192, cols=192), work / "scanner")
    config, ports = node_config(work, model, free_port())
    log = work / "node.log"
    with recording_destination(ports["dest"]) as destination:
        for _ in range(kills):
            with running_node(config, ports, log) as node:
                before = log_events(log, "spooled")
                sender = scanner(ports["dicom"], files)
                wait_for(lambda: log_events(log, "spooled") >= before + step, 60, "instances spooled", 0.01)
                _kill(node)
                sender.communicate(timeout=60)
                assert sender.returncode != 0, "the kill came after the whole series was received"
            _all_complete(work / "spool")
        with running_node(config, ports, log):
            assert storescu(ports["dicom"], files).returncode == 0
            expected = expected_uids(files, model)
            wait_for(lambda: set(destination.counts()) >= expected, DELIVERY_TIMEOUT_S, "the whole series")
    return Outcome(expected, destination.counts(), log.read_text())


def kill_during_inference(model: Path, work: Path, slices: int, kills: int, step: int) -> Outcome:
    """SIGKILL `kills` times while the worker goes through a full spool, `step` enhanced slices after each
    start (destination down, so the worker is the only thing moving); then restart with it up."""
    files = write_series(mr_series(slices, rows=160, cols=160), work / "scanner")
    config, ports = node_config(work, model, free_port())
    spool, log = work / "spool", work / "node.log"
    _preload_incoming(files, spool)
    for _ in range(kills):
        left = len(_files(spool / "incoming"))
        with spawned_node(config, log) as node:
            before = log_events(log, "enhanced")
            wait_for(lambda: log_events(log, "enhanced") >= before + step, 120, "slices enhanced", 0.01)
            _kill(node)
        assert 0 < len(_files(spool / "incoming")) < left, "the kill did not land mid-way through the spool"
        _all_complete(spool)
    with recording_destination(ports["dest"]) as destination, running_node(config, ports, log):
        expected = expected_uids(files, model)
        wait_for(lambda: set(destination.counts()) >= expected, DELIVERY_TIMEOUT_S, "the whole series")
    return Outcome(expected, destination.counts(), log.read_text())


def kill_during_sending(model: Path, work: Path, slices: int, kills: int, step: int) -> Outcome:
    """With every derivative queued, SIGKILL `kills` times while the node delivers them to a slow
    destination (20 ms a store), `step` deliveries after each start; then restart until the queue drains."""
    files = write_series(mr_series(slices), work / "scanner")
    config, ports = node_config(work, model, free_port())
    spool, log = work / "spool", work / "node.log"
    _preload_incoming(files, spool)
    with running_node(config, ports, log):
        wait_for(lambda: len(_files(spool / "outgoing" / "DEST")) == slices, DELIVERY_TIMEOUT_S, "all queued")
    destination = Recorder(seconds_per_store=0.02)
    with recording_destination(ports["dest"], destination):
        for _ in range(kills):
            queued = len(_files(spool / "outgoing" / "DEST"))
            with spawned_node(config, log) as node:
                before = sum(destination.counts().values())
                wait_for(lambda: sum(destination.counts().values()) >= before + step, 60, "deliveries", 0.01)
                _kill(node)
            assert 0 < len(_files(spool / "outgoing" / "DEST")) < queued, "the kill did not land mid-queue"
            _all_complete(spool)
        with running_node(config, ports, log):
            wait_for(lambda: not _files(spool / "outgoing" / "DEST"), DELIVERY_TIMEOUT_S, "the queue to drain")
    return Outcome(expected_uids(files, model), destination.counts(), log.read_text())
