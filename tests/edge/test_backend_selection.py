"""open_backend: what auto chooses on a box without TensorRT, and one-line refusals for what cannot run."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest

from lohires_edge.backends.base import BackendUnavailable
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.backends.selection import open_backend
from lohires_edge.engine_store import write_engine
from lohires_edge.errors import LohiresError
from tests.edge.test_engine_store import manifest

no_tensorrt = pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None,
                                 reason="TensorRT is installed here; these check the box without it")


@no_tensorrt
def test_auto_without_tensorrt_falls_back_to_onnxruntime_and_says_why(tiny_model, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lohires_edge")
    with open_backend(tiny_model, engines_dir=tmp_path) as backend:
        assert isinstance(backend, OnnxRuntimeBackend)
        assert backend.contract.sequence == "T1"
        batch = np.zeros((2, 32, 32), np.float32)
        assert backend.run(batch).shape == (2, 32, 32)
    assert "not using TensorRT: TensorRT is not installed" in caplog.text
    assert "backend: onnxruntime on cpu" in caplog.text


@no_tensorrt
def test_stored_engine_without_tensorrt_names_what_to_install(tmp_path):
    plan = write_engine(tmp_path, b"serialized", manifest())
    with pytest.raises(BackendUnavailable, match="python3-libnvinfer"):
        open_backend(engine=plan)


@no_tensorrt
def test_explicit_tensorrt_backend_is_unavailable_here(tiny_model, tmp_path):
    with pytest.raises(BackendUnavailable, match="python3-libnvinfer"):
        open_backend(tiny_model, backend="tensorrt", engines_dir=tmp_path)


def test_engine_on_the_onnxruntime_backend_is_refused(tmp_path):
    with pytest.raises(LohiresError, match="only on the tensorrt backend"):
        open_backend(engine=tmp_path / "a.plan", backend="onnxruntime")


def test_no_model_and_no_sequence_is_refused():
    with pytest.raises(LohiresError, match="pass --model"):
        open_backend()


def test_missing_model_file_is_refused(tmp_path):
    with pytest.raises(LohiresError, match="does not exist"):
        open_backend(tmp_path / "absent.onnx")


def test_sequence_without_a_shipped_model_is_a_clear_error(monkeypatch, tmp_path):
    import lohires_edge.models as models
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    with pytest.raises(LohiresError, match="no default model is shipped for FLAIR"):
        open_backend(sequence="FLAIR")


def test_sequence_picks_the_shipped_default(monkeypatch, tmp_path, tiny_model):
    import shutil

    import lohires_edge.models as models
    shutil.copy(tiny_model, tmp_path / "t1.onnx")
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    with open_backend(sequence="T1", backend="onnxruntime") as backend:
        assert backend.contract.model_name == "tiny"


def test_engine_built_from_another_model_is_refused(tiny_model, tmp_path):
    plan = write_engine(tmp_path, b"serialized", manifest())  # built from a model with another hash
    with pytest.raises(LohiresError, match=f"was not built from {tiny_model.name}"):
        open_backend(tiny_model, engine=plan)
