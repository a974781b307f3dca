"""`lohires-edge quantize`: FP32 ONNX -> explicit (Q/DQ) INT8 ONNX, with its accuracy cost measured."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("quantize")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--calib", required=True, type=click.Path(exists=True, path_type=Path),
              help="Calibration data: a NIfTI file, a folder of NIfTI files or a DICOM series folder.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the Q/DQ INT8 ONNX model.")
def command(model: Path, calib: Path, output: Path) -> None:
    """Quantize MODEL to INT8 with calibration slices from --calib."""
    raise not_landed("quantize", "edge runtime")
