"""The one slice mapping: how any 2D MR slice becomes model input, and model output becomes a slice again.

Training, evaluation, `enhance` and the DICOM node all go through `to_model` and `from_model`; nothing
else orients, resamples, normalizes or pads slices for the model. A second, slightly different copy of
this code is how training/serving skew creeps in, so there is none.

Forward: geometry first, then intensity.
1. Turn/flip the slice onto the model's in-plane orientation (`slice_geometry`; a slice in another plane
   is refused with PlaneMismatch).
2. Resample it to the model's pixel spacing (bilinear on a grid centred on the field of view; smoothed
   first along an axis that shrinks, so it does not alias). The anatomy has the model's size in pixels
   whatever the scanner's matrix and field of view.
3. Pad or tile it to the model grid (`tiling`): a larger field of view becomes overlapping tiles, never
   a squeezed image.
4. Percentile window (robust to the hot pixels that ruin min/max scaling) -> [-1, 1]. The window is the
   slice's own unless the caller gives one (`enhance` gives its volume's, so a series has one scale).
   With a headroom h > 1 the window fills only 1/h of the model's range, so intensities above its high
   percentile, up to h times the window, reach the model instead of being clipped to the window's top (a
   simulated 64 mT FLAIR's lesions lie almost all above its 99.5th percentile, many above twice it).
Inverse: blend the tiles -> undo the window -> either resample back onto the slice's own grid
(grid="source") or keep the model's pixel spacing over the slice's field of view (grid="model", for a
derived DICOM series) -> undo the turn/flip -> the original dtype, rounded and clipped to its range.

A model without geometry in its contract (version 1) gets what it was trained with: the longer side of
the field of view stretched onto the grid, no reorientation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np
from scipy import ndimage

from lohires_edge.slice_geometry import (IDENTITY_ORIENTATION, SliceGeometry, VolumeSlicing,
                                         orientation_to_model, reorient, reoriented_pair, restore,
                                         restored_pair)
from lohires_edge.tiling import TileLayout, blend_tiles, cut_tiles, plan_tiles

MODEL_LOW, MODEL_HIGH = -1.0, 1.0  # the generator ends in tanh
GRIDS = ("source", "model")


@dataclass(frozen=True)
class MappingParams:
    """What the model was trained with; carried in the model contract so serving uses the same.

    `geometry` is the pixel spacing and in-plane orientation of the training slices; None for models
    trained before the contract recorded it.
    """

    size: int = 256
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    geometry: SliceGeometry | None = None
    # The model's [-1, 1] spans headroom x (high - low) above low: 1 clips at the high percentile (every
    # model trained without `fit --headroom`); 2 maps it to 0 and keeps intensities up to twice the window.
    headroom: float = 1.0

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"model size must be positive, got {self.size}")
        if not (math.isfinite(self.headroom) and self.headroom >= 1.0):
            raise ValueError(f"headroom must be a finite number of at least 1, got {self.headroom}")
        if not 0.0 <= self.low_percentile < self.high_percentile <= 100.0:
            raise ValueError(
                f"percentiles must satisfy 0 <= low < high <= 100, got {self.low_percentile}, "
                f"{self.high_percentile}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the run configuration stores it)."""
        geometry = None if self.geometry is None else {"pixel_spacing": list(self.geometry.pixel_spacing),
                                                       "orientation": list(self.geometry.orientation)}
        values = {"size": self.size, "low_percentile": self.low_percentile,
                  "high_percentile": self.high_percentile, "geometry": geometry}
        if self.headroom != 1.0:  # only then: a run.json without headroom still loads in older checkouts
            values["headroom"] = self.headroom
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MappingParams:
        values = dict(values)
        geometry = values.pop("geometry", None)
        return cls(**values, geometry=None if geometry is None else SliceGeometry(
            tuple(geometry["pixel_spacing"]), tuple(geometry["orientation"])))


@dataclass(frozen=True)
class SliceImage:
    """A slice's pixels and, when known, where they lie in the patient.

    Without geometry the slice is taken to be in the model's geometry already (its pixel spacing and
    orientation); readers of NIfTI and DICOM always attach it.
    """

    pixels: np.ndarray
    geometry: SliceGeometry | None = None


AnySlice = Union[np.ndarray, SliceImage]


def volume_slices(volume: np.ndarray, slicing: VolumeSlicing,
                  indices: Iterable[int] | None = None) -> list[SliceImage]:
    """The slices of a 3D array as `slicing` cuts it (all, or those at `indices`), each with its geometry."""
    indices = range(volume.shape[slicing.axis]) if indices is None else indices
    return [SliceImage(np.take(volume, int(k), axis=slicing.axis), slicing.geometry) for k in indices]


@dataclass(frozen=True)
class SliceState:
    """What `from_model` needs to put a model output back where the slice came from."""

    shape: tuple[int, int]  # the slice's own matrix
    dtype: np.dtype
    low: float  # intensity mapped to MODEL_LOW
    high: float  # intensity mapped to MODEL_HIGH (the window's high end, raised by the headroom); > low
    ornt: np.ndarray = field(repr=False)  # slice axes -> model axes (nibabel orientation, 2 x 2)
    step: tuple[float, float]  # model pixel size in slice pixels, per model-oriented axis
    tiles: TileLayout  # of the field of view at the model's pixel size, model-oriented

    @property
    def tile_count(self) -> int:
        return self.tiles.count


def intensity_window(values: np.ndarray, params: MappingParams) -> tuple[float, float]:
    """The (low, high) percentile window of the finite values; never empty, so never a division by zero."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [params.low_percentile, params.high_percentile])
    low, high = float(low), float(high)
    if not high > low:  # constant slice: any span works as long as `low` stays exact
        high = low + max(1.0, abs(low) * 1e-3)
    return low, high


def to_model(slice_: AnySlice, params: MappingParams,
             window: tuple[float, float] | None = None) -> tuple[np.ndarray, SliceState]:
    """Map one slice to float32 (tiles, size, size) model input in [-1, 1] and the state to map it back.

    `window` overrides the slice's own percentile window (`enhance` and training pass their volume's);
    by default the slice is windowed on its own, which is what a node receiving one slice at a time does.
    Raises PlaneMismatch for a slice outside the model's plane.
    """
    image = slice_ if isinstance(slice_, SliceImage) else SliceImage(slice_)
    array = np.asarray(image.pixels)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"a slice must be a non-empty 2D array, got shape {array.shape}")
    low, high = window if window is not None else intensity_window(array, params)
    if not high > low:
        raise ValueError(f"intensity window must have high > low, got ({low}, {high})")
    high = low + params.headroom * (high - low)

    ornt, step = _placement(array.shape, image.geometry, params)
    values = np.nan_to_num(array.astype(np.float64), nan=low, posinf=high, neginf=low)
    oriented = reorient(values, ornt)
    fov_shape = _resampled_shape(oriented.shape, step)
    resampled = _resample(oriented, step, fov_shape)
    unit = np.clip((resampled - low) / (high - low), 0.0, 1.0)
    layout = plan_tiles(fov_shape, params.size)
    tiles = cut_tiles(MODEL_LOW + unit * (MODEL_HIGH - MODEL_LOW), layout)
    state = SliceState(shape=array.shape, dtype=array.dtype, low=low, high=high, ornt=ornt, step=step,
                       tiles=layout)
    return tiles.astype(np.float32), state


def from_model(outputs: np.ndarray, state: SliceState, grid: str = "source") -> np.ndarray:
    """Map the model outputs of one slice's tiles, (tiles, size, size) with an optional singleton channel
    axis, back to a slice.

    grid="source" returns the slice's own shape; grid="model" keeps the model's pixel size and returns
    the slice's field of view on that matrix, in the slice's own row/column orientation (`model_grid`).
    """
    if grid not in GRIDS:
        raise ValueError(f"grid must be 'source' or 'model', got {grid!r}")
    size = state.tiles.size
    tiles = np.asarray(outputs, dtype=np.float64)
    if tiles.size != state.tile_count * size * size:
        raise ValueError(f"model output of shape {tiles.shape} does not hold {state.tile_count} square "
                         f"{size}x{size} tile(s)")
    blended = blend_tiles(tiles.reshape(state.tile_count, size, size), state.tiles)
    blended = np.clip(blended, MODEL_LOW, MODEL_HIGH)
    if grid == "source":
        rows, cols = reoriented_pair(state.shape, state.ornt)
        blended = _resample(blended, (1.0 / state.step[0], 1.0 / state.step[1]), (int(rows), int(cols)))
    unit = (restore(blended, state.ornt) - MODEL_LOW) / (MODEL_HIGH - MODEL_LOW)
    return _cast(state.low + unit * (state.high - state.low), state.dtype)


def model_grid(shape: tuple[int, int], geometry: SliceGeometry,
               params: MappingParams) -> tuple[tuple[int, int], tuple[float, float]]:
    """The matrix and pixel spacing (mm, rows then columns) of `from_model(..., grid="model")` for a slice
    of `shape` and `geometry`: its field of view at the model's pixel size, in its own orientation, centred
    on the same point. A derived DICOM instance takes its PixelSpacing and ImagePositionPatient from here."""
    ornt, step = _placement(shape, geometry, params)
    oriented = reoriented_pair(shape, ornt)
    matrix = restored_pair(_resampled_shape(oriented, step), ornt)
    spacing = reoriented_pair(geometry.pixel_spacing, ornt)
    pixel = restored_pair((spacing[0] * step[0], spacing[1] * step[1]), ornt)
    return (int(matrix[0]), int(matrix[1])), pixel


def to_model_batch(slices: Sequence[AnySlice], params: MappingParams,
                   window: tuple[float, float] | None = None) -> tuple[np.ndarray, list[SliceState]]:
    """`to_model` over several slices: every tile of every slice as one float32 (N, size, size) batch."""
    mapped = [to_model(s, params, window) for s in slices]
    empty = np.zeros((0, params.size, params.size), np.float32)
    batch = np.concatenate([m for m, _ in mapped]) if mapped else empty
    return batch, [state for _, state in mapped]


def from_model_batch(outputs: np.ndarray, states: Sequence[SliceState], grid: str = "source") -> list[np.ndarray]:
    """`from_model` over a batch of outputs: each state takes its own tiles, in order."""
    expected = sum(state.tile_count for state in states)
    if len(outputs) != expected:
        raise ValueError(f"{len(outputs)} outputs for {len(states)} slices of {expected} tiles")
    bounds = np.cumsum([0] + [state.tile_count for state in states])
    return [from_model(outputs[start:stop], state, grid)
            for start, stop, state in zip(bounds, bounds[1:], states)]


def _placement(shape: tuple[int, int], geometry: SliceGeometry | None,
               params: MappingParams) -> tuple[np.ndarray, tuple[float, float]]:
    """How the slice's array turns onto the model's axes, and the model pixel size in slice pixels."""
    model = params.geometry
    if model is None:  # contract version 1: the longer side of the field of view fills the grid
        step = max(shape) / params.size
        return IDENTITY_ORIENTATION, (step, step)
    if geometry is None:
        return IDENTITY_ORIENTATION, (1.0, 1.0)
    ornt = orientation_to_model(geometry, model)
    spacing = reoriented_pair(geometry.pixel_spacing, ornt)
    return ornt, (model.pixel_spacing[0] / spacing[0], model.pixel_spacing[1] / spacing[1])


def _resampled_shape(shape: tuple[int, int], step: tuple[float, float]) -> tuple[int, int]:
    return max(1, round(shape[0] / step[0])), max(1, round(shape[1] / step[1]))


def _resample(image: np.ndarray, step: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
    """`image` sampled every `step` pixels on a grid of `shape` centred on the same point (bilinear).

    Centring keeps the field of view's middle fixed, which is what lets a derived DICOM instance say
    exactly where its pixels are. An axis that shrinks is smoothed first (sigma (step - 1) / 2, as
    scikit-image's resize does), so fine detail does not alias into the coarser grid.
    """
    if tuple(image.shape) == tuple(shape) and step == (1.0, 1.0):
        return image
    steps = np.asarray(step, dtype=np.float64)
    sigma = np.maximum(0.0, (steps - 1.0) / 2.0)
    if np.any(sigma > 0):
        image = ndimage.gaussian_filter(image, sigma, mode="nearest")
    offset = (np.asarray(image.shape) - 1) / 2.0 - steps * (np.asarray(shape) - 1) / 2.0
    return ndimage.affine_transform(image, steps, offset=offset, output_shape=tuple(shape), order=1,
                                    mode="nearest")


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        return values.astype(dtype)
    raise ValueError(f"slices of dtype {dtype} are not supported (use an integer or floating dtype)")
