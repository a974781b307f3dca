"""`lohires-edge build-engine`: ONNX -> TensorRT engine in the engine store (needs TensorRT and a GPU)."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.backends.tensorrt import detect_platform
from lohires_edge.cli.quantize import calib_slices_option
from lohires_edge.contract import read_contract
from lohires_edge.engine_builder import build_engine
from lohires_edge.phantom import phantom_slices
from lohires_edge.engine_store import file_sha256
from lohires_edge.quantization import is_qdq, quantize_model
from lohires_edge.volumes import sample_slices

CHECK_SLICES = 16


@click.command("build-engine")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--precision", required=True, type=click.Choice(["fp16", "int8"]), help="Engine precision.")
@click.option("--calib", type=click.Path(exists=True, path_type=Path),
              help="Calibration data for int8 from a plain FP32 model (quantized first).")
@click.option("--max-batch", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Largest batch of the optimization profile.")
@click.option("--engines", type=click.Path(file_okay=False, path_type=Path), default=Path("engines"),
              show_default=True, help="Engine store folder.")
@calib_slices_option
def command(model: Path, precision: str, calib: Path | None, max_batch: int, engines: Path,
            calib_slices: int) -> None:
    """Build a TensorRT engine for MODEL on this GPU and put it in the engine store."""
    here = detect_platform()  # fail before any slow work where TensorRT or the GPU is missing
    click.echo(f"building {precision} engine for {model.name} on {here.gpu_name} with TensorRT "
               f"{here.tensorrt_version}", err=True)
    needs_quantizing = precision == "int8" and not is_qdq(model)
    if needs_quantizing and calib is None:
        raise click.UsageError("an int8 engine from a plain FP32 model needs --calib DATA (or quantize it first)")
    if calib is not None:
        count = calib_slices if needs_quantizing else 0
        contract = read_contract(model)
        calibration, check = sample_slices(calib, count, CHECK_SLICES, sequence=contract.sequence,
                                           model=contract.mapping.geometry)
        checked_on = f"{len(check)} slices of {calib.name}"
    else:
        calibration, check = [], phantom_slices(CHECK_SLICES)
        checked_on = f"{len(check)} Shepp-Logan phantom slices (no --calib given)"
    built = model
    if needs_quantizing:
        built = engines / f"{file_sha256(model)[:16]}-int8.onnx"
        agreement = quantize_model(model, built, calibration, check)
        click.echo(f"quantized to {built}: INT8 vs FP32 PSNR {agreement.psnr_mean:.2f} dB, "
                   f"SSIM {agreement.ssim_mean:.4f}", err=True)
    plan = build_engine(built, precision, engines, check, checked_on, max_batch, built_from=model,
                        report=lambda line: click.echo(line, err=True))
    click.echo(str(plan))
