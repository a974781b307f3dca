"""TensorRT for real: build engines from the exported tiny model, run them, and compare with ONNX Runtime.

These need TensorRT, pycuda and an NVIDIA GPU (a Jetson, or any CUDA box); elsewhere they skip saying which.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from lohires_edge.backends.base import BackendUnavailable
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.backends.selection import open_backend
from lohires_edge.backends.tensorrt import TensorRTBackend, detect_platform
from lohires_edge.engine_builder import build_engine
from lohires_edge.phantom import phantom_slices
from lohires_edge.engine_store import EngineStoreError, file_sha256, manifest_path, read_manifest
from lohires_edge.inference import enhance_slices
from lohires_edge.quantization import quantize_model
from tests.edge.phantom_volumes import phantom_volume

pytestmark = pytest.mark.gpu

try:
    PLATFORM = detect_platform()
    MISSING = ""
except BackendUnavailable as exc:
    PLATFORM, MISSING = None, str(exc)

requires_tensorrt = pytest.mark.skipif(PLATFORM is None, reason=f"needs TensorRT and a GPU: {MISSING}")


@pytest.fixture(scope="module")
def fp16_engine(tiny_model, tmp_path_factory):
    store = tmp_path_factory.mktemp("engines")
    plan = build_engine(tiny_model, "fp16", store, phantom_slices(4), "phantom", max_batch=4)
    return plan


@requires_tensorrt
def test_fp16_engine_matches_onnxruntime_and_has_a_manifest(tiny_model, fp16_engine):
    manifest = read_manifest(fp16_engine)
    assert manifest.model_sha256 == file_sha256(tiny_model)
    assert manifest.platform == PLATFORM and manifest.max_batch == 4 and manifest.precision == "fp16"
    assert manifest.accuracy["slices"] == 4
    assert (fp16_engine.parent / f"timing-{PLATFORM.slug}.cache").is_file()

    slices = [phantom_volume(slices=7, seed=3)[:, :, k] for k in range(1, 7)]  # more than max_batch: batched
    with TensorRTBackend.from_file(fp16_engine) as engine, OnnxRuntimeBackend(tiny_model) as reference:
        got = enhance_slices(engine, slices)
        want = enhance_slices(reference, slices)
        with pytest.raises(ValueError, match="1..4"):
            engine.run(np.zeros((5, 32, 32), np.float32))
    for g, w in zip(got, want):
        assert np.max(np.abs(g.astype(float) - w.astype(float))) <= 0.02 * (np.ptp(w) + 1)


@requires_tensorrt
def test_auto_picks_the_matching_engine(tiny_model, fp16_engine):
    with open_backend(tiny_model, engines_dir=fp16_engine.parent) as backend:
        assert backend.name == "tensorrt"


@requires_tensorrt
def test_engine_from_another_tensorrt_is_refused(fp16_engine, tmp_path):
    plan = tmp_path / fp16_engine.name
    plan.write_bytes(fp16_engine.read_bytes())
    data = json.loads(manifest_path(fp16_engine).read_text())
    data["tensorrt_version"] = "7.0.0"
    manifest_path(plan).write_text(json.dumps(data))
    with pytest.raises(EngineStoreError, match="TensorRT 7.0.0"):
        TensorRTBackend.from_file(plan)


@requires_tensorrt
def test_int8_engine_from_a_qdq_model(tiny_model, tmp_path):
    volume = phantom_volume(slices=16)
    slices = [volume[:, :, k] for k in range(1, 16)]
    qdq = tmp_path / "tiny.int8.onnx"
    quantize_model(tiny_model, qdq, slices[:10], slices[10:])
    plan = build_engine(qdq, "int8", tmp_path / "engines", slices[10:], "held-out phantom", max_batch=2,
                        built_from=tiny_model)
    manifest = read_manifest(plan)
    assert manifest.precision == "int8" and manifest.model_sha256 == file_sha256(tiny_model)
    assert "quantization" in manifest.contract.extra
    assert dataclasses.asdict(manifest.platform) == dataclasses.asdict(PLATFORM)
