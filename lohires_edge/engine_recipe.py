"""From the model a user names to an engine in the store: the steps `build-engine` takes around the builder.

An int8 engine from a plain FP32 model is quantized first (Q/DQ, calibrated on --calib data, filed in the
store under the FP32 model's hash); the engine is then checked against ONNX Runtime on held-out slices of
that data, or on Shepp-Logan phantom slices when no data is given.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from lohires_edge.backends.tensorrt import detect_platform
from lohires_edge.contract import read_contract
from lohires_edge.engine_builder import build_engine
from lohires_edge.engine_store import file_sha256
from lohires_edge.errors import LohiresError
from lohires_edge.phantom import phantom_slices
from lohires_edge.quantization import DEFAULT_CALIBRATION_SLICES, is_qdq, quantize_model
from lohires_edge.volumes import sample_slices

log = logging.getLogger(__name__)

ENGINE_CHECK_SLICES = 16  # slices on which a new engine is compared with ONNX Runtime


class CalibrationDataNeeded(LohiresError):
    """An int8 engine was asked of a plain FP32 model, with no data to quantize it on."""


def build_for_store(model: Path, precision: str, store: Path, calib: Path | None = None,
                    calib_slices: int = DEFAULT_CALIBRATION_SLICES, max_batch: int = 8,
                    report: Callable[[str], None] = log.info) -> Path:
    """Build `model` into `store` at `precision`, quantizing it first where needed; return the engine path."""
    here = detect_platform()  # fail before any slow work where TensorRT or the GPU is missing
    report(f"building {precision} engine for {model.name} on {here.gpu_name} with TensorRT "
           f"{here.tensorrt_version}")
    needs_quantizing = precision == "int8" and not is_qdq(model)
    if needs_quantizing and calib is None:
        raise CalibrationDataNeeded("an int8 engine from a plain FP32 model needs --calib DATA "
                                    "(or quantize it first)")
    if calib is not None:
        count = calib_slices if needs_quantizing else 0
        contract = read_contract(model)
        calibration, check = sample_slices(calib, count, ENGINE_CHECK_SLICES, sequence=contract.sequence,
                                           model=contract.mapping.geometry)
        checked_on = f"{len(check)} slices of {calib.name}"
    else:
        calibration, check = [], phantom_slices(ENGINE_CHECK_SLICES)
        checked_on = f"{len(check)} Shepp-Logan phantom slices (no --calib given)"
    built = model
    if needs_quantizing:
        built = Path(store) / f"{file_sha256(model)[:16]}-int8.onnx"
        agreement = quantize_model(model, built, calibration, check)
        report(f"quantized to {built}: INT8 vs FP32 PSNR {agreement.psnr_mean:.2f} dB, "
               f"SSIM {agreement.ssim_mean:.4f}")
    return build_engine(built, precision, store, check, checked_on, max_batch, built_from=model,
                        report=report)
