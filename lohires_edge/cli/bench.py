"""`lohires-edge bench`: per-slice latency and throughput of each available backend."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lohires_edge.backend_timing import DEFAULT_BATCH_SIZES, bench_backend, markdown_table
from lohires_edge.backends.selection import backends_to_measure, resolve_model
from lohires_edge.cli.options import backend_option, engines_option, model_option
from lohires_edge.command_line import report_to_stderr


@click.command("bench")
@model_option("ONNX model; default: the shipped T1 model.")
@backend_option("Which backends to measure.", with_all=True)
@click.option("--slices", type=click.IntRange(1), default=64, show_default=True, help="Slices per measurement.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)), show_default=True,
              help="Comma-separated batch sizes.")
@engines_option("Engine store searched for TensorRT engines.")
def command(model: Path | None, backend: str, slices: int, as_json: bool, batch_sizes: str,
            engines_dir: Path) -> None:
    """Measure p50/p95 per-slice latency and throughput per backend and batch size."""
    try:
        sizes = sorted({int(b) for b in batch_sizes.split(",")})
    except ValueError:
        raise click.BadParameter(f"{batch_sizes!r} is not a comma-separated list of integers",
                                 param_hint="--batch-sizes") from None
    if not sizes or sizes[0] < 1:
        raise click.BadParameter("batch sizes must be positive", param_hint="--batch-sizes")
    model = resolve_model(model, None if model else "T1")
    results = []
    for runner in backends_to_measure(model, backend, engines_dir, report_to_stderr):
        with runner:
            results += bench_backend(runner, model.name, slices, sizes)
    click.echo(json.dumps([r.to_dict() for r in results], indent=2) if as_json else markdown_table(results))

