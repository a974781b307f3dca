"""`lohires-train export`: a trained run -> a self-describing ONNX model."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("export")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--onnx", "onnx_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="Model name in the contract [the run's, lohiresgan].")
@click.option("--version", "version", help="Model version in the contract [0.1.0+<digest of the weights>].")
def command(run: Path, onnx_path: Path, name: str | None, version: str | None) -> None:
    """Export the best generator of RUN to ONNX with the model contract in its metadata."""
    from trainer.export import export_run

    difference = export_run(run, onnx_path, name=name, version=version)
    click.echo(f"wrote {onnx_path}; max |ONNX - TensorFlow| on the run's validation slices: {difference:.2e}")
