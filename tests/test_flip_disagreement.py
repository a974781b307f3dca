"""Flip disagreement: the mirrored run flips the patient's left-right axis of the model grid, whichever array
axis that is, and the score is the mean difference over the head interior in units of the output's range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.flip_disagreement import MIN_INTERIOR_MM2, Mirrored, flip_disagreement, left_right_axis
from lohires_edge.slice_geometry import SliceGeometry
from tests.edge.geometry_models import AXIAL_1MM, conv_model

SIZE = 16
# Columns run along the patient's x (left-right) in AXIAL_1MM; rows do in TURNED.
TURNED = SliceGeometry((1.0, 1.0), (0.0, 1.0, 0.0, 1.0, 0.0, 0.0))
SAGITTAL = SliceGeometry((1.0, 1.0), (0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
# Mirror-symmetric across columns (left-right in AXIAL_1MM), lopsided across rows; and the transpose.
SYMMETRIC_ACROSS_COLUMNS = np.array([[0.0, 0.1, 0.0], [0.2, 0.5, 0.2], [0.0, 0.3, 0.0]], np.float32)
SYMMETRIC_ACROSS_ROWS = SYMMETRIC_ACROSS_COLUMNS.T.copy()


def test_left_right_axis_follows_the_model_geometry() -> None:
    assert left_right_axis(AXIAL_1MM) == 2
    assert left_right_axis(TURNED) == 1
    assert left_right_axis(SAGITTAL) is None  # left-right is the slice normal
    assert left_right_axis(None) is None


@pytest.mark.parametrize("geometry, symmetric, lopsided", [
    (AXIAL_1MM, SYMMETRIC_ACROSS_COLUMNS, SYMMETRIC_ACROSS_ROWS),
    (TURNED, SYMMETRIC_ACROSS_ROWS, SYMMETRIC_ACROSS_COLUMNS)])
def test_a_model_symmetric_left_to_right_agrees_with_its_mirrored_run(
        tmp_path: Path, geometry: SliceGeometry, symmetric: np.ndarray, lopsided: np.ndarray) -> None:
    batch = np.random.default_rng(3).uniform(-1, 1, (2, SIZE, SIZE)).astype(np.float32)
    with OnnxRuntimeBackend(conv_model(tmp_path / "sym.onnx", SIZE, geometry, symmetric)) as backend:
        np.testing.assert_allclose(Mirrored(backend).run(batch), backend.run(batch), atol=1e-6)
    with OnnxRuntimeBackend(conv_model(tmp_path / "lop.onnx", SIZE, geometry, lopsided)) as backend:
        assert np.abs(Mirrored(backend).run(batch) - backend.run(batch)).mean() > 0.05


def test_a_model_without_a_left_right_axis_in_its_plane_has_no_mirrored_run(tmp_path: Path) -> None:
    with OnnxRuntimeBackend(conv_model(tmp_path / "sag.onnx", SIZE, SAGITTAL)) as backend:
        with pytest.raises(ValueError, match="no left-right axis"):
            Mirrored(backend)


def head(radius_px: int, shape: int = 240) -> np.ndarray:
    rows, cols = np.indices((shape, shape)) - shape // 2
    return (rows ** 2 + cols ** 2 <= radius_px ** 2).astype(np.float64)


def test_score_is_the_mean_difference_inside_the_head_over_the_output_range() -> None:
    output = head(100)  # 0 outside, 1 inside: robust range 1 (the dilated rim holds more than 1 % zeros)
    assert flip_disagreement(output, output, 1.0) == 0.0
    assert flip_disagreement(output, output + 0.1, 1.0) == pytest.approx(0.1)
    assert flip_disagreement(5.0 * output, 5.0 * output - 0.5, 1.0) == pytest.approx(0.1)  # range-relative
    # Only the interior counts: a difference confined to the rim of the head is not seen.
    rim = head(100) - head(90)
    assert flip_disagreement(output, output + rim, 1.0) == 0.0


def test_small_head_interiors_are_not_judged_and_size_is_in_millimetres() -> None:
    disc = head(60)  # interior about 45 px across in radius
    interior_mm2_at_1mm = np.pi * 45 ** 2
    assert interior_mm2_at_1mm < MIN_INTERIOR_MM2
    assert flip_disagreement(disc, disc + 0.1, 1.0) is None
    assert flip_disagreement(disc, disc + 0.1, 2.0) == pytest.approx(0.1)  # the same disc is 120 mm across


def test_mismatched_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="one shape"):
        flip_disagreement(np.zeros((8, 8)), np.zeros((8, 9)), 1.0)
