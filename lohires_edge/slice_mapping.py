"""The one slice mapping: how any 2D MR slice becomes model input, and model output becomes a slice again.

Training, evaluation, `enhance` and the DICOM node all go through `to_model` and `from_model`; nothing
else normalizes, pads or resizes slices for the model. A second, slightly different copy of this code is
how training/serving skew creeps in, so there is none.

Forward: percentile window (robust to the hot pixels that ruin min/max scaling) -> [-1, 1] -> pad to a
square by repeating the border (usually background in MR; a constant pad would bleed into the edge
pixels once resized) so the aspect ratio is kept -> resize to the model grid.
Inverse: resize back -> crop -> undo the window -> the original dtype, rounded and clipped to its range.
The inverse can also stop short of the resize and keep the model grid (`grid="model"`): the same field of
view on a finer matrix, which is what a derived DICOM series wants from a coarse 64 mT acquisition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from skimage.transform import resize

MODEL_LOW, MODEL_HIGH = -1.0, 1.0  # the generator ends in tanh


@dataclass(frozen=True)
class MappingParams:
    """What the model was trained with; carried in the model contract so serving uses the same."""

    size: int = 256
    low_percentile: float = 0.5
    high_percentile: float = 99.5

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"model size must be positive, got {self.size}")
        if not 0.0 <= self.low_percentile < self.high_percentile <= 100.0:
            raise ValueError(
                f"percentiles must satisfy 0 <= low < high <= 100, got {self.low_percentile}, "
                f"{self.high_percentile}")


@dataclass(frozen=True)
class SliceState:
    """What `from_model` needs to put a model output back where the slice came from."""

    shape: tuple[int, int]
    dtype: np.dtype
    low: float  # intensity mapped to MODEL_LOW
    high: float  # intensity mapped to MODEL_HIGH; always > low
    side: int  # side of the padded square
    offset: tuple[int, int]  # (row, column) of the slice inside the square


def intensity_window(slice_: np.ndarray, params: MappingParams) -> tuple[float, float]:
    """The (low, high) percentile window of the finite values; never empty, so never a division by zero."""
    values = np.asarray(slice_, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [params.low_percentile, params.high_percentile])
    low, high = float(low), float(high)
    if not high > low:  # constant slice: any span works as long as `low` stays exact
        high = low + max(1.0, abs(low) * 1e-3)
    return low, high


def to_model(slice_: np.ndarray, params: MappingParams,
             window: tuple[float, float] | None = None) -> tuple[np.ndarray, SliceState]:
    """Map a 2D slice of any shape and dtype to a float32 (size, size) array in [-1, 1].

    `window` overrides the slice's own percentile window (for example to map a target with the
    window of its volume); by default every slice is windowed on its own, which is what a node
    receiving one slice at a time can do too.
    """
    array = np.asarray(slice_)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"a slice must be a non-empty 2D array, got shape {array.shape}")
    low, high = window if window is not None else intensity_window(array, params)
    if not high > low:
        raise ValueError(f"intensity window must have high > low, got ({low}, {high})")

    values = np.nan_to_num(array.astype(np.float64), nan=low, posinf=high, neginf=low)
    unit = np.clip((values - low) / (high - low), 0.0, 1.0)
    mapped = MODEL_LOW + unit * (MODEL_HIGH - MODEL_LOW)

    rows, cols = array.shape
    side = max(rows, cols)
    offset = ((side - rows) // 2, (side - cols) // 2)
    square = np.pad(mapped, ((offset[0], side - rows - offset[0]), (offset[1], side - cols - offset[1])),
                    mode="edge")
    if side != params.size:
        square = _resize(square, params.size)

    state = SliceState(shape=(rows, cols), dtype=array.dtype, low=low, high=high, side=side, offset=offset)
    return square.astype(np.float32), state


def from_model(output: np.ndarray, state: SliceState, grid: str = "source") -> np.ndarray:
    """Map a model output (size, size), optionally with a singleton channel axis, back to the slice.

    grid="source" returns the slice's own shape; grid="model" keeps the model's pixel size and returns
    the slice's field of view on that matrix (shape `model_grid_shape(state, size)`).
    """
    square = np.asarray(output, dtype=np.float64)
    square = square.reshape(_squeezed_shape(square.shape))
    if grid == "source":
        if square.shape[0] != state.side:
            square = _resize(square, state.side)
        (rows, cols), (top, left) = state.shape, state.offset
    elif grid == "model":
        rows, cols = model_grid_shape(state, square.shape[0])
        top, left = (round(o * square.shape[0] / state.side) for o in state.offset)
    else:
        raise ValueError(f"grid must be 'source' or 'model', got {grid!r}")
    crop = np.clip(square[top:top + rows, left:left + cols], MODEL_LOW, MODEL_HIGH)
    unit = (crop - MODEL_LOW) / (MODEL_HIGH - MODEL_LOW)
    return _cast(state.low + unit * (state.high - state.low), state.dtype)


def model_grid_shape(state: SliceState, size: int) -> tuple[int, int]:
    """The matrix that holds the slice's field of view at the model's pixel size."""
    scale = size / state.side
    return max(1, round(state.shape[0] * scale)), max(1, round(state.shape[1] * scale))


def to_model_batch(slices: Sequence[np.ndarray], params: MappingParams) -> tuple[np.ndarray, list[SliceState]]:
    """`to_model` over several slices: a float32 (N, size, size) batch and one state per slice."""
    mapped = [to_model(s, params) for s in slices]
    batch = np.stack([m for m, _ in mapped]) if mapped else np.zeros((0, params.size, params.size), np.float32)
    return batch, [state for _, state in mapped]


def from_model_batch(outputs: np.ndarray, states: Sequence[SliceState], grid: str = "source") -> list[np.ndarray]:
    """`from_model` over a batch of outputs, one state per output."""
    if len(outputs) != len(states):
        raise ValueError(f"{len(outputs)} outputs for {len(states)} slice states")
    return [from_model(out, state, grid) for out, state in zip(outputs, states)]


def _resize(square: np.ndarray, side: int) -> np.ndarray:
    # Bilinear: no overshoot past the window, and anti-aliasing when shrinking.
    return resize(square, (side, side), order=1, mode="edge", anti_aliasing=square.shape[0] > side,
                  preserve_range=True)


def _squeezed_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    core = tuple(d for d in shape if d != 1) or (1, 1)
    if len(core) == 1:
        core = (core[0], core[0])
    if len(core) != 2 or core[0] != core[1]:
        raise ValueError(f"model output must be a square 2D array (channel axis allowed), got shape {shape}")
    return core


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return values.astype(dtype)
    raise ValueError(f"slices of dtype {dtype} are not supported (use an integer or floating dtype)")
