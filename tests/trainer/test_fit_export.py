"""fit -> run directory -> export -> self-describing ONNX, through the real CLI on real TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import tensorflow as tf
from click.testing import CliRunner
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.quantization import layers_kept_in_float
from lohires_edge.slice_geometry import SliceGeometry
from trainer.cli import main
from trainer.run_dir import RunDir
from trainer.training import DEFAULT_LEARNING_RATE, learning_rate_factor, rebuild_generator

TINY = ["--size", "32", "--base-filters", "4", "--disc-filters", "4", "--batch-size", "4", "--quiet"]


def train(data: Path, out: Path, *extra: str) -> object:
    return CliRunner().invoke(main, ["fit", str(data), "--sequence", "T1", "--out", str(out), *TINY, *extra])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.trainer.conftest import write_pairs

    data = write_pairs(tmp_path_factory.mktemp("fit") / "data", 4)
    out = data.parent / "run"
    # The resize decoder, a full-resolution level and an intensity headroom here; tests/conftest.py exports a
    # transposed-convolution one without, so both reach ONNX.
    result = train(data, out, "--epochs", "2", "--upsampling", "resize", "--full-resolution-filters", "2",
                   "--decay-epochs", "1", "--consistency-weight", "1000", "--headroom", "2")
    assert result.exit_code == 0, result.output
    return out


def test_fit_writes_a_complete_run(run: Path) -> None:
    config = json.loads((run / "run.json").read_text())
    assert config["sequence"] == "T1" and config["mapping"]["size"] == 32 and config["mapping"]["headroom"] == 2
    # The training data's geometry, read from its affine (RAS diagonal, 1.5 mm in-plane): the model's.
    assert config["mapping"]["geometry"] == {"pixel_spacing": [1.5, 1.5], "orientation": [0, -1, 0, -1, 0, 0]}
    assert config["generator"]["base_filters"] == 4 and config["generator"]["upsampling"] == "resize"
    assert config["generator"]["full_resolution_filters"] == 2
    assert len(config["validation_subjects"]) == 1 and len(config["train_subjects"]) == 3
    assert not set(config["train_subjects"]) & set(config["validation_subjects"])
    best = json.loads((run / "best.json").read_text())
    assert best["epoch"] in (1, 2) and -1.0 <= best["ssim"] <= 1.0
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-2")
    check = np.load(run / "check_slices.npy")
    assert check.shape[1:] == (32, 32) and check.min() >= -1.0 and check.max() <= 1.0
    logged = EventAccumulator(str(run / "logs"), size_guidance={"images": 0}).Reload()
    assert {"train/g_l1", "train/g_consistency", "train/d", "validation/ssim"} <= set(logged.Tags()["tensors"])
    assert config["losses"]["consistency"] == 1000
    assert [e.step for e in logged.Tensors("validation/ssim")] == [1, 2]
    assert "validation/input|generated|target" in logged.Tags()["tensors"]
    # --decay-epochs 1 over 2 epochs: the full rate, then half of it.
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in logged.Tensors("train/learning_rate")]
    np.testing.assert_allclose(rates, [DEFAULT_LEARNING_RATE, DEFAULT_LEARNING_RATE / 2], rtol=1e-6)


def test_learning_rate_stays_constant_then_falls_linearly_over_the_decay_epochs() -> None:
    assert [learning_rate_factor(e, 5, 0) for e in range(5)] == [1.0] * 5
    assert [learning_rate_factor(e, 6, 3) for e in range(6)] == [1.0, 1.0, 1.0, 0.75, 0.5, 0.25]
    # Resuming epoch 40 of a constant-rate run up to 55 with 15 decay epochs anneals from the first step.
    assert learning_rate_factor(40, 55, 15) == 15 / 16 and learning_rate_factor(54, 55, 15) == 1 / 16


def test_export_writes_the_contract_and_matches_tensorflow(run: Path, tmp_path: Path) -> None:
    onnx_path = tmp_path / "t1.onnx"
    result = CliRunner().invoke(main, ["export", str(run), "--onnx", str(onnx_path)])
    assert result.exit_code == 0, result.output
    assert "max |ONNX - TensorFlow|" in result.output
    # The full-resolution level's stem reads the image beside the encoder: INT8 keeps both in float.
    convolutions = {node.name for node in onnx.load(str(onnx_path)).graph.node if node.op_type == "Conv"}
    kept = [name for name in layers_kept_in_float(onnx_path) if name in convolutions]
    assert len(kept) == 3  # the encoder's first, the stem, the last
    contract = read_contract(onnx_path)
    assert contract.sequence == "T1" and contract.input_size == 32 and contract.layout == "NCHW"
    assert contract.mapping.headroom == 2  # what the slices were mapped with in training, so serving does too
    assert contract.mapping.geometry == SliceGeometry((1.5, 1.5), (0, -1, 0, -1, 0, 0))
    assert contract.to_metadata()["lohires.plane"] == "axial"
    assert "3 training / 1 validation subjects" in contract.training_data
    assert json.loads(contract.extra["generator"])["upsampling"] == "resize"
    assert contract.model_name == "lohiresgan" and contract.model_version.startswith("0.1.0+")

    renamed = tmp_path / "named.onnx"
    result = CliRunner().invoke(main, ["export", str(run), "--onnx", str(renamed), "--name", "edge-t1",
                                       "--version", "2.0"])
    assert result.exit_code == 0, result.output
    assert read_contract(renamed).model_id == "edge-t1-2.0-T1"

    generator, _ = rebuild_generator(RunDir(run))
    slices = np.load(run / "check_slices.npy")
    expected = generator(slices[..., None], training=False).numpy()[..., 0]
    np.testing.assert_allclose(OnnxRuntimeBackend(onnx_path).run(slices), expected, atol=1e-4)


def test_resume_continues_from_the_last_checkpoint(run: Path, tmp_path: Path) -> None:
    config = json.loads((run / "run.json").read_text())
    refused = train(Path(config["data"]), run, "--epochs", "3")
    assert refused.exit_code == 1 and "--resume" in refused.output and "Traceback" not in refused.output

    before = tf.train.load_checkpoint(str(run / "checkpoints" / "ckpt-2"))
    result = train(Path(config["data"]), run, "--epochs", "3", "--resume", "--decay-epochs", "1")
    assert result.exit_code == 0, result.output
    after = tf.train.load_checkpoint(str(run / "checkpoints" / "ckpt-3"))
    assert after.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 3
    # Resuming restored epoch 2's weights, then trained one more epoch on top of them.
    step_key = "generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    assert after.get_tensor(step_key) == before.get_tensor(step_key) + before.get_tensor(step_key) // 2
    # The schedule is the invocation's: epoch 3 of 3 with one decay epoch runs at half the rate.
    logged = EventAccumulator(str(run / "logs")).Reload()
    assert {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in logged.Tensors("train/learning_rate")}[3] \
        == pytest.approx(DEFAULT_LEARNING_RATE / 2)


def test_fit_refuses_bad_data_in_one_line(tmp_path: Path) -> None:
    from tests.trainer.conftest import write_pairs

    data = write_pairs(tmp_path / "data", 2)
    (data / "High_field" / "POCEMR001_T1.nii.gz").unlink()
    result = train(data, tmp_path / "run", "--epochs", "1")
    assert result.exit_code == 1
    assert "POCEMR001 (only in Low_field)" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("headroom", ["nan", "inf"])
def test_a_headroom_that_is_no_finite_number_is_a_usage_error(tmp_path: Path, headroom: str) -> None:
    result = CliRunner().invoke(main, ["fit", str(tmp_path), "--sequence", "FLAIR", "--out", str(tmp_path / "r"),
                                       "--headroom", headroom])
    assert result.exit_code == 2 and "headroom must be a finite number of at least 1" in result.output
    assert not (tmp_path / "r").exists()


def test_size_must_suit_the_generator_depth(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fit", str(tmp_path), "--sequence", "T1", "--out", str(tmp_path / "r"),
                                       "--size", "48"])
    assert result.exit_code == 1 and "not divisible by 2**5" in result.output


def test_export_of_an_unfinished_run_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", str(tmp_path), "--onnx", str(tmp_path / "m.onnx")])
    assert result.exit_code == 1 and "not a training run" in result.output
