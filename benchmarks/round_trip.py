"""Items 2, 3 and 5: the DICOM round trip through the node for N slices, the node listener's receive rate
against dcmtk storescp, and the node's peak memory.

    .venv/bin/python -m benchmarks.round_trip [--model ONNX] [--counts 20,50,100,200] [--series DIR]

Per N: a series of N slices (benchmarks/series.py: copies of a simulated 64 mT T1 series with fresh UIDs),
a fresh `lohires-edge serve` node and a dcmtk storescp receiver (trainer/demo.py's peers and config). The
clock starts just before dcmtk storescu opens its association to the node and stops at the modification
time of the last derived file storescp wrote (storescp acknowledges right after writing it). The node's
peak RSS is VmHWM in /proc/<pid>/status, read before it is stopped. After the node has stopped, the same N
slices are run through the same model in this process (slice mapping, then timed backend runs of batch 1,
as the node's worker does), which gives the raw inference time and the ratio, and then through the
worker's three steps one after another, timed each (where a slice's time goes with nothing beside it).
A straight line is fitted to total time against N. Receive throughput: the same --receive-count series
sent by storescu to the node's listener alone (lohires_edge.node.listener, in this process, fsync per
instance), to storescp, and to a bare pynetdicom AE in this process whose C-STORE handler answers Success
at once (no decode, no disk): pynetdicom's own ceiling on this box, which bounds what any listener built
on it can reach.

dcmtk 3.6 leaves Nagle's algorithm on unless the environment says TCP_NODELAY=1; with it on, every C-STORE
waits on a delayed ACK (30 slices: 2.7 s instead of 0.04 s, storescu -> storescp here). The dcmtk peers
started here get TCP_NODELAY=1 (--tcp-nodelay 0 to measure dcmtk's default).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from pydicom import dcmread
from pynetdicom import AE, evt
from pynetdicom.presentation import StoragePresentationContexts
from pynetdicom.status import Status
from pynetdicom.transport import ThreadedAssociationServer

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.errors import LohiresError
from lohires_edge.node.config import load_config
from lohires_edge.node.listener import Listener
from lohires_edge.node.spool import Spool
from lohires_edge.node.supervisor import open_spool
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.node.worker import Worker
from lohires_edge.slice_mapping import to_model_batch
from trainer.demo import (free_port, program, receiver_command, running, sender_command, wait_for_files,
                          wait_for_port, write_config)

from benchmarks.inputs import HELDOUT_SEED, add_model_argument, model_path, simulated_data
from benchmarks.linear_fit import fit_line
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record
from benchmarks.series import source_slices, write_series

BUDGET_S_PER_SLICE = 1.0
TARGET_RATIO = 1.2
SEND_TIMEOUT_S = 1800


def peak_rss_mib(pid: int) -> float:
    """VmHWM (the process's peak resident set) from /proc, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LohiresError(f"/proc/{pid}/status has no VmHWM line; peak memory needs Linux procfs")


def worker_seconds(node_log: Path) -> list[float]:
    """Each slice's time from the worker reading it to its derived instance being queued (the waits between
    the pipeline's steps included), from the node's event=enhanced lines."""
    return [float(match) for match in re.findall(r"event=enhanced .*?seconds=([0-9.]+)", node_log.read_text())]


def inference_seconds(model: Path, files: list[Path]) -> list[float]:
    """Per-slice model time of `files`, batch 1 like the node's worker, after two warm-up runs."""
    backend = OnnxRuntimeBackend(model)
    try:
        mapped = [to_model_batch([read_mr_slice(dcmread(f))], backend.contract.mapping)[0] for f in files]
        for batch in mapped[:2]:
            backend.run(batch)
        times = []
        for batch in mapped:
            started = time.perf_counter()
            backend.run(batch)
            times.append(time.perf_counter() - started)
        return times
    finally:
        backend.close()


def round_trip(model: Path, files: list[Path], work: Path, logs: Path) -> dict[str, float]:
    """Send `files` through a fresh node to storescp; the wall time, node peak RSS, and raw inference.

    The node's and storescp's logs (UIDs, statuses, timings; no patient data) are kept in `logs`.
    """
    received = work / "received"
    received.mkdir()
    node_port, receiver_port = free_port(), free_port()
    config = write_config(work, node_port, receiver_port, model)
    receiver_args = receiver_command(received, receiver_port)
    receiver_args.insert(1, "-v")  # association and store lines in receiver.log (dcmtk and pynetdicom both take -v)
    with running(receiver_args, work / "receiver.log") as receiver, \
            running([program("lohires-edge"), "-v", "serve", "--config", str(config)], work / "node.log") as node:
        wait_for_port(node_port, node, work / "node.log")
        wait_for_port(receiver_port, receiver, work / "receiver.log")
        started = time.time()
        subprocess.run(sender_command(files[0].parent, node_port), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=SEND_TIMEOUT_S)
        sent = time.time()
        wait_for_files(received, len(files), node, work / "node.log")
        finished = max(p.stat().st_mtime for p in received.iterdir())
        peak = peak_rss_mib(node.pid)
    logs.mkdir(parents=True, exist_ok=True)
    for name in ("node", "receiver"):
        shutil.copyfile(work / f"{name}.log", logs / f"{name}-{len(files)}.log")
    worker = worker_seconds(work / "node.log")
    inference = inference_seconds(model, files)
    total = finished - started
    return {"slices": len(files), "total_s": total, "send_s": sent - started, "per_slice_s": total / len(files),
            "inference_per_slice_s": sum(inference) / len(inference), "node_peak_rss_mib": peak,
            "ratio": total / sum(inference), "worker_slices": len(worker),
            "worker_latency_median_s": median(worker) if worker else None}


def step_seconds(model: Path, files: list[Path], work: Path) -> dict[str, float]:
    """Median seconds per slice of each of the node worker's steps (`prepare`, `infer`, `finish`), run one
    after another on `files` in this process, through a spool under `work`: where a slice's time goes
    when nothing runs beside it."""
    spool = Spool(work / "steps-spool", 10 ** 12, ["DEST"])
    times: dict[str, list[float]] = {"prepare": [], "infer": [], "finish": []}
    with OnnxRuntimeBackend(model) as backend:
        worker = Worker(spool, {backend.contract.sequence: backend}, NodeMetrics())
        for file in files:
            path = spool.store_incoming(dcmread(file, stop_before_pixels=True).SOPInstanceUID, file.read_bytes())
            started = time.perf_counter()
            item = worker.prepare(path)
            prepared = time.perf_counter()
            worker.infer(item)
            inferred = time.perf_counter()
            worker.finish(item)
            finished = time.perf_counter()
            for step, seconds in zip(times, (prepared - started, inferred - prepared, finished - inferred)):
                times[step].append(seconds)
    return {step: median(values) for step, values in times.items()}


def storescu_seconds(folder: Path, port: int, called_ae: str) -> float:
    command = sender_command(folder, port)
    command[command.index("-aec") + 1] = called_ae
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=SEND_TIMEOUT_S)
    return time.perf_counter() - started


def bare_pynetdicom(port: int, ae_title: str) -> ThreadedAssociationServer:
    """A pynetdicom AE that acknowledges every C-STORE unread: the receive path's ceiling, not a node."""
    ae = AE(ae_title=ae_title)
    ae.supported_contexts = StoragePresentationContexts
    return ae.start_server(("127.0.0.1", port), block=False,
                           evt_handlers=[(evt.EVT_C_STORE, lambda event: Status.SUCCESS)])


def receive_throughput(model: Path, series: Path, work: Path, repeats: int) -> dict[str, float]:
    """Median slices/s of storescu -> node listener (alone), -> storescp and -> bare pynetdicom, alternated."""
    count = len(list(series.glob("*.dcm")))
    node_port, storescp_port, bare_port = free_port(), free_port(), free_port()
    config = load_config(write_config(work, node_port, free_port(), model))
    listener = Listener(config, open_spool(config), NodeMetrics(), on_stored=lambda: None)
    (work / "storescp").mkdir()
    listener.start()
    bare = bare_pynetdicom(bare_port, config.ae_title)
    node, dcmtk, ceiling = [], [], []
    try:
        with running(receiver_command(work / "storescp", storescp_port), work / "storescp.log") as receiver:
            wait_for_port(storescp_port, receiver, work / "storescp.log")
            for _ in range(repeats):
                node.append(count / storescu_seconds(series, node_port, config.ae_title))
                dcmtk.append(count / storescu_seconds(series, storescp_port, "RECEIVER"))
                ceiling.append(count / storescu_seconds(series, bare_port, config.ae_title))
    finally:
        bare.shutdown()
        listener.stop()
    return {"slices": count, "repeats": repeats, "node_listener_slices_per_s": median(node),
            "storescp_slices_per_s": median(dcmtk), "bare_pynetdicom_slices_per_s": median(ceiling),
            "ratio": median(node) / median(dcmtk), "bare_pynetdicom_ratio": median(ceiling) / median(dcmtk)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_argument(parser)
    parser.add_argument("--counts", default="20,50,100,200", help="series lengths N")
    parser.add_argument("--series", type=Path, help="a simulated 64 mT T1 DICOM series folder "
                        "[simulate one subject, seed 2, under --work]")
    parser.add_argument("--receive-count", type=int, default=200, help="series length for the receive rate")
    parser.add_argument("--receive-repeats", type=int, default=3)
    parser.add_argument("--tcp-nodelay", choices=("0", "1"), default="1",
                        help="TCP_NODELAY for the dcmtk peers (1: Nagle off)")
    add_output_arguments(parser, "simulated data cache")
    args = parser.parse_args(argv)
    os.environ["TCP_NODELAY"] = args.tcp_nodelay  # read by dcmtk's storescu/storescp, inherited by them
    # SIGTERM unwinds through the `running` blocks, so the servers stop; the caller's handler comes back after.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit("round_trip: terminated; servers stopped"))
    try:
        return _measure(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _measure(args: argparse.Namespace) -> int:
    model = model_path(args.model).resolve()
    contract = read_contract(model)
    if args.series is None:
        data = simulated_data(args.work / "series", 1, HELDOUT_SEED, (contract.sequence,), dicom=True)
        args.series = next((data / "dicom").glob(f"*_{contract.sequence}"))
    sources = source_slices(args.series)
    counts = [int(n) for n in args.counts.split(",")]

    rows = []
    for count in counts:
        with tempfile.TemporaryDirectory(prefix="lohires-round-trip-") as tmp:
            files = write_series(sources, count, Path(tmp) / "series")
            rows.append(round_trip(model, files, Path(tmp), args.results / "round_trip_logs"))
            rows[-1]["steps_median_s"] = step_seconds(model, files, Path(tmp))
        print(f"N = {count}: {rows[-1]['per_slice_s'] * 1e3:.0f} ms/slice", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="lohires-receive-") as tmp:
        series = Path(tmp) / "series"
        write_series(sources, args.receive_count, series)
        receive = receive_throughput(model, series, Path(tmp), args.receive_repeats)
    fit = fit_line([r["slices"] for r in rows], [r["total_s"] for r in rows]) if len(set(counts)) > 1 else None

    print(f"Round trip storescu -> node ({contract.model_id}, onnxruntime) -> storescp; source series "
          f"{len(sources)} slices, copied with fresh UIDs to N\n")
    print(markdown_table(
        ["N", "total (s)", "round trip ms/slice", "inference ms/slice", "ratio (target <= 1.2)",
         "node read→queued latency ms (median)", "node peak RSS (MiB)"],
        [[r["slices"], f"{r['total_s']:.2f}", f"{r['per_slice_s'] * 1e3:.1f}",
          f"{r['inference_per_slice_s'] * 1e3:.1f}", f"{r['ratio']:.2f}",
          "n/a" if r["worker_latency_median_s"] is None else f"{r['worker_latency_median_s'] * 1e3:.1f}",
          f"{r['node_peak_rss_mib']:.0f}"] for r in rows]))
    print("\nThe worker's steps, one slice at a time in this process (median ms per slice):\n")
    print(markdown_table(["N", "prepare (read, route, map)", "infer (model)", "finish (map back, fidelity, "
                          "derive, encode, queue)"],
                         [[r["slices"], *(f"{r['steps_median_s'][step] * 1e3:.1f}"
                                          for step in ("prepare", "infer", "finish"))] for r in rows]))
    if fit is not None:
        print(f"\nLinear fit total = {fit.slope * 1e3:.1f} ms x N + {fit.intercept:.2f} s (R^2 {fit.r_squared:.4f}); "
              f"budget {BUDGET_S_PER_SLICE * 1e3:.0f} ms/slice")
    print(f"\nReceive, {receive['slices']} slices, median of {receive['repeats']}:\n")
    print(markdown_table(["receiver", "slices/s"],
                         [["node listener (pynetdicom, fsync per instance)",
                           f"{receive['node_listener_slices_per_s']:.1f}"],
                          ["dcmtk storescp", f"{receive['storescp_slices_per_s']:.1f}"],
                          ["bare pynetdicom (answers Success unread)",
                           f"{receive['bare_pynetdicom_slices_per_s']:.1f}"],
                          ["ratio node / storescp", f"{receive['ratio']:.2f}"],
                          ["ratio bare pynetdicom / storescp", f"{receive['bare_pynetdicom_ratio']:.2f}"]]))
    path = write_record("round_trip", {
        "model": {"id": contract.model_id, "path": str(model)}, "source_series_slices": len(sources),
        "series": "copies of a simulated series with fresh SOP Instance / Series Instance UIDs",
        "dcmtk_tcp_nodelay": args.tcp_nodelay, "budget_s_per_slice": BUDGET_S_PER_SLICE,
        "target_ratio": TARGET_RATIO, "rows": rows,
        "fit": fit.to_dict() if fit else None, "receive": receive},
        results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "round_trip")
