"""`lohires-edge build-engine`: ONNX -> TensorRT engine in the engine store (needs TensorRT and a GPU)."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.options import calib_slices_option, engines_option
from lohires_edge.command_line import report_to_stderr
from lohires_edge.engine_recipe import CalibrationDataNeeded, build_for_store
from lohires_edge.engine_store import PRECISIONS


@click.command("build-engine")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--precision", required=True, type=click.Choice(PRECISIONS), help="Engine precision.")
@click.option("--calib", type=click.Path(exists=True, path_type=Path),
              help="Calibration data for int8 from a plain FP32 model (quantized first).")
@click.option("--max-batch", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Largest batch of the optimization profile.")
@engines_option("Engine store folder.")
@calib_slices_option
def command(model: Path, precision: str, calib: Path | None, max_batch: int, engines_dir: Path,
            calib_slices: int) -> None:
    """Build a TensorRT engine for MODEL on this GPU and put it in the engine store."""
    try:
        plan = build_for_store(model, precision, engines_dir, calib, calib_slices, max_batch,
                               report_to_stderr)
    except CalibrationDataNeeded as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(str(plan))
