"""`lohires-edge enhance`: one NIfTI volume or one DICOM series folder, enhanced."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("enhance")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="NIfTI file (for a NIfTI input) or folder (for a DICOM series) to write.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="ONNX model; default: the shipped model for the series' sequence.")
@click.option("--engine", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TensorRT engine (.plan) from build-engine, instead of --model.")
@click.option("--backend", type=click.Choice(["auto", "onnxruntime", "tensorrt"]), default="auto",
              show_default=True, help="auto: a matching TensorRT engine, else ONNX Runtime CUDA, else CPU.")
def command(input_path: Path, output: Path, model: Path | None, engine: Path | None, backend: str) -> None:
    """Enhance INPUT (a NIfTI file, or a folder holding one DICOM series) into OUTPUT."""
    raise not_landed("enhance", "edge runtime")
