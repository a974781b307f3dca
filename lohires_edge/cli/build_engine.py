"""`lohires-edge build-engine`: ONNX -> TensorRT engine in the engine store (needs TensorRT and a GPU)."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("build-engine")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--precision", required=True, type=click.Choice(["fp16", "int8"]), help="Engine precision.")
@click.option("--calib", type=click.Path(exists=True, path_type=Path),
              help="Calibration data for int8 from a plain FP32 model (quantized first).")
@click.option("--max-batch", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Largest batch of the optimization profile.")
@click.option("--engines", type=click.Path(file_okay=False, path_type=Path), default=Path("engines"),
              show_default=True, help="Engine store folder.")
def command(model: Path, precision: str, calib: Path | None, max_batch: int, engines: Path) -> None:
    """Build a TensorRT engine for MODEL on this GPU and put it in the engine store."""
    raise not_landed("build-engine", "edge runtime")
