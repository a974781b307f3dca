"""FP32 ONNX -> explicit (Q/DQ) INT8 ONNX, calibrated on real slices, with its accuracy cost measured first.

Explicit quantization is what TensorRT 10 recommends (its implicit calibrators are deprecated) and what
TensorRT 8.6 builds too. onnxruntime.quantization does the work: symmetric int8 activations and weights
(zero point 0, as TensorRT requires), per-channel weights, activation ranges by percentile (the default) or
entropy calibration over slices that went through the one slice mapping. The Q/DQ model is then run with
ONNX Runtime on the CPU against the FP32 model on held-out slices, and is written only if it stays within
the thresholds: INT8 accuracy is known before any Jetson is involved.

Why percentile: quantize_static runs onnxruntime's entropy calibrator with 128 histogram bins and 128
quantized bins, which leaves it one candidate threshold, so "entropy" gives exactly the min/max ranges (all
46 activation ranges of the shipped T2 model matched). Those ranges are set by a few extreme values and
make every int8 step coarse. The 99.999th percentile of |x| clips those few values instead. For the models
shipped at the time (onnxruntime target, benchmarks.quality, six held-out subjects) that took the INT8 SSIM
drop against the 3 T reference from 0.015 to 0.009 for T2 and from 0.003 to 0.007 for T1, within 0.01;
docs/edge-runtime.md has every recipe measured, on both targets.

Why the first and last convolutions stay in floating point: the first one reads the image itself (with a
full-resolution level, so does the stem beside it: every convolution that reads the image stays), and
quantizing its input moved the whole background by about one int8 step (+15 of the shipped T2's 4126 on the
3 T scale), which cost that model 0.038 SSIM against the 3 T reference, most of it in the air; the last one
and the residual add after it write the image. Kept in float, they leave T2's drop at 0.006 and the T1 of
the time at 0.006 (onnxruntime target, six held-out subjects; docs/edge-runtime.md). They are the thinnest
layers (1 channel in or out), so little int8 speed is given up. TensorRT runs them in FP16 or FP32.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from lohires_edge.agreement import Agreement, measure_agreement
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import load_onnx, read_contract, write_contract
from lohires_edge.engine_store import file_sha256
from lohires_edge.errors import LohiresError
from lohires_edge.slice_mapping import AnySlice, to_model_batch

log = logging.getLogger(__name__)

METHODS = {"entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}
DEFAULT_METHOD = "percentile"  # see the module docstring: "entropy" here is min/max in disguise
DEFAULT_CALIBRATION_SLICES = 100
DEFAULT_HOLDOUT_SLICES = 20
DEFAULT_MAX_SSIM_DROP = 0.02  # 1 - SSIM(INT8 output, FP32 output), mean over held-out slices
DEFAULT_MIN_PSNR = 30.0  # dB, INT8 output against FP32 output, over the FP32 output slice's own range
PERCENTILE = 99.999  # onnxruntime's default for the percentile method
CALIBRATION_BATCH = 1  # onnxruntime's histogram collector cannot merge batches of different sizes
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
CONVOLUTIONS = ("Conv", "ConvTranspose")
LAYOUT_OPS = ("Transpose", "Reshape", "Identity", "Cast", "Squeeze", "Unsqueeze", "Pad")  # the image stays the image


@dataclass(frozen=True)
class Target:
    """Who runs the Q/DQ model decides the activation type; weights are int8 symmetric per-channel for both."""

    activations: QuantType
    symmetric_activations: bool
    description: str


# TensorRT takes only int8 with zero point 0. ONNX Runtime's x86 CPU kernels fuse Q/DQ into QLinear* ops
# only for uint8 activations (U8S8, its recommended x86 format); with int8 activations most layers stay
# DequantizeLinear -> float op -> QuantizeLinear and the model gets slower than FP32 (measured: docs).
TARGETS = {
    "tensorrt": Target(QuantType.QInt8, True, "int8 symmetric"),
    "onnxruntime": Target(QuantType.QUInt8, False, "uint8 asymmetric"),
}


class QuantizationRejected(LohiresError):
    """The INT8 model lost more accuracy than allowed, so it was not written."""


def is_qdq(model: Path) -> bool:
    """Whether the ONNX model is already explicitly quantized (holds Q/DQ nodes)."""
    return any(node.op_type in QDQ_OPS for node in load_onnx(model).graph.node)


class SliceReader(CalibrationDataReader):
    """Feeds mapped slices to onnxruntime's calibrator in the model's input layout."""

    def __init__(self, backend: OnnxRuntimeBackend, batch: np.ndarray) -> None:
        self._input = backend.input_name
        self._batches = [backend.to_model_layout(batch[i:i + CALIBRATION_BATCH])
                         for i in range(0, len(batch), CALIBRATION_BATCH)]
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._next >= len(self._batches):
            return None
        self._next += 1
        return {self._input: self._batches[self._next - 1]}

    def rewind(self) -> None:
        self._next = 0


def quantize_model(model: Path, output: Path, calibration: Sequence[AnySlice], holdout: Sequence[AnySlice],
                   method: str = DEFAULT_METHOD, max_ssim_drop: float = DEFAULT_MAX_SSIM_DROP,
                   min_psnr: float = DEFAULT_MIN_PSNR, target: str = "tensorrt") -> Agreement:
    """Write the Q/DQ INT8 version of `model` to `output` if it agrees with FP32 on `holdout` well enough.

    `calibration` and `holdout` are raw 2D slices (any dtype and shape, with their geometry where known, as
    `volumes.sample_slices` gives them); both go through the slice mapping.
    `target` is "tensorrt" (for build-engine) or "onnxruntime" (for the CPU backend); see TARGETS.
    """
    if target not in TARGETS:
        raise LohiresError(f"unknown quantization target {target!r}; expected one of {', '.join(TARGETS)}")
    if method not in METHODS:
        raise LohiresError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    if not calibration or not holdout:
        raise LohiresError("quantization needs calibration slices and held-out slices; give more data")
    contract = read_contract(model)
    if is_qdq(model):
        raise LohiresError(f"{model} is already quantized (it holds Q/DQ nodes); quantize the FP32 model")
    calib_batch, _ = to_model_batch(calibration, contract.mapping)
    holdout_batch, _ = to_model_batch(holdout, contract.mapping)
    fp32 = OnnxRuntimeBackend(model)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".quantize-") as work:
        prepared, quantized = Path(work) / "prepared.onnx", Path(work) / "int8.onnx"
        # ONNX shape inference and graph cleanup; the symbolic pass (sympy) adds nothing for fixed H x W.
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        log.info("calibrating on %d slices (%s)", len(calibration), method)
        quantize_static(str(prepared), str(quantized), SliceReader(fp32, calib_batch), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=TARGETS[target].activations, weight_type=QuantType.QInt8,
                        calibrate_method=METHODS[method], nodes_to_exclude=layers_kept_in_float(prepared),
                        extra_options={"ActivationSymmetric": TARGETS[target].symmetric_activations,
                                       "WeightSymmetric": True,
                                       "CalibPercentile": PERCENTILE})
        agreement = measure_agreement(fp32, OnnxRuntimeBackend(quantized), holdout_batch)
        log.info("INT8 vs FP32 on %d held-out slices: PSNR %.2f dB (min %.2f), SSIM %.4f (min %.4f)",
                 agreement.slices, agreement.psnr_mean, agreement.psnr_min, agreement.ssim_mean, agreement.ssim_min)
        if agreement.ssim_drop > max_ssim_drop or agreement.psnr_mean < min_psnr:
            raise QuantizationRejected(
                f"INT8 model differs too much from FP32 on {agreement.slices} held-out slices (SSIM drop "
                f"{agreement.ssim_drop:.4f}, limit {max_ssim_drop}; PSNR {agreement.psnr_mean:.2f} dB, limit "
                f"{min_psnr}); not written. Try more calibration slices (--calib-slices) or stay on FP32")
        proto = onnx.load(str(quantized))
        record = {**recipe(target, method), "calibration_slices": len(calibration),
                  "source_sha256": file_sha256(model), "int8_vs_fp32": dataclasses.asdict(agreement)}
        write_contract(proto, dataclasses.replace(
            contract, extra={**contract.extra, "quantization": json.dumps(record, sort_keys=True)}))
        onnx.save(proto, str(quantized))
        os.replace(quantized, output)
    return agreement


def recipe(target: str, method: str) -> dict[str, object]:
    """The settings that decide what `quantize_model` writes, as its `lohires.quantization` record holds them.

    A cache of Q/DQ models (the benchmarks keep one) compares this with a file's record to know whether the
    file was made the way it would be made now.
    """
    settings: dict[str, object] = {"format": "QDQ", "target": target, "weights": "int8 symmetric per-channel",
                                   "activations": TARGETS[target].description, "method": method}
    if method == "percentile":
        settings["percentile"] = PERCENTILE
    settings["float_layers"] = FLOAT_LAYERS
    return settings


FLOAT_LAYERS = "convolutions that read the image; last convolution and what follows it"  # module docstring


def layers_kept_in_float(model: Path) -> list[str]:
    """Names of the nodes left unquantized (FLOAT_LAYERS): every convolution that reads the image (the encoder's
    first and, with a full-resolution level, that level's stem), and the last one with every node downstream of
    it (the residual add, the output reshape), which write it. A model with fewer than three convolutions has
    nothing between them and is quantized whole."""
    graph = load_onnx(model).graph
    nodes = list(graph.node)
    convolutions = [i for i, node in enumerate(nodes) if node.op_type in CONVOLUTIONS]
    if len(convolutions) < 3:
        return []
    kept = []
    # The input and what layout ops make of it (initializers may be listed as inputs: not the image).
    image = {tensor.name for tensor in graph.input} - {tensor.name for tensor in graph.initializer}
    for node in nodes:  # ONNX nodes are topologically sorted
        if node.op_type in CONVOLUTIONS and node.input[0] in image:
            kept.append(node.name)
        elif node.op_type in LAYOUT_OPS and node.input and node.input[0] in image:
            image.update(node.output)
    last = convolutions[-1]
    written = set(nodes[last].output)
    kept.append(nodes[last].name)
    for node in nodes[last + 1:]:
        if written.intersection(node.input):
            kept.append(node.name)
            written.update(node.output)
    return list(dict.fromkeys(kept))


def quantization_record(model: Path) -> dict | None:
    """The `lohires.quantization` record in a Q/DQ model's contract (None: not made by `quantize`)."""
    record = read_contract(model).extra.get("quantization")
    return json.loads(record) if record else None


def quantization_target(model: Path) -> str | None:
    """The target a Q/DQ model was quantized for, from its contract (None: not made by `quantize`)."""
    record = quantization_record(model)
    return record.get("target") if record else None
