"""Which backend runs a model here: the one place that decides, so `enhance`, `bench` and the node agree.

auto prefers a TensorRT engine from the store built for this model on this GPU and TensorRT version, then
ONNX Runtime on CUDA, then ONNX Runtime on the CPU, and logs what it chose and why.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterator

from lohires_edge.backends.base import Backend, BackendUnavailable
from lohires_edge.backends.names import ALL_BACKENDS, BACKENDS
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend, cuda_available
from lohires_edge.backends.tensorrt import TensorRTBackend, detect_platform
from lohires_edge.engine_store import DEFAULT_STORE, file_sha256, find_engine, read_manifest
from lohires_edge.errors import LohiresError
from lohires_edge.models import default_model_path

log = logging.getLogger(__name__)


def resolve_model(model: Path | None, sequence: str | None) -> Path:
    """The model to run: the one given, else the shipped default for `sequence`."""
    if model is not None:
        if not Path(model).is_file():
            raise LohiresError(f"model {model} does not exist; pass the path of an exported ONNX model")
        return Path(model)
    if sequence is None:
        raise LohiresError("no model given and no sequence to pick a shipped default for; pass --model")
    return default_model_path(sequence)


def open_backend(model: Path | None = None, engine: Path | None = None, backend: str = "auto",
                 engines_dir: Path | None = None, sequence: str | None = None) -> Backend:
    """Open the backend for `model` (or the shipped model for `sequence`), or for an explicit `engine`."""
    if backend not in BACKENDS:
        raise LohiresError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if engine is not None:
        if backend == "onnxruntime":
            raise LohiresError("a TensorRT engine runs only on the tensorrt backend; pass --model for onnxruntime")
        if model is not None and read_manifest(Path(engine)).model_sha256 != file_sha256(resolve_model(model, None)):
            raise LohiresError(f"engine {Path(engine).name} was not built from {Path(model).name}; build one for "
                               "it with `lohires-edge build-engine`, or give only the engine")
        chosen: Backend = TensorRTBackend.from_file(Path(engine))
        log.info("backend: tensorrt, engine %s", Path(engine).name)
        return chosen
    model = resolve_model(model, sequence)
    store = Path(engines_dir) if engines_dir is not None else DEFAULT_STORE
    if backend == "tensorrt":
        plan = find_engine(store, file_sha256(model), detect_platform())
        if plan is None:
            raise LohiresError(f"no TensorRT engine for {model.name} on this GPU and TensorRT in {store}; build "
                               f"one with `lohires-edge build-engine {model} --precision fp16 --engines {store}`")
        log.info("backend: tensorrt, engine %s", plan.name)
        return TensorRTBackend.from_file(plan)
    if backend == "auto":
        chosen_engine = _matching_engine(model, store)
        if chosen_engine is not None:
            return chosen_engine
    device = "cuda" if cuda_available() else "cpu"
    log.info("backend: onnxruntime on %s, model %s", device, model.name)
    return OnnxRuntimeBackend(model, device=device)


def backends_to_measure(model: Path, choice: str, engines_dir: Path | None = None,
                        report: Callable[[str], None] = log.warning) -> Iterator[Backend]:
    """The backends `bench` times: the one chosen, or for "all" every one available here for `model`.

    "all" means ONNX Runtime on the CPU, on CUDA where it has it, and TensorRT where an engine for `model`
    is in the store; a TensorRT that cannot run is reported, not raised, since the others still count.
    """
    if choice != ALL_BACKENDS:
        yield open_backend(model, backend=choice, engines_dir=engines_dir)
        return
    yield OnnxRuntimeBackend(model, device="cpu")
    if cuda_available():
        yield OnnxRuntimeBackend(model, device="cuda")
    try:
        yield open_backend(model, backend="tensorrt", engines_dir=engines_dir)
    except LohiresError as exc:  # no TensorRT here, or no engine for this model in the store
        report(f"tensorrt: not measured ({exc})")


def _matching_engine(model: Path, store: Path) -> Backend | None:
    try:
        here = detect_platform()
    except BackendUnavailable as exc:
        log.info("not using TensorRT: %s", exc)
        return None
    plan = find_engine(store, file_sha256(model), here)
    if plan is None:
        log.info("no TensorRT engine for %s on %s in %s", model.name, here.slug, store)
        return None
    log.info("backend: tensorrt, engine %s", plan.name)
    return TensorRTBackend.from_file(plan)
