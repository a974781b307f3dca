"""`lohires-edge quantize`: FP32 ONNX -> explicit (Q/DQ) INT8 ONNX, with its accuracy cost measured."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.options import calib_slices_option
from lohires_edge.contract import read_contract
from lohires_edge.quantization import (DEFAULT_HOLDOUT_SLICES, DEFAULT_MAX_SSIM_DROP, DEFAULT_METHOD, DEFAULT_MIN_PSNR,
                                       METHODS, TARGETS, quantize_model)
from lohires_edge.volumes import sample_slices


@click.command("quantize")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--calib", required=True, type=click.Path(exists=True, path_type=Path),
              help="Calibration data: a NIfTI file, a folder of NIfTI files or a DICOM series folder.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the Q/DQ INT8 ONNX model.")
@calib_slices_option
@click.option("--holdout-slices", type=click.IntRange(1), default=DEFAULT_HOLDOUT_SLICES, show_default=True,
              help="Other slices on which INT8 is compared with FP32.")
@click.option("--method", type=click.Choice(sorted(METHODS)), default=DEFAULT_METHOD, show_default=True,
              help="How activation ranges are chosen: percentile (99.999th of |x|) or entropy, which onnxruntime "
                   "runs with one candidate threshold, so it gives the min/max ranges.")
@click.option("--max-ssim-drop", type=click.FloatRange(0, 1), default=DEFAULT_MAX_SSIM_DROP, show_default=True,
              help="Refuse when 1 - mean SSIM(INT8, FP32) on held-out slices exceeds this.")
@click.option("--min-psnr", type=float, default=DEFAULT_MIN_PSNR, show_default=True,
              help="Refuse when mean PSNR(INT8 vs FP32) on held-out slices is below this (dB).")
@click.option("--target", type=click.Choice(sorted(TARGETS)), default="tensorrt", show_default=True,
              help="tensorrt: int8 symmetric activations (build-engine); onnxruntime: uint8 activations, which "
                   "ONNX Runtime's CPU kernels run fast.")
@click.option("--seed", type=int, default=0, show_default=True, help="Which slices are drawn.")
def command(model: Path, calib: Path, output: Path, calib_slices: int, holdout_slices: int, method: str,
            max_ssim_drop: float, min_psnr: float, target: str, seed: int) -> None:
    """Quantize MODEL to INT8 with calibration slices from --calib."""
    contract = read_contract(model)
    calibration, holdout = sample_slices(calib, calib_slices, holdout_slices, seed, contract.sequence,
                                         contract.mapping.geometry)
    agreement = quantize_model(model, output, calibration, holdout, method, max_ssim_drop, min_psnr, target)
    click.echo(f"wrote {output}: INT8 vs FP32 on {agreement.slices} held-out slices: PSNR {agreement.psnr_mean:.2f} dB "
               f"(min {agreement.psnr_min:.2f}), SSIM {agreement.ssim_mean:.4f} (min {agreement.ssim_min:.4f}), "
               f"max |diff| {agreement.max_abs_diff:.4f}")
