"""Per-slice latency and throughput of a backend, per batch size: what `bench` and benchmarks/ print.

The measured work is the backend's model run on mapped slices (the slice mapping is numpy on the CPU and
the same for every backend). Each timed run is one batch; its time divided by the batch size is one
per-slice latency sample; p50 and p95 are over those samples, throughput is slices over total time.
`cpu_ms` is the median CPU time of this process per slice (all its threads): the compute a model costs,
which other users of a shared CPU disturb much less than wall-clock latency (for GPU backends it is only
the host's share).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from lohires_edge.backends.base import Backend
from lohires_edge.phantom import phantom_slices
from lohires_edge.slice_mapping import to_model_batch

DEFAULT_BATCH_SIZES = (1, 4, 8)
WARMUP_RUNS = 2  # first runs pay for allocation and (TensorRT, CUDA) lazy initialization


@dataclass(frozen=True)
class BenchResult:
    backend: str
    model: str
    batch: int
    slices: int
    p50_ms: float  # per slice
    p95_ms: float  # per slice
    throughput: float  # slices per second
    cpu_ms: float  # per slice, median

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def bench_backend(backend: Backend, model: str, slices: int = 64,
                  batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> list[BenchResult]:
    """Time `backend` on at least `slices` phantom slices per batch size (sizes above its max_batch are skipped)."""
    mapped, _ = to_model_batch(phantom_slices(max(batch_sizes)), backend.contract.mapping)
    results = []
    for batch in batch_sizes:
        if backend.max_batch and batch > backend.max_batch:
            continue
        inputs = mapped[:batch]
        for _ in range(WARMUP_RUNS):
            backend.run(inputs)
        runs = math.ceil(slices / batch)
        seconds, cpu_seconds = [], []
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            backend.run(inputs)
            seconds.append(time.perf_counter() - started)
            cpu_seconds.append(time.process_time() - cpu_started)
        per_slice_ms = np.array(seconds) * 1000.0 / batch
        results.append(BenchResult(backend=backend.name, model=model, batch=batch, slices=runs * batch,
                                   p50_ms=float(np.percentile(per_slice_ms, 50)),
                                   p95_ms=float(np.percentile(per_slice_ms, 95)),
                                   throughput=runs * batch / float(np.sum(seconds)),
                                   cpu_ms=float(np.median(cpu_seconds)) * 1000.0 / batch))
    return results


def markdown_table(results: Iterable[BenchResult]) -> str:
    lines = ["| model | backend | batch | slices | p50 ms/slice | p95 ms/slice | slices/s | CPU ms/slice |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r.model} | {r.backend} | {r.batch} | {r.slices} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | "
              f"{r.throughput:.1f} | {r.cpu_ms:.2f} |" for r in results]
    return "\n".join(lines)
