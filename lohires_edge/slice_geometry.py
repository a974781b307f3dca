"""Where a slice's pixels lie in the patient, and how that relates to the geometry a model was trained in.

Patient coordinates are DICOM's LPS (x towards the patient's left, y posterior, z superior); NIfTI affines
(RAS) are converted on the way in, so a NIfTI volume and a DICOM series of the same anatomy describe their
slices the same way. An orientation is given as DICOM's ImageOrientationPatient: the direction of
increasing column index, then the direction of increasing row index.

This module decides three things, once for training, evaluation, `enhance` and the node:
- whether a slice is in the model's plane (its normal within PLANE_TOLERANCE_DEG of the model's);
- how to turn/flip it onto the model's in-plane orientation (nearest 90 degrees and flips, by
  `nibabel.orientations`; an oblique slice within the tolerance is not resampled further);
- which voxel axis of a NIfTI volume to slice along (the one closest to the model's plane normal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from nibabel.orientations import apply_orientation, io_orientation, ornt_transform

from lohires_edge.errors import LohiresError

PLANE_TOLERANCE_DEG = 15.0
PLANE_NORMALS = {"axial": (0.0, 0.0, 1.0), "coronal": (0.0, 1.0, 0.0), "sagittal": (1.0, 0.0, 0.0)}
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
_ORTHOGONALITY_TOLERANCE = 1e-3  # |cos| between the two in-plane directions; DICOM writes ~6 decimals
LEGACY_SLICE_AXIS = 2  # models without geometry were trained on data[:, :, k], whatever the affine said
IDENTITY_ORIENTATION = np.array([[0.0, 1.0], [1.0, 1.0]])  # nibabel orientation: nothing turned or flipped


class GeometryError(LohiresError):
    """A slice or volume whose geometry (spacing, orientation) is missing or malformed."""


class PlaneMismatch(LohiresError):
    """A slice that is not in the plane the model was trained in; that model must not enhance it."""


@dataclass(frozen=True)
class SliceGeometry:
    """The physical layout of a 2D slice: pixel spacing and in-plane orientation (DICOM conventions, LPS)."""

    pixel_spacing: tuple[float, float]  # mm between rows, between columns (DICOM PixelSpacing order)
    orientation: tuple[float, float, float, float, float, float]  # ImageOrientationPatient, unit vectors

    def __post_init__(self) -> None:
        spacing = tuple(float(v) for v in self.pixel_spacing)
        values = np.asarray([float(v) for v in self.orientation], dtype=np.float64)
        if len(spacing) != 2 or not all(math.isfinite(v) and v > 0 for v in spacing):
            raise GeometryError(f"pixel spacing must be two positive millimetre values, got "
                                f"{self.pixel_spacing}")
        if values.shape != (6,) or not np.all(np.isfinite(values)):
            raise GeometryError(f"orientation must be six direction cosines, got {self.orientation}")
        along_row, along_col = values[:3], values[3:]
        norms = np.linalg.norm(along_row), np.linalg.norm(along_col)
        cosine = abs(np.dot(along_row, along_col)) / max(norms[0] * norms[1], 1e-12)
        if min(norms) < 1e-6 or cosine > _ORTHOGONALITY_TOLERANCE:
            raise GeometryError(f"orientation {tuple(values)} is not two orthogonal directions")
        unit = np.concatenate([along_row / norms[0], along_col / norms[1]])
        object.__setattr__(self, "pixel_spacing", spacing)
        object.__setattr__(self, "orientation", tuple(float(v) for v in unit))

    @property
    def column_direction(self) -> np.ndarray:
        """Patient direction (LPS) of increasing column index."""
        return np.asarray(self.orientation[:3])

    @property
    def row_direction(self) -> np.ndarray:
        """Patient direction (LPS) of increasing row index."""
        return np.asarray(self.orientation[3:])

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.column_direction, self.row_direction)

    @property
    def plane(self) -> str | None:
        """"axial", "coronal" or "sagittal" when the normal is within the tolerance of one, else None."""
        for name, normal in PLANE_NORMALS.items():
            if normal_angle(self.normal, np.asarray(normal)) <= PLANE_TOLERANCE_DEG:
                return name
        return None


def normal_angle(first: np.ndarray, second: np.ndarray) -> float:
    """Angle in degrees between two plane normals, whichever way each points (0..90)."""
    cosine = abs(float(np.dot(first, second))) / float(np.linalg.norm(first) * np.linalg.norm(second))
    return math.degrees(math.acos(min(1.0, cosine)))


def check_plane(geometry: SliceGeometry, model: SliceGeometry) -> None:
    """Raise PlaneMismatch, saying by how much, when the slice is not in the model's plane."""
    angle = normal_angle(geometry.normal, model.normal)
    if angle > PLANE_TOLERANCE_DEG:
        seen = geometry.plane or "oblique"
        plane = model.plane or "oblique"
        raise PlaneMismatch(f"the slice is {seen}, {angle:.0f} degrees from the model's {plane} plane "
                            f"(tolerance {PLANE_TOLERANCE_DEG:.0f}); this model enhances {plane} slices only")


def orientation_to_model(geometry: SliceGeometry, model: SliceGeometry) -> np.ndarray:
    """The nibabel orientation (2 x 2: target axis, flip) that turns the slice's array onto the model's axes.

    The slice's axes (rows, columns, normal) are expressed in the model's frame (its row direction, column
    direction, normal); `io_orientation` then finds the nearest axis permutation and flips.
    """
    check_plane(geometry, model)
    model_frame = np.column_stack([model.row_direction, model.column_direction, model.normal])
    slice_axes = np.column_stack([geometry.row_direction, geometry.column_direction, geometry.normal])
    affine = np.eye(4)
    affine[:3, :3] = model_frame.T @ slice_axes
    ornt = io_orientation(affine)
    if sorted(ornt[:2, 0]) != [0, 1]:  # within the plane tolerance the normal always maps onto the normal
        raise PlaneMismatch("the slice's in-plane axes do not match the model's plane")
    return ornt[:2]


def reorient(pixels: np.ndarray, ornt: np.ndarray) -> np.ndarray:
    """`pixels` turned/flipped by a 2 x 2 orientation from `orientation_to_model`."""
    return apply_orientation(pixels, ornt)


def restore(pixels: np.ndarray, ornt: np.ndarray) -> np.ndarray:
    """Undo `reorient`: model-oriented pixels back in the slice's own row/column order."""
    return apply_orientation(pixels, ornt_transform(IDENTITY_ORIENTATION, ornt))


def reoriented_pair(values: Sequence[float], ornt: np.ndarray) -> tuple[float, float]:
    """A per-axis pair (such as pixel spacing or matrix size) in the order of the reoriented array."""
    result = [0.0, 0.0]
    for axis, (target, _) in enumerate(ornt):
        result[int(target)] = float(values[axis])
    return result[0], result[1]


def restored_pair(values: Sequence[float], ornt: np.ndarray) -> tuple[float, float]:
    """Inverse of `reoriented_pair`: a model-ordered pair in the slice's own row/column order."""
    return float(values[int(ornt[0, 0])]), float(values[int(ornt[1, 0])])


@dataclass(frozen=True)
class VolumeSlicing:
    """How a 3D voxel array is cut into slices: along `axis`, each slice with `geometry`."""

    axis: int
    geometry: SliceGeometry


def volume_slicing(affine: np.ndarray, model: SliceGeometry | None) -> VolumeSlicing:
    """Slice along the voxel axis closest to the model's plane normal; refuse if none is within tolerance.

    For a model without geometry (contract version 1) the volume is sliced along its third axis, as those
    models were trained; the slices still carry their geometry from the affine.
    """
    if model is None:
        return _slicing(affine, LEGACY_SLICE_AXIS)
    directions = _axis_directions(affine)
    angles = [normal_angle(directions[:, axis], model.normal) for axis in range(3)]
    axis = int(np.argmin(angles))
    if angles[axis] > PLANE_TOLERANCE_DEG:
        raise PlaneMismatch(f"no voxel axis of the volume is within {PLANE_TOLERANCE_DEG:.0f} degrees of the "
                            f"model's {model.plane or 'oblique'} plane normal (closest: axis {axis}, "
                            f"{angles[axis]:.0f} degrees); resample the volume to that plane first")
    return _slicing(affine, axis)


def plane_geometry(affine: np.ndarray, plane: str) -> SliceGeometry:
    """The geometry of a volume's slices in a named plane (what `fit` records as the model's geometry)."""
    reference = SliceGeometry((1.0, 1.0), _plane_orientation(plane))
    return volume_slicing(affine, reference).geometry


def _plane_orientation(plane: str) -> tuple[float, float, float, float, float, float]:
    if plane not in PLANE_NORMALS:
        raise GeometryError(f"unknown plane {plane!r}; expected one of {', '.join(PLANE_NORMALS)}")
    normal = np.asarray(PLANE_NORMALS[plane])
    first = np.roll(normal, 1)  # any direction orthogonal to the normal
    second = np.cross(normal, first)
    return tuple(float(v) for v in (*first, *second))  # type: ignore[return-value]


def _axis_directions(affine: np.ndarray) -> np.ndarray:
    """3 x 3: column i is the LPS vector (mm) of one step along voxel axis i."""
    matrix = RAS_TO_LPS @ np.asarray(affine, dtype=np.float64)[:3, :3]
    if not np.all(np.isfinite(matrix)) or np.any(np.linalg.norm(matrix, axis=0) == 0):
        raise GeometryError("the NIfTI affine is degenerate (a voxel axis of zero length); fix the header")
    return matrix


def _slicing(affine: np.ndarray, axis: int) -> VolumeSlicing:
    directions = _axis_directions(affine)
    rows, cols = (a for a in range(3) if a != axis)
    spacing = (float(np.linalg.norm(directions[:, rows])), float(np.linalg.norm(directions[:, cols])))
    along_col, along_row = directions[:, cols] / spacing[1], directions[:, rows] / spacing[0]
    orientation = tuple(float(v) for v in (*along_col, *along_row))
    return VolumeSlicing(axis, SliceGeometry(spacing, orientation))  # type: ignore[arg-type]
