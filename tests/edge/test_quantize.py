"""`lohires-edge quantize`: a real Q/DQ INT8 model from real calibration slices, written only within thresholds."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from benchmarks.loopback.peers import program
from benchmarks.loopback.synthetic_series import mr_series, write_series
from lohires_edge.agreement import measure_agreement
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.engine_store import file_sha256
from lohires_edge.errors import LohiresError
from lohires_edge.quantization import (DEFAULT_MAX_SSIM_DROP, DEFAULT_MIN_PSNR, FLOAT_LAYERS, is_qdq,
                                       layers_kept_in_float, quantize_model)
from lohires_edge.slice_mapping import SliceImage, to_model_batch
from lohires_edge.volumes import VolumeError, sample_slices
from tests.edge.fixed_model import write_fixed_model
from tests.edge.phantom_volumes import phantom_volume, write_nifti


@pytest.fixture(scope="module")
def calib_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calib")
    for subject in range(2):
        write_nifti(folder / f"POCEMR{subject:03d}_T1.nii.gz", phantom_volume(slices=12, seed=subject))
    return folder


def edge(*args) -> subprocess.CompletedProcess:
    return subprocess.run([program("lohires-edge"), *map(str, args)], capture_output=True, text=True)


def test_quantize_writes_a_symmetric_per_channel_qdq_model(tiny_model, calib_dir, tmp_path):
    out = tmp_path / "tiny.int8.onnx"
    result = edge("quantize", tiny_model, "--calib", calib_dir, "-o", out, "--calib-slices", "12",
                  "--holdout-slices", "6")
    assert result.returncode == 0, result.stderr
    assert "INT8 vs FP32 on 6 held-out slices" in result.stdout

    proto = onnx.load(str(out))
    assert is_qdq(out)
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    dequant = [n for n in proto.graph.node if n.op_type == "DequantizeLinear"]
    zero_points = [inits[n.input[2]] for n in dequant if len(n.input) > 2 and n.input[2] in inits]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)
    producer = {n.output[0]: n for n in dequant}
    convs = [n for n in proto.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert len(convs) >= 4
    # The first convolution (reads the image) and the last (writes it) stay in float, with their weights.
    assert all(conv.input[1] in inits and inits[conv.input[1]].dtype == np.float32 for conv in (convs[0], convs[-1]))
    assert not any(node.op_type in ("QuantizeLinear", "DequantizeLinear") for node in proto.graph.node
                   if proto.graph.output[0].name in node.output)
    for conv in convs[1:-1]:  # one weight scale per output channel (axis 0 for Conv, 1 for ConvTranspose)
        weights = producer[conv.input[1]]
        q_weights, scales = inits[weights.input[0]], inits[weights.input[1]]
        assert q_weights.dtype == np.int8
        assert scales.shape == (q_weights.shape[0 if conv.op_type == "Conv" else 1],)

    contract = read_contract(out)
    assert contract.model_name == "tiny" and contract.input_size == 32
    record = json.loads(contract.extra["quantization"])
    assert record["calibration_slices"] == 12
    assert record["method"] == "percentile" and record["percentile"] == 99.999
    assert record["float_layers"] == FLOAT_LAYERS
    assert record["source_sha256"] == file_sha256(tiny_model)

    # What the command printed and recorded is what INT8 does against FP32 on those same held-out slices.
    _, holdout = sample_slices(calib_dir, 12, 6, sequence="T1")
    batch, _ = to_model_batch(holdout, contract.mapping)
    fp32, int8 = OnnxRuntimeBackend(tiny_model), OnnxRuntimeBackend(out)
    measured = dataclasses.asdict(measure_agreement(fp32, int8, batch))
    assert record["int8_vs_fp32"] == pytest.approx(measured, rel=1e-4)
    assert f"PSNR {measured['psnr_mean']:.2f} dB" in result.stdout
    assert measured["psnr_mean"] >= DEFAULT_MIN_PSNR and 1 - measured["ssim_mean"] <= DEFAULT_MAX_SSIM_DROP


def test_quantize_refuses_past_the_threshold_and_writes_nothing(tiny_model, calib_dir, tmp_path):
    out = tmp_path / "tiny.int8.onnx"
    result = edge("quantize", tiny_model, "--calib", calib_dir, "-o", out, "--calib-slices", "8",
                  "--holdout-slices", "4", "--min-psnr", "200", "--method", "entropy")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "differs too much from FP32" in result.stderr and "not written" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def fixed_model(tmp_path_factory):
    return write_fixed_model(tmp_path_factory.mktemp("fixed") / "fixed-t1.onnx")


def test_calibration_from_a_dicom_series(fixed_model, tmp_path):
    series = mr_series(slices=6, rows=28, cols=24)
    write_series(series, tmp_path / "series")
    calibration, holdout = sample_slices(tmp_path / "series", 4, 2)
    drawn = [_index_in(series, s) for s in calibration + holdout]
    assert sorted(drawn) == list(range(6)), "calibration must read each slice of the series exactly once"

    out = tmp_path / "q.onnx"
    result = quantize_model(fixed_model, out, calibration, holdout)
    assert result.slices == 2 and is_qdq(out)
    assert json.loads(read_contract(out).extra["quantization"])["calibration_slices"] == 4
    batch, _ = to_model_batch(holdout, read_contract(fixed_model).mapping)
    fp32, int8 = OnnxRuntimeBackend(fixed_model).run(batch), OnnxRuntimeBackend(out).run(batch)
    assert not np.array_equal(fp32, int8)  # really quantized
    assert np.max(np.abs(fp32 - int8)) < 0.05
    assert np.corrcoef(fp32.ravel(), int8.ravel())[0, 1] > 0.99


def _index_in(series: list, drawn: SliceImage) -> int:
    """Which instance of `series` holds these pixels (the series' slices all differ)."""
    (index,) = [i for i, ds in enumerate(series) if np.array_equal(ds.pixel_array, drawn.pixels)]
    return index


def test_sampling_skips_empty_slices_and_other_sequences(tmp_path):
    write_nifti(tmp_path / "POCEMR000_T1.nii.gz", phantom_volume(slices=5))  # slice 0 is empty
    write_nifti(tmp_path / "POCEMR000_T2.nii.gz", phantom_volume(slices=40))
    calibration, holdout = sample_slices(tmp_path, 3, 1, sequence="T1")
    assert len(calibration) == 3 and len(holdout) == 1
    assert all(np.ptp(s.pixels) > 0 for s in calibration + holdout)
    with pytest.raises(VolumeError, match="has 4 usable slices"):
        sample_slices(tmp_path, 4, 1, sequence="T1")


def test_sampling_prefers_the_low_field_folder(tmp_path):
    write_nifti((tmp_path / "Low_field").mkdir() or tmp_path / "Low_field" / "POCEMR000_T1.nii.gz",
                phantom_volume(slices=3))
    write_nifti((tmp_path / "High_field").mkdir() or tmp_path / "High_field" / "POCEMR000_T1.nii.gz",
                phantom_volume(slices=30))
    with pytest.raises(VolumeError, match="has 2 usable slices"):
        sample_slices(tmp_path, 3, 0, sequence="T1")


def test_an_already_quantized_model_is_refused(tiny_model, calib_dir, tmp_path):
    calibration, holdout = sample_slices(calib_dir, 4, 2)
    quantize_model(tiny_model, tmp_path / "q.onnx", calibration, holdout)
    with pytest.raises(LohiresError, match="already quantized"):
        quantize_model(tmp_path / "q.onnx", tmp_path / "qq.onnx", calibration, holdout)


def test_onnxruntime_target_uses_uint8_activations_and_tensorrt_refuses_it(tiny_model, calib_dir, tmp_path):
    from lohires_edge.engine_builder import build_engine
    from lohires_edge.quantization import quantization_target

    calibration, holdout = sample_slices(calib_dir, 6, 3)
    out = tmp_path / "cpu.int8.onnx"
    quantize_model(tiny_model, out, calibration, holdout, target="onnxruntime")
    assert quantization_target(out) == "onnxruntime"
    proto = onnx.load(str(out))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    activation_zero_points = [inits[n.input[2]] for n in proto.graph.node if n.op_type == "QuantizeLinear"]
    assert activation_zero_points and all(z.dtype == np.uint8 for z in activation_zero_points)
    with pytest.raises(LohiresError, match="quantize again with --target tensorrt"):
        build_engine(out, "int8", tmp_path / "engines", holdout, "held-out")
    with pytest.raises(LohiresError, match="is not quantized"):
        build_engine(tiny_model, "int8", tmp_path / "engines", holdout, "held-out")
    assert not (tmp_path / "engines").exists()


def test_every_convolution_that_reads_the_image_and_the_last_one_stay_in_float(tmp_path):
    # input -> layout -> encoder conv -> relu -> middle conv, and input -> layout -> full-resolution stem conv;
    # both joined -> last conv -> residual add with the input -> output.
    def conv(name, source, channels_in, channels_out):
        weights = numpy_helper.from_array(np.ones((channels_out, channels_in, 1, 1), np.float32), f"{name}.w")
        return helper.make_node("Conv", [source, weights.name], [name], name=name), weights
    nodes, weights = [helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2], name="layout")], []
    for name, source, c_in, c_out in (("encoder", "nchw", 1, 2), ("middle", "relu", 2, 2), ("stem", "nchw", 1, 2),
                                      ("last", "joined", 4, 1)):
        if name == "middle":
            nodes.append(helper.make_node("Relu", ["encoder"], ["relu"], name="relu"))
        if name == "last":
            nodes.append(helper.make_node("Concat", ["middle", "stem"], ["joined"], axis=1, name="join"))
        node, weight = conv(name, source, c_in, c_out)
        nodes.append(node)
        weights.append(weight)
    nodes += [helper.make_node("Add", ["nchw", "last"], ["sum"], name="residual"),
              helper.make_node("Transpose", ["sum"], ["output"], perm=[0, 2, 3, 1], name="back")]
    shape = [1, 8, 8, 1]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)], weights)
    path = tmp_path / "g.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert layers_kept_in_float(path) == ["encoder", "stem", "last", "residual", "back"]
