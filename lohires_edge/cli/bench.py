"""`lohires-edge bench`: per-slice latency and throughput of each available backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import click

from lohires_edge.backends.base import Backend
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend, cuda_available
from lohires_edge.backends.selection import open_backend, resolve_model
from lohires_edge.benchmark import DEFAULT_BATCH_SIZES, bench_backend, markdown_table
from lohires_edge.errors import LohiresError


@click.command("bench")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="ONNX model; default: the shipped T1 model.")
@click.option("--backend", type=click.Choice(["auto", "onnxruntime", "tensorrt", "all"]), default="all",
              show_default=True, help="Which backends to measure.")
@click.option("--slices", type=click.IntRange(1), default=64, show_default=True, help="Slices per measurement.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--batch-sizes", default=",".join(map(str, DEFAULT_BATCH_SIZES)), show_default=True,
              help="Comma-separated batch sizes.")
@click.option("--engines", "engines_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("engines"),
              show_default=True, help="Engine store searched for TensorRT engines.")
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
    for runner in _backends(model, backend, engines_dir):
        with runner:
            results += bench_backend(runner, model.name, slices, sizes)
    click.echo(json.dumps([r.to_dict() for r in results], indent=2) if as_json else markdown_table(results))


def _backends(model: Path, choice: str, engines_dir: Path) -> Iterator[Backend]:
    if choice != "all":
        yield open_backend(model, backend=choice, engines_dir=engines_dir)
        return
    yield OnnxRuntimeBackend(model, device="cpu")
    if cuda_available():
        yield OnnxRuntimeBackend(model, device="cuda")
    try:
        yield open_backend(model, backend="tensorrt", engines_dir=engines_dir)
    except LohiresError as exc:  # no TensorRT here, or no engine for this model in the store
        click.echo(f"tensorrt: not measured ({exc})", err=True)
