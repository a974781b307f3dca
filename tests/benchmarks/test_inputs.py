"""What the benchmarks read: the INT8 cache (a Q/DQ file is reused only if it was made the way it would be made
now), the one sequence of the models given, the simulator's tissue labels."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.inputs import int8_model, one_sequence, tissue_labels
from lohires_edge.dataset_layout import LOW_FIELD_DIR
from lohires_edge.errors import LohiresError
from lohires_edge.models import default_model_path
from lohires_edge.quantization import (DEFAULT_CALIBRATION_SLICES, DEFAULT_HOLDOUT_SLICES, DEFAULT_METHOD,
                                       quantization_record, quantize_model)
from lohires_edge.volumes import sample_slices
from tests.edge.phantom_volumes import phantom_volume, write_nifti


def test_a_cached_int8_model_made_with_another_recipe_is_remade(tiny_model, tmp_path):
    calibration_dir = tmp_path / "calibration"
    (calibration_dir / LOW_FIELD_DIR).mkdir(parents=True)
    write_nifti(calibration_dir / LOW_FIELD_DIR / "POCEMR000_T1.nii.gz",
                phantom_volume(slices=DEFAULT_CALIBRATION_SLICES + DEFAULT_HOLDOUT_SLICES + 1))
    cached = tmp_path / f"{tiny_model.stem}-int8-onnxruntime.onnx"
    # An older recipe's file, newer than the FP32 model (so the file's age alone would let it through).
    calibration, holdout = sample_slices(calibration_dir, 8, 2)
    quantize_model(tiny_model, cached, calibration, holdout, "entropy", max_ssim_drop=1.0,
                   min_psnr=float("-inf"), target="onnxruntime")
    assert DEFAULT_METHOD != "entropy" and quantization_record(cached)["method"] == "entropy"

    assert int8_model(tiny_model, tmp_path) == cached
    remade = quantization_record(cached)
    assert remade["method"] == DEFAULT_METHOD and remade["calibration_slices"] == DEFAULT_CALIBRATION_SLICES

    made_at = cached.stat().st_mtime_ns
    assert int8_model(tiny_model, tmp_path) == cached and cached.stat().st_mtime_ns == made_at  # now reused


def test_models_of_two_sequences_are_a_usage_error(capsys) -> None:
    t1, t2 = default_model_path("T1"), default_model_path("T2")
    parser = argparse.ArgumentParser(prog="bench")
    assert one_sequence(parser, [t1, t1]) == "T1"
    with pytest.raises(SystemExit) as exit_:
        one_sequence(parser, [t1, t2])
    assert exit_.value.code == 2 and "give models of one sequence (got T1, T2)" in capsys.readouterr().err


def test_missing_labels_are_named(tmp_path) -> None:
    with pytest.raises(LohiresError, match="POCEMR001_labels.nii.gz is missing"):
        tissue_labels(tmp_path, "POCEMR001")
