"""ONNX -> TensorRT engine on this GPU, verified against ONNX Runtime, into the engine store.

Thin code over TensorRT's builder: parse the ONNX file, one optimization profile for batch 1..max_batch,
FP16, or INT8 from an explicitly quantized (Q/DQ) model; a timing cache in the store reused by every build
on this GPU and TensorRT; progress from TensorRT's IProgressMonitor where it has one (10.x). The built engine
then runs on check slices next to ONNX Runtime on the CPU (Polygraphy's compare, in a few lines) and the
result goes into the manifest.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from lohires_edge.agreement import measure_agreement
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.backends.tensorrt import TensorRTBackend, detect_platform, import_tensorrt
from lohires_edge.contract import read_contract
from lohires_edge.atomic_file import write_atomically
from lohires_edge.engine_store import PRECISIONS, Manifest, file_sha256, write_engine
from lohires_edge.errors import LohiresError
from lohires_edge.quantization import is_qdq, quantization_target
from lohires_edge.slice_mapping import to_model_batch

log = logging.getLogger(__name__)

WORKSPACE_BYTES = 1 << 30  # Jetson memory is shared with the CPU: cap the builder's scratch space at 1 GiB

Report = Callable[[str], None]


class EngineBuildError(LohiresError):
    """TensorRT could not parse or build the model."""


def build_engine(model: Path, precision: str, store: Path, check_slices: Sequence[np.ndarray], checked_on: str,
                 max_batch: int = 8, built_from: Path | None = None, report: Report = log.info) -> Path:
    """Build `model` (FP32 for fp16; Q/DQ for int8) into the store; return the engine's path.

    `built_from` is the model the user named when `model` is its quantized copy: the engine is filed
    under that model's hash, so `--backend auto` finds it for the model the node is configured with.
    """
    if precision not in PRECISIONS:
        raise LohiresError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "int8" and not is_qdq(model):
        raise LohiresError(f"{model} is not quantized; int8 engines are built from a Q/DQ model: pass --calib "
                           "DATA, or build from the output of `lohires-edge quantize`")
    if precision == "int8" and quantization_target(model) not in (None, "tensorrt"):
        raise LohiresError(f"{model} was quantized for {quantization_target(model)} (uint8 activations with zero "
                           "points), which TensorRT cannot build; quantize again with --target tensorrt")
    trt = import_tensorrt()
    platform = detect_platform()
    contract = read_contract(model)
    started = time.perf_counter()
    plan = _build(trt, model, precision, max_batch, contract.input_size, contract.layout,
                  Path(store) / f"timing-{platform.slug}.cache", report)
    build_seconds = time.perf_counter() - started
    report(f"built in {build_seconds:.1f} s; checking the engine against ONNX Runtime on {len(check_slices)} slices")

    batch, _ = to_model_batch(check_slices, contract.mapping)
    with TensorRTBackend(plan, contract, max_batch) as engine, OnnxRuntimeBackend(model) as reference:
        agreement = measure_agreement(reference, engine, batch)
    manifest = Manifest(model_sha256=file_sha256(built_from or model), contract=contract, precision=precision,
                        platform=platform, max_batch=max_batch,
                        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        build_seconds=round(build_seconds, 2), accuracy=dataclasses.asdict(agreement),
                        source_model=Path(built_from or model).name, checked_on=checked_on)
    return write_engine(store, plan, manifest)


def _build(trt: Any, model: Path, precision: str, max_batch: int, size: int, layout: str, cache_path: Path,
           report: Report) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    major = int(trt.__version__.split(".")[0])
    # TensorRT 10 networks are always explicit-batch; 8.x must ask for it.
    flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(model)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineBuildError(f"TensorRT cannot parse {model}: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    config.set_flag(trt.BuilderFlag.FP16)  # int8 too: layers without Q/DQ then run in FP16, not FP32
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
    shape = (lambda n: (n, 1, size, size)) if layout == "NCHW" else (lambda n: (n, size, size, 1))
    profile = builder.create_optimization_profile()
    profile.set_shape(network.get_input(0).name, shape(1), shape(max_batch), shape(max_batch))
    config.add_optimization_profile(profile)

    cache = config.create_timing_cache(cache_path.read_bytes() if cache_path.is_file() else b"")
    if not config.set_timing_cache(cache, ignore_mismatch=False):
        report(f"timing cache {cache_path.name} does not fit this TensorRT and GPU; starting a new one")
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    monitor = _progress_monitor(trt, report)
    if monitor is not None:
        config.progress_monitor = monitor
    else:
        report(f"building with TensorRT {trt.__version__} (it reports no progress; this takes minutes)")

    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError(f"TensorRT could not build {model} in {precision} (see its log above)")
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(cache_path, bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


def _progress_monitor(trt: Any, report: Report) -> Any:
    """A TensorRT IProgressMonitor (10.x) that reports top-level phases; None where TensorRT has none."""
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return None

    class Monitor(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)
            self._steps: dict[str, int] = {}
            self._top: set[str] = set()

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self._steps[phase_name] = num_steps
            if parent_phase is None:
                self._top.add(phase_name)
                report(f"{phase_name}: started ({num_steps} steps)")

        def step_complete(self, phase_name: str, step: int) -> bool:
            if phase_name in self._top:
                report(f"{phase_name}: step {step + 1}/{self._steps[phase_name]}")
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            if phase_name in self._top:
                self._top.discard(phase_name)
                report(f"{phase_name}: done")

    return Monitor()
