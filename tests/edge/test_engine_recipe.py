"""build-engine's steps around the TensorRT builder, on the CPU: the builder and the GPU probe stand in.

What is checked is the library's policy (which model is built, on which check slices, when calibration data
is required), the part that no longer lives in the verb and that tests/gpu exercises only on a GPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lohires_edge import engine_recipe
from lohires_edge.engine_recipe import ENGINE_CHECK_SLICES, CalibrationDataNeeded, build_for_store
from lohires_edge.engine_store import Platform, file_sha256
from lohires_edge.quantization import is_qdq
from tests.edge.fixed_model import write_fixed_model
from tests.edge.phantom_volumes import phantom_volume, write_nifti

ORIN = Platform(tensorrt_version="10.3.0", gpu_name="Orin (nvgpu)", compute_capability="8.7", cuda_version="12.6")


@pytest.fixture
def builds(monkeypatch) -> list[dict]:
    """Every call the recipe makes to the TensorRT builder, which returns a plan path in the store."""
    calls: list[dict] = []

    def build_engine(model, precision, store, check, checked_on, max_batch, built_from, report):
        calls.append(dict(model=Path(model), precision=precision, store=Path(store), check=check,
                          checked_on=checked_on, max_batch=max_batch, built_from=built_from))
        return Path(store) / "built.plan"

    monkeypatch.setattr(engine_recipe, "detect_platform", lambda: ORIN)
    monkeypatch.setattr(engine_recipe, "build_engine", build_engine)
    return calls


def test_fp16_without_data_builds_the_model_itself_checked_on_phantoms(builds, tmp_path):
    model = write_fixed_model(tmp_path / "fixed-t1.onnx")
    lines: list[str] = []
    plan = build_for_store(model, "fp16", tmp_path / "store", report=lines.append)
    (call,) = builds
    assert plan == tmp_path / "store" / "built.plan"
    assert (call["model"], call["built_from"], call["precision"]) == (model, model, "fp16")
    assert len(call["check"]) == ENGINE_CHECK_SLICES
    assert call["checked_on"] == f"{ENGINE_CHECK_SLICES} Shepp-Logan phantom slices (no --calib given)"
    assert lines == ["building fp16 engine for fixed-t1.onnx on Orin (nvgpu) with TensorRT 10.3.0"]


def test_int8_from_a_plain_model_without_data_is_refused_before_any_build(builds, tmp_path):
    model = write_fixed_model(tmp_path / "fixed-t1.onnx")
    with pytest.raises(CalibrationDataNeeded, match="needs --calib DATA"):
        build_for_store(model, "int8", tmp_path / "store")
    assert builds == [] and not (tmp_path / "store").exists()


def test_int8_from_a_plain_model_is_quantized_into_the_store_under_the_fp32_hash(builds, tmp_path):
    model = write_fixed_model(tmp_path / "fixed-t1.onnx")
    calib = write_nifti(tmp_path / "POCEMR000_T1.nii.gz", phantom_volume(rows=32, cols=32, slices=24))
    build_for_store(model, "int8", tmp_path / "store", calib, calib_slices=4, max_batch=2)
    (call,) = builds
    assert call["model"] == tmp_path / "store" / f"{file_sha256(model)[:16]}-int8.onnx"
    assert is_qdq(call["model"]) and call["built_from"] == model and call["max_batch"] == 2
    assert len(call["check"]) == ENGINE_CHECK_SLICES and call["checked_on"] == f"16 slices of {calib.name}"
    assert all(np.ptp(s.pixels) > 0 for s in call["check"])  # real slices of the data, none empty
