"""Where an MR instance's pixels lie in the patient: its ImageOrientationPatient and PixelSpacing.

Both attributes are Type 1 in the MR Image module, and the slice mapping cannot place a slice without
them, so an instance that lacks them, or holds malformed values, is refused with the attribute named.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from lohires_edge.dicom.decode import read_mr_slice
from lohires_edge.slice_geometry import GeometryError, SliceGeometry
from lohires_edge.slice_mapping import SliceImage


def read_slice_geometry(ds: Dataset) -> SliceGeometry:
    """The pixel spacing (rows, columns) and orientation (LPS) of a single-frame MR instance."""
    missing = [k for k in ("PixelSpacing", "ImageOrientationPatient") if k not in ds]
    if missing:
        raise GeometryError(f"the MR instance has no {' or '.join(missing)}, so its pixel size and "
                            "orientation are unknown; send the series with its geometry")
    try:
        spacing = tuple(float(v) for v in _values(ds.PixelSpacing))
        orientation = tuple(float(v) for v in _values(ds.ImageOrientationPatient))
    except (TypeError, ValueError) as exc:
        raise GeometryError(f"malformed PixelSpacing/ImageOrientationPatient ({exc})") from None
    if len(spacing) != 2 or len(orientation) != 6:
        raise GeometryError(f"PixelSpacing needs 2 values and ImageOrientationPatient 6, got {len(spacing)} "
                            f"and {len(orientation)}")
    return SliceGeometry(spacing, orientation)  # type: ignore[arg-type]


def read_placed_slice(ds: Dataset) -> SliceImage:
    """The stored pixels of an MR instance (`read_mr_slice`) with the geometry that places them."""
    return SliceImage(read_mr_slice(ds), read_slice_geometry(ds))


def _values(value: object) -> list:
    return [value] if isinstance(value, (str, float, int)) else list(value)
