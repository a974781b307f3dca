"""`lohires-train evaluate`: per-subject metrics CSV of a run or an exported ONNX model."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("evaluate")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sequence", required=True, type=click.Choice(["T1", "T2", "FLAIR"]))
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--outputs", type=click.Path(file_okay=False, path_type=Path), help="Write enhanced NIfTI here.")
def command(model: Path, data: Path, sequence: str, csv_path: Path, outputs: Path | None) -> None:
    """Evaluate MODEL (a run directory or an ONNX file) on the pairs in DATA."""
    raise not_landed("evaluate", "trainer")
