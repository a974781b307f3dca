"""`lohires-edge bench`: per-slice latency and throughput of each available backend."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("bench")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="ONNX model; default: the shipped T1 model.")
@click.option("--backend", type=click.Choice(["auto", "onnxruntime", "tensorrt", "all"]), default="all",
              show_default=True, help="Which backends to measure.")
@click.option("--slices", type=click.IntRange(1), default=64, show_default=True, help="Slices per measurement.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(model: Path | None, backend: str, slices: int, as_json: bool) -> None:
    """Measure p50/p95 per-slice latency and throughput per backend and batch size."""
    raise not_landed("bench", "edge runtime")
