"""Issue 16, "No stalls": repeated round trips through the node with a CPU hog beside it; how long each
delivery waited for its C-STORE response, and whether anything was sent twice without a cause.

    .venv/bin/python -m benchmarks.stalls [--model ONNX] [--runs 10] [--count 200] [--hogs 2]

Each run is one `benchmarks.round_trip` round trip (storescu -> a fresh `lohires-edge serve` -> dcmtk
storescp, the node's default dimse_timeout of 60 s) while `--hogs` processes spin on the CPU. The node's
`event=delivered` and `event=delivery_refused` lines give each send's wait for its response (`wait_s`);
storescp's verbose log counts the stores it received, so stores beyond the series length are re-sends.
A re-send has a cause when the node logged a failed send for it (refused, no response, no association).
Targets: no wait above 5 s, and no re-send without a cause.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import re
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Iterator

from lohires_edge.contract import read_contract

from benchmarks.inputs import HELDOUT_SEED, add_model_argument, model_path, simulated_data
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record
from benchmarks.round_trip import round_trip
from benchmarks.series import source_slices, write_series

MAX_WAIT_S = 5.0
# Lines of the node's log that name a cause for sending an instance again.
_FAILED_SEND = re.compile(r"event=(delivery_refused|send_failed|association_failed) ")
_WAIT = re.compile(r"event=(?:delivered|delivery_refused) .*?wait_s=([0-9.]+)")


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def cpu_hog(processes: int) -> Iterator[None]:
    """`processes` busy loops for the length of the block."""
    hogs = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(processes)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


def stall_figures(node_log: Path, receiver_log: Path, slices: int) -> dict[str, float]:
    """Send waits, re-sends and their logged causes, from one round trip's logs."""
    node_text = node_log.read_text()
    waits = [float(w) for w in _WAIT.findall(node_text)]
    stores = receiver_log.read_text().count("Received Store Request")
    return {"sends": len(waits), "max_wait_s": max(waits, default=0.0),
            "median_wait_s": median(waits) if waits else 0.0,
            "waits_over_limit": sum(w > MAX_WAIT_S for w in waits), "stores_received": stores,
            "resends": stores - slices, "failed_sends_logged": len(_FAILED_SEND.findall(node_text)),
            "unexpected_responses": node_text.count("Received unexpected")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_argument(parser)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--count", type=int, default=200, help="slices per run")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2, help="busy-loop processes [one per CPU]")
    add_output_arguments(parser, "simulated data cache")
    args = parser.parse_args(argv)
    os.environ["TCP_NODELAY"] = "1"  # as benchmarks.round_trip: dcmtk's Nagle delay is not the node's

    model = model_path(args.model).resolve()
    contract = read_contract(model)
    data = simulated_data(args.work / "series", 1, HELDOUT_SEED, (contract.sequence,), dicom=True)
    sources = source_slices(next((data / "dicom").glob(f"*_{contract.sequence}")))
    rows = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="lohires-stalls-") as tmp:
            files = write_series(sources, args.count, Path(tmp) / "series")
            logs = args.results / "stalls_logs" / f"run-{run}"
            with cpu_hog(args.hogs):
                trip = round_trip(model, files, Path(tmp), logs)
        row = {"run": run, "total_s": trip["total_s"], "per_slice_s": trip["per_slice_s"],
               **stall_figures(logs / f"node-{args.count}.log", logs / f"receiver-{args.count}.log", args.count)}
        rows.append(row)
        print(f"run {run}: max wait {row['max_wait_s']:.2f} s, {row['resends']} re-sent", file=sys.stderr,
              flush=True)

    print(f"{args.runs} round trips of {args.count} slices, {args.hogs} CPU hog processes beside the node "
          f"({contract.model_id}, onnxruntime); target: no send waits > {MAX_WAIT_S:.0f} s, no re-send "
          "without a logged cause\n")
    print(markdown_table(
        ["run", "total (s)", "ms/slice", "sends", "median wait (ms)", "max wait (s)", f"waits > {MAX_WAIT_S:.0f} s",
         "stores at storescp", "re-sent", "failed sends logged", "unexpected responses"],
        [[r["run"], f"{r['total_s']:.1f}", f"{r['per_slice_s'] * 1e3:.0f}", r["sends"],
          f"{r['median_wait_s'] * 1e3:.1f}", f"{r['max_wait_s']:.2f}", r["waits_over_limit"],
          r["stores_received"], r["resends"], r["failed_sends_logged"], r["unexpected_responses"]]
         for r in rows]))
    path = write_record("stalls", {"model": {"id": contract.model_id, "path": str(model)}, "runs": args.runs,
                                   "slices": args.count, "hogs": args.hogs, "max_wait_target_s": MAX_WAIT_S,
                                   "rows": rows}, results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "stalls")
