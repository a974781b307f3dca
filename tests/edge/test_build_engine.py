"""build-engine where TensorRT is missing: one line naming what to install, exit 1, nothing written."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest

from benchmarks.loopback.peers import program


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_build_engine_without_tensorrt_is_one_line(tiny_model, tmp_path, precision):
    store = tmp_path / "engines"
    result = subprocess.run([program("lohires-edge"), "build-engine", str(tiny_model), "--precision", precision,
                             "--engines", str(store)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "TensorRT is not installed here" in result.stderr and "python3-libnvinfer" in result.stderr
    assert not store.exists()


def test_is_qdq_of_a_file_that_is_not_onnx_is_a_contract_error(tmp_path):
    from lohires_edge.contract import ContractError
    from lohires_edge.quantization import is_qdq
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"\x08\x07not a model at all\xff\xfe" * 5)
    with pytest.raises(ContractError, match="not a readable ONNX model"):
        is_qdq(bogus)
