"""`lohires-edge bench` measures each backend per batch size and reports it as a table or JSON."""

from __future__ import annotations

import json
import subprocess

from benchmarks.loopback.peers import program
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.backend_timing import bench_backend, markdown_table


def test_bench_json_has_one_row_per_backend_and_batch_size(tiny_model):
    result = subprocess.run([program("lohires-edge"), "bench", "--model", str(tiny_model), "--slices", "5",
                             "--batch-sizes", "2,1", "--json"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    cpu = [r for r in rows if r["backend"] == "onnxruntime-cpu"]
    assert [r["batch"] for r in cpu] == [1, 2]
    assert [r["slices"] for r in cpu] == [5, 6]  # whole batches, at least --slices
    for row in cpu:
        assert row["model"] == tiny_model.name
        assert 0 < row["p50_ms"] <= row["p95_ms"]
        assert row["throughput"] > 0 and row["cpu_ms"] > 0


def test_batch_sizes_above_the_backend_maximum_are_skipped(tiny_model):
    with OnnxRuntimeBackend(tiny_model) as backend:
        backend.max_batch = 2
        results = bench_backend(backend, "tiny", slices=2, batch_sizes=(1, 2, 4))
    assert [r.batch for r in results] == [1, 2]
    table = markdown_table(results).splitlines()
    assert table[0].startswith("| model | backend | batch") and len(table) == 4
