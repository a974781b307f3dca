import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lohires_edge.slice_geometry import PlaneMismatch, SliceGeometry, volume_slicing
from lohires_edge.slice_mapping import (MappingParams, SliceImage, from_model, from_model_batch,
                                        intensity_window, model_grid, to_model, to_model_batch)
from lohires_edge.tiling import blend_tiles
from tests.anatomy import pls_volume, sampled_slice, stored_as

PARAMS = MappingParams(size=64)  # no geometry: a contract version 1 model
AXIAL = SliceGeometry((1.0, 1.0), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))  # rows A->P, columns R->L, 1 mm
GRID = MappingParams(size=224, geometry=AXIAL)
WINDOW = (0.0, 1800.0)  # one window for every copy of the anatomy: the comparisons are about geometry


def _ramp(shape, dtype, top):
    rows, cols = shape
    values = np.add.outer(np.arange(rows), np.arange(cols)) / (rows + cols - 2) * top
    return values.astype(dtype)


@pytest.mark.parametrize("shape", [(64, 64), (40, 64), (64, 33), (17, 9), (200, 130)])
@pytest.mark.parametrize("dtype,top", [(np.uint8, 255), (np.int16, 3000), (np.uint16, 60000),
                                       (np.float32, 1.5), (np.float64, 812.25)])
def test_round_trip_restores_shape_dtype_and_values(shape, dtype, top):
    slice_ = _ramp(shape, dtype, top)
    mapped, state = to_model(slice_, MappingParams(size=64, low_percentile=0, high_percentile=100))
    assert mapped.shape == (1, 64, 64) and mapped.dtype == np.float32
    assert mapped.min() >= -1 and mapped.max() <= 1
    back = from_model(mapped, state)
    assert back.shape == shape and back.dtype == dtype
    # A smooth ramp survives the resize round trip within a few percent of its range; same size is exact.
    tolerance = 1.0 if max(shape) == 64 and np.issubdtype(dtype, np.integer) else 0.03 * top + 1e-6
    if max(shape) == 64 and not np.issubdtype(dtype, np.integer):
        tolerance = 1e-5 * top
    assert np.max(np.abs(back.astype(np.float64) - slice_.astype(np.float64))) <= tolerance


def test_without_geometry_the_aspect_is_preserved_by_padding():
    slice_ = np.ones((20, 60), np.float32)
    slice_[:, :30] = 0
    (mapped,), state = to_model(slice_, MappingParams(size=60, low_percentile=0, high_percentile=100))
    assert state.tiles.offset == (20, 0) and state.tile_count == 1
    assert np.all(mapped[:, 30:] == 1) and np.all(mapped[:, :30] == -1)  # the border repeats, nothing stretches


@pytest.mark.parametrize("value,dtype", [(0, np.uint16), (40000, np.uint16), (0, np.float32), (-3.5, np.float32),
                                         (7, np.int32), (-300, np.int32), (3e38, np.float32)])
def test_constant_and_all_zero_slices_round_trip_without_nan(value, dtype):
    slice_ = np.full((13, 21), value, dtype=dtype)
    mapped, state = to_model(slice_, PARAMS)
    assert np.all(np.isfinite(mapped))
    back = from_model(mapped, state)
    assert back.dtype == slice_.dtype
    np.testing.assert_allclose(back, slice_, rtol=1e-6, atol=1e-12)  # resampling a constant: float rounding


def test_one_hot_pixel_does_not_flatten_the_image():
    rng = np.random.default_rng(1)
    slice_ = rng.uniform(100, 200, (64, 64)).astype(np.float32)
    slice_[3, 3] = 1e6
    mapped, _ = to_model(slice_, PARAMS)
    # With min/max scaling everything but the hot pixel would sit near -1; the window keeps the spread.
    assert mapped.std() > 0.3


def test_headroom_keeps_voxels_above_the_window_unclipped():
    """A lesion brighter than the 99.5th percentile (almost every lesion voxel of a simulated 64 mT FLAIR)
    is clipped to the window's top without headroom; with headroom 2 it reaches the model, and comes back,
    up to twice the window, and is clipped beyond."""
    rng = np.random.default_rng(2)
    slice_ = rng.uniform(100, 200, (64, 64))
    slice_[30:33, 30:33] = 280.0  # 9 of 4096 voxels: above the 99.5th percentile (about 200)
    slice_[10, 10] = 1000.0  # beyond twice the window: clipped even with headroom
    clipped, state = to_model(slice_, PARAMS)
    assert clipped[0, 30:33, 30:33].max() == 1.0 and from_model(clipped, state)[31, 31] < 201
    params = MappingParams(size=64, headroom=2.0)
    mapped, state = to_model(slice_, params)
    low, high = intensity_window(slice_, params)
    # Linear in the window, its top at 0: 280 lands at (280 - low) / (high - low) - 1.
    np.testing.assert_allclose(mapped[0, 31, 31], (280.0 - low) / (high - low) - 1.0, rtol=1e-5)
    assert mapped[0, 10, 10] == 1.0
    inside = (slice_ >= low) & (slice_ <= low + 2 * (high - low))
    np.testing.assert_allclose(from_model(mapped, state)[inside], slice_[inside], rtol=1e-5)


def test_a_run_without_headroom_records_none_and_an_old_record_loads():
    """run.json keeps the key out at headroom 1, so a run written now still loads in an older checkout."""
    assert "headroom" not in PARAMS.to_dict()
    assert MappingParams.from_dict(PARAMS.to_dict()) == PARAMS
    with_headroom = MappingParams(size=64, headroom=2.0)
    assert MappingParams.from_dict(with_headroom.to_dict()) == with_headroom


def test_output_is_clipped_to_the_dtype_range():
    slice_ = np.array([[0, 100], [200, 255]], np.uint8)
    _, state = to_model(slice_, MappingParams(size=2, low_percentile=0, high_percentile=100))
    back = from_model(np.full((2, 2), 5.0, np.float32), state)  # outside the tanh range
    np.testing.assert_array_equal(back, np.full((2, 2), 255, np.uint8))


def test_non_finite_values_become_finite():
    slice_ = np.array([[np.nan, 1.0], [np.inf, -np.inf]], np.float32)
    mapped, _ = to_model(slice_, MappingParams(size=4))
    assert np.all(np.isfinite(mapped))


def test_channel_axis_on_output_is_accepted():
    slice_ = _ramp((30, 30), np.float32, 10.0)
    mapped, state = to_model(slice_, PARAMS)
    np.testing.assert_allclose(from_model(mapped[..., None], state), from_model(mapped, state))
    np.testing.assert_allclose(from_model(mapped[:, None], state), from_model(mapped, state))


def test_batch_helpers_match_single_calls():
    slices = [_ramp((20, 31), np.uint16, 900), _ramp((64, 64), np.float32, 2.0)]
    batch, states = to_model_batch(slices, PARAMS)
    assert batch.shape == (2, 64, 64)
    for out, single, state in zip(from_model_batch(batch, states), slices, states):
        np.testing.assert_array_equal(out, from_model(to_model(single, PARAMS)[0], state))


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="2D"):
        to_model(np.zeros((2, 3, 4)), PARAMS)
    with pytest.raises(ValueError, match="non-empty"):
        to_model(np.zeros((0, 3)), PARAMS)
    with pytest.raises(ValueError, match="percentiles"):
        MappingParams(low_percentile=50, high_percentile=50)
    for headroom in (0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="headroom"):
            MappingParams(headroom=headroom)
    _, state = to_model(np.zeros((4, 4)), PARAMS)
    with pytest.raises(ValueError, match="does not hold 1 square 64x64"):
        from_model(np.zeros((64, 32)), state)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from([np.uint8, np.int16, np.uint16, np.float32]),
                  shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=48)))
def test_any_slice_maps_into_range_and_back_to_its_shape(slice_):
    mapped, state = to_model(slice_, MappingParams(size=32))
    assert mapped.shape == (1, 32, 32) and np.all(np.isfinite(mapped))
    assert mapped.min() >= -1 and mapped.max() <= 1
    back = from_model(mapped, state)
    assert back.shape == slice_.shape and back.dtype == slice_.dtype
    low, high = intensity_window(slice_, MappingParams(size=32))
    is_float = np.issubdtype(back.dtype, np.floating)
    finite = back[np.isfinite(back)] if is_float else back
    slack = 1 + (4 * np.finfo(back.dtype).eps * max(abs(low), abs(high)) if is_float else 0)  # float32 rounding
    assert np.all(finite >= low - slack) and np.all(finite <= high + slack)


def test_model_grid_keeps_the_field_of_view_at_the_model_pixel_size():
    slice_ = _ramp((50, 25), np.uint16, 1000)  # a coarse, non-square acquisition at 4 mm per pixel
    geometry = SliceGeometry((4.0, 4.0), AXIAL.orientation)
    params = MappingParams(size=256, low_percentile=0, high_percentile=100, geometry=AXIAL)
    mapped, state = to_model(SliceImage(slice_, geometry), params)
    fine = from_model(mapped, state, grid="model")
    assert (fine.shape, fine.dtype) == ((200, 100), np.uint16)
    assert model_grid(slice_.shape, geometry, params) == ((200, 100), (1.0, 1.0))
    # Same image, four times finer: block means of the fine image give back the coarse one.
    blocks = fine.reshape(50, 4, 25, 4).astype(float).mean(axis=(1, 3))
    assert np.max(np.abs(blocks - slice_.astype(float))) < 0.05 * 1000
    with pytest.raises(ValueError, match="grid"):
        from_model(mapped, state, grid="pixels")


def _middle_slice(volume: np.ndarray, affine: np.ndarray) -> SliceImage:
    """The slice through z = 0 mm, cut as the edge cuts a NIfTI volume for an axial model."""
    slicing = volume_slicing(affine, AXIAL)
    index = int(np.rint(np.linalg.solve(affine, [0.0, 0.0, 0.0, 1.0])[slicing.axis]))
    return SliceImage(np.take(volume, index, axis=slicing.axis), slicing.geometry)


@pytest.mark.parametrize("axcodes", ["RAS", "LPS", "SPL", "IRA"])
def test_the_same_anatomy_stored_in_any_axis_order_gives_the_same_model_input(axcodes):
    volume, affine = pls_volume()
    reference, _ = to_model(_middle_slice(volume, affine), GRID, WINDOW)  # the simulator's own layout
    stored, stored_affine = stored_as(volume, affine, axcodes)
    mapped, state = to_model(_middle_slice(stored, stored_affine), GRID, WINDOW)
    np.testing.assert_allclose(mapped, reference, atol=1e-6)  # permutations and flips: nothing interpolated
    # ...and the inverse puts each pixel back where it came from in that layout.
    back = from_model(mapped, state)  # 2 mm -> the model's 1 mm -> 2 mm: smoothed once on the way back
    np.testing.assert_allclose(back, _middle_slice(stored, stored_affine).pixels, atol=0.015 * WINDOW[1])
    # Without the geometry step (what the model saw before) the input would not match:
    unturned, _ = to_model(_middle_slice(stored, stored_affine).pixels, GRID, WINDOW)
    assert axcodes == "LPS" or np.abs(unturned - reference).mean() > 0.05


@pytest.mark.parametrize("spacing,orientation", [
    ((1.25, 1.5), (0.0, -1.0, 0.0, 1.0, 0.0, 0.0)),  # rows run right -> left, columns posterior -> anterior
    ((2.0, 0.8), (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0)),  # turned by 180 degrees, anisotropic pixels
])
def test_dicom_style_slices_of_any_orientation_and_spacing_give_the_same_model_input(spacing, orientation):
    volume, affine = pls_volume()
    reference, _ = to_model(_middle_slice(volume, affine), GRID, WINDOW)
    geometry = SliceGeometry(spacing, orientation)
    # A slice over the same field of view (192 mm along A-P, 160 mm along R-L), centred on the same point.
    extent = np.abs(np.outer(geometry.row_direction, [1, 0]) + np.outer(geometry.column_direction, [0, 1]))
    field = extent.T @ np.array([160.0, 192.0, 0.0])  # mm along (rows, columns)
    shape = tuple(int(round(f / s)) for f, s in zip(field, spacing))
    mapped, _ = to_model(SliceImage(sampled_slice(geometry, shape), geometry), GRID, WINDOW)
    assert mapped.shape == reference.shape
    inside = np.abs(reference) < 1  # compare where the anatomy is, away from the padded border
    assert np.abs(mapped - reference)[inside].mean() < 0.01  # interpolation error only
    assert np.abs(mapped - reference).max() < 0.1


def test_a_sagittal_slice_is_refused_by_an_axial_model():
    sagittal = SliceGeometry((1.0, 1.0), (0.0, 1.0, 0.0, 0.0, 0.0, -1.0))
    with pytest.raises(PlaneMismatch, match="sagittal, 90 degrees from the model's axial plane"):
        to_model(SliceImage(np.ones((8, 8)), sagittal), GRID)
    oblique = SliceGeometry((1.0, 1.0), (np.cos(np.radians(14)), 0.0, np.sin(np.radians(14)), 0.0, 1.0, 0.0))
    assert to_model(SliceImage(np.ones((8, 8)), oblique), GRID)[0].shape == (1, 224, 224)  # within 15 degrees
    steeper = SliceGeometry((1.0, 1.0), (np.cos(np.radians(16)), 0.0, np.sin(np.radians(16)), 0.0, 1.0, 0.0))
    with pytest.raises(PlaneMismatch, match="16 degrees"):
        to_model(SliceImage(np.ones((8, 8)), steeper), GRID)
    volume, affine = pls_volume((20, 20, 5))
    tilted = affine @ np.array([[1.0, 0, 0, 0], [0, 0.5, -0.866, 0], [0, 0.866, 0.5, 0], [0, 0, 0, 1]])
    with pytest.raises(PlaneMismatch, match="no voxel axis"):
        volume_slicing(tilted, AXIAL)  # every axis 30 degrees or more from axial


def _field_of_view(fov_mm: float, spacing: float = 2.0) -> SliceImage:
    geometry = SliceGeometry((spacing, spacing), AXIAL.orientation)
    side = int(round(fov_mm / spacing))
    return SliceImage(sampled_slice(geometry, (side, side)), geometry)


def _canvas(tiles: np.ndarray, state) -> np.ndarray:
    """The field of view at the model's pixel size, as the tiles hold it."""
    return blend_tiles(tiles.astype(np.float64), state.tiles)


def test_fields_of_view_of_180_and_260_mm_put_the_anatomy_at_the_same_size_on_the_grid():
    small, small_state = to_model(_field_of_view(180), GRID, WINDOW)
    large, large_state = to_model(_field_of_view(260), GRID, WINDOW)
    assert small_state.tiles.shape == (180, 180) and large_state.tiles.shape == (260, 260)  # 1 mm per pixel
    head = [(_canvas(m, s)[s.tiles.shape[0] // 2] > -0.45).sum() for m, s in ((small, small_state),
                                                                             (large, large_state))]
    assert head[0] == head[1] and abs(head[0] - 140) <= 2  # the head is 140 mm wide, on both grids
    # The 180 mm in the middle of the 260 mm view is the same image, pixel for pixel (but for its outermost
    # millimetre, which the 180 mm view has to extrapolate).
    middle = _canvas(large, large_state)[40:220, 40:220]
    np.testing.assert_allclose(middle[2:-2, 2:-2], _canvas(small, small_state)[2:-2, 2:-2], atol=1e-5)


def test_a_field_of_view_larger_than_the_grid_is_tiled_not_squeezed():
    tiles, state = to_model(_field_of_view(260), GRID, WINDOW)
    assert tiles.shape == (4, 224, 224)  # 2 x 2 overlapping tiles at 1 mm, each the model's own scale
    assert all(r in (0, 36) and c in (0, 36) for r, c in state.tiles.origins)
    # An identity model gives the slice back: the blend has no seams.
    back = from_model(tiles, state)
    original = _field_of_view(260).pixels
    assert np.abs(back - original).max() < 0.01 * WINDOW[1]
    outputs = tiles + 0.1 * np.arange(4)[:, None, None]  # tiles that disagree a little...
    blended = from_model(outputs, state, grid="model").astype(float)
    steepest = np.abs(np.diff(original, axis=0)).max()
    assert np.abs(np.diff(blended, axis=0)).max() < 0.02 * WINDOW[1] + steepest / 2


AXIS_ALIGNED = [(1, 0, 0, 0, 1, 0), (0, 1, 0, 1, 0, 0), (-1, 0, 0, 0, -1, 0), (0, -1, 0, -1, 0, 0),
                (1, 0, 0, 0, -1, 0), (-1, 0, 0, 0, 1, 0), (0, 1, 0, -1, 0, 0), (0, -1, 0, 1, 0, 0)]


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from([np.uint16, np.float32]),
                  shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)),
       st.sampled_from(AXIS_ALIGNED), st.floats(0.3, 6.0), st.floats(0.3, 6.0))
def test_any_axial_slice_of_any_orientation_and_spacing_maps_into_range_and_back(slice_, orientation, row, col):
    geometry = SliceGeometry((row, col), orientation)
    params = MappingParams(size=16, geometry=SliceGeometry((1.0, 1.0), AXIAL.orientation))
    tiles, state = to_model(SliceImage(slice_, geometry), params)
    assert tiles.shape[1:] == (16, 16) and np.all(np.isfinite(tiles)) and np.abs(tiles).max() <= 1
    back = from_model(tiles, state)
    assert back.shape == slice_.shape and back.dtype == slice_.dtype
    fine = from_model(tiles, state, grid="model")
    assert fine.shape == model_grid(slice_.shape, geometry, params)[0]
