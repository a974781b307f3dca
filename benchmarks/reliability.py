"""Reliability under load and faults, the longer versions of tests/reliability (issue 10).

    .venv/bin/python -m benchmarks.reliability [--model ONNX] [--scanners 4] [--slices 60] [--kills 5]
        [--fault-slices 60] [--base-filters 16] [--depth 4] [--size 128]

Load: --scanners dcmtk storescu processes each send a --slices series at once to a fresh `lohires-edge
serve` node, which delivers to a recording pynetdicom destination. Reported: instances lost, second
instances (a UID other than the expected deterministic one), re-sends of the same UID (and how many stores
the node logged as unconfirmed), the node's peak RSS (VmHWM from /proc), and two per-slice latencies (p50,
p95): from the node's `event=spooled` log line for the source to its `event=delivered` line for the
derivative (this includes the wait in the queue behind the other scanners' slices), and the worker's own
time per slice (`event=enhanced seconds=`: read, decode, model, derive, spool).
Faults: the SIGKILL loops of benchmarks/loopback/scenarios.py (receive, inference, sending), --kills kills
each over one --fault-slices series. The scenarios raise if a kill misses its phase.

Without --model, an untrained generator of the given size is exported by the trainer (cached under
benchmarks/results/work/): the figures are about the node, not image quality. Needs dcmtk on PATH, and
runs from the repository root (the scenarios live in benchmarks/loopback/scenarios.py, shared with the tests).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.loopback.scenarios import (Outcome, kill_during_inference, kill_during_receive, kill_during_sending,
                                           load, slice_latencies)
from benchmarks.report import RESULTS_DIR, markdown_table, write_record
from lohires_edge.contract import ModelContract, read_contract
from lohires_edge.slice_mapping import MappingParams

STEP = 5  # each kill comes this many events after the previous start


def untrained_model(base_filters: int, depth: int, size: int) -> Path:
    """An untrained generator exported by the trainer's own export (real TF -> tf2onnx), cached."""
    path = RESULTS_DIR / "work" / f"reliability-untrained-f{base_filters}-d{depth}-s{size}.onnx"
    if path.is_file():
        return path
    import tensorflow as tf

    from trainer.export import export_onnx
    from trainer.models import GeneratorConfig, build_generator

    tf.keras.utils.set_random_seed(7)
    generator = build_generator(GeneratorConfig(base_filters=base_filters, depth=depth))
    contract = ModelContract(sequence="T1", mapping=MappingParams(size=size), model_name="reliability-untrained",
                             model_version=f"f{base_filters}-d{depth}-s{size}", training_data="untrained")
    path.parent.mkdir(parents=True, exist_ok=True)
    check = np.random.default_rng(0).uniform(-1, 1, (2, size, size)).astype(np.float32)
    export_onnx(generator, contract, path, check)
    return path


def row(name: str, outcome: Outcome, timed: bool) -> dict[str, object]:
    """One table row; latencies only where `timed` (under kills they would mix several node runs)."""
    latencies = slice_latencies(outcome.log) if timed else []
    worker = [float(s) for s in re.findall(r"event=enhanced .*?seconds=([0-9.]+)", outcome.log)] if timed else []

    def p(values: list[float], q: int) -> float | None:
        return float(np.percentile(values, q)) if values else None

    return {"scenario": name, "instances": len(outcome.expected), "lost": outcome.lost,
            "second_instances": outcome.unexpected, "resends": outcome.resends,
            "unconfirmed_stores": outcome.unconfirmed_stores, "node_peak_rss_mib": outcome.peak_rss_mib,
            "spooled_to_delivered_p50_s": p(latencies, 50), "spooled_to_delivered_p95_s": p(latencies, 95),
            "worker_per_slice_p50_s": p(worker, 50), "worker_per_slice_p95_s": p(worker, 95)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="ONNX model (default: an untrained generator, see --size)")
    parser.add_argument("--scanners", type=int, default=4)
    parser.add_argument("--slices", type=int, default=60, help="slices per scanner's series (load)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs per phase")
    parser.add_argument("--fault-slices", type=int, default=60, help="slices of the series the kills run over")
    parser.add_argument("--base-filters", type=int, default=16)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="model grid of the untrained generator")
    args = parser.parse_args(argv)
    # Absolute: the node reads a relative path against its (temporary) config folder.
    model = args.model.resolve() if args.model else untrained_model(args.base_filters, args.depth, args.size)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lohires-reliability-") as tmp:
        work = Path(tmp)
        scenarios = [("load", lambda w: load(model, w, args.scanners, args.slices, size=64)),
                     ("kill during receive", lambda w: kill_during_receive(model, w, args.fault_slices, args.kills,
                                                                           STEP)),
                     ("kill during inference", lambda w: kill_during_inference(model, w, args.fault_slices,
                                                                               args.kills, STEP)),
                     ("kill during sending", lambda w: kill_during_sending(model, w, args.fault_slices, args.kills,
                                                                           STEP))]
        for name, run in scenarios:
            print(f"running: {name}", file=sys.stderr, flush=True)
            folder = work / name.replace(" ", "-")
            folder.mkdir()
            rows.append(row(name, run(folder), timed=name == "load"))
    headers = list(rows[0])
    print(markdown_table(headers, [[r[h] if r[h] is not None else "-" for h in headers] for r in rows]))
    path = write_record("reliability", {"model": read_contract(model).model_id, "scanners": args.scanners,
                                        "slices": args.slices, "kills": args.kills,
                                        "fault_slices": args.fault_slices, "rows": rows})
    print(f"\nwritten: {path}", file=sys.stderr)
    return 0 if all(r["lost"] == 0 and r["second_instances"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
