import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lohires_edge.slice_mapping import (MappingParams, from_model, from_model_batch, intensity_window,
                                        model_grid_shape, to_model, to_model_batch)

PARAMS = MappingParams(size=64)


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
    assert mapped.shape == (64, 64) and mapped.dtype == np.float32
    assert mapped.min() >= -1 and mapped.max() <= 1
    back = from_model(mapped, state)
    assert back.shape == shape and back.dtype == dtype
    # A smooth ramp survives the resize round trip within a few percent of its range; same size is exact.
    tolerance = 1.0 if max(shape) == 64 and np.issubdtype(dtype, np.integer) else 0.03 * top + 1e-6
    if max(shape) == 64 and not np.issubdtype(dtype, np.integer):
        tolerance = 1e-5 * top
    assert np.max(np.abs(back.astype(np.float64) - slice_.astype(np.float64))) <= tolerance


def test_aspect_is_preserved_by_padding_not_stretching():
    slice_ = np.ones((20, 60), np.float32)
    slice_[:, :30] = 0
    mapped, state = to_model(slice_, MappingParams(size=60, low_percentile=0, high_percentile=100))
    assert state.offset == (20, 0) and state.side == 60
    assert np.all(mapped[:, 30:] == 1) and np.all(mapped[:, :30] == -1)  # the border repeats, nothing stretches


@pytest.mark.parametrize("value,dtype", [(0, np.uint16), (40000, np.uint16), (0, np.float32), (-3.5, np.float32),
                                         (7, np.int32), (-300, np.int32), (3e38, np.float32)])
def test_constant_and_all_zero_slices_round_trip_without_nan(value, dtype):
    slice_ = np.full((13, 21), value, dtype=dtype)
    mapped, state = to_model(slice_, PARAMS)
    assert np.all(np.isfinite(mapped))
    back = from_model(mapped, state)
    np.testing.assert_array_equal(back, slice_)


def test_one_hot_pixel_does_not_flatten_the_image():
    rng = np.random.default_rng(1)
    slice_ = rng.uniform(100, 200, (64, 64)).astype(np.float32)
    slice_[3, 3] = 1e6
    mapped, _ = to_model(slice_, PARAMS)
    # With min/max scaling everything but the hot pixel would sit near -1; the window keeps the spread.
    assert mapped.std() > 0.3


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
    np.testing.assert_allclose(from_model(mapped[None], state), from_model(mapped, state))


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
    _, state = to_model(np.zeros((4, 4)), PARAMS)
    with pytest.raises(ValueError, match="square"):
        from_model(np.zeros((64, 32)), state)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(dtype=st.sampled_from([np.uint8, np.int16, np.uint16, np.float32]),
                  shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=48)))
def test_any_slice_maps_into_range_and_back_to_its_shape(slice_):
    mapped, state = to_model(slice_, MappingParams(size=32))
    assert mapped.shape == (32, 32) and np.all(np.isfinite(mapped))
    assert mapped.min() >= -1 and mapped.max() <= 1
    back = from_model(mapped, state)
    assert back.shape == slice_.shape and back.dtype == slice_.dtype
    low, high = intensity_window(slice_, MappingParams(size=32))
    is_float = np.issubdtype(back.dtype, np.floating)
    finite = back[np.isfinite(back)] if is_float else back
    slack = 1 + (4 * np.finfo(back.dtype).eps * max(abs(low), abs(high)) if is_float else 0)  # float32 rounding
    assert np.all(finite >= low - slack) and np.all(finite <= high + slack)


def test_model_grid_keeps_the_field_of_view_at_the_model_pixel_size():
    slice_ = _ramp((50, 25), np.uint16, 1000)  # a coarse, non-square acquisition
    params = MappingParams(size=200, low_percentile=0, high_percentile=100)
    mapped, state = to_model(slice_, params)
    fine = from_model(mapped, state, grid="model")
    assert fine.shape == model_grid_shape(state, 200) == (200, 100) and fine.dtype == np.uint16
    # Same image, four times finer: block means of the fine image give back the coarse one.
    blocks = fine.reshape(50, 4, 25, 4).astype(float).mean(axis=(1, 3))
    assert np.max(np.abs(blocks - slice_.astype(float))) < 0.05 * 1000
    with pytest.raises(ValueError, match="grid"):
        from_model(mapped, state, grid="pixels")
