"""Overlay planes (60xx) of a derived instance, redrawn on its matrix so a mark stays where it was.

An overlay is a bitmap on the image's pixel grid; OverlayOrigin is the 1-based row\\column of its first
bit. The derived image covers the source's field of view on another matrix, so each plane is redrawn on
that matrix: a derived pixel is marked when a marked source pixel lies inside it (a thin outline survives
shrinking) or when its centre falls on a marked source pixel (no gaps when enlarging). The redrawn plane
covers the whole image (origin 1\\1, Rows x Columns); marks outside the image area are not kept.

Planes that cannot be redrawn are removed, each with an `event=overlay_dropped` line: multi-frame overlays
and overlays embedded in the source's pixel data (which the derived pixels replace). The ROI statistics
(ROIArea, ROIMean, ROIStandardDeviation) describe the source pixels, so they are removed too.
"""

from __future__ import annotations

import logging

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits

log = logging.getLogger(__name__)

OVERLAY_GROUPS = range(0x6000, 0x6020, 2)  # PS3.5 7.6: the repeating groups 6000-601E, even only
_ROWS, _COLUMNS, _FRAMES, _ORIGIN, _BITS_ALLOCATED, _BIT_POSITION, _DATA = (
    0x0010, 0x0011, 0x0015, 0x0050, 0x0100, 0x0102, 0x3000)
_ROI_STATISTICS = (0x1301, 0x1302, 0x1303)


def regrid_overlays(source: Dataset, derived: Dataset) -> None:
    """Redraw every overlay plane of `source` on `derived`'s Rows x Columns (same field of view)."""
    shape = (int(derived.Rows), int(derived.Columns))
    for group in OVERLAY_GROUPS:
        if (group << 16 | _ROWS) not in source:
            continue
        problem = _unsupported(source, group)
        if problem is None:
            try:
                mask = _on_image_grid(source, group)
            except Exception as exc:  # noqa: BLE001 - pydicom raises many types for malformed overlay data
                problem = f"overlay data does not decode ({type(exc).__name__})"
        if problem is not None:
            _remove_group(derived, group)
            log.warning("event=overlay_dropped group=0x%04X reason=%r", group, problem)
            continue
        _write_plane(derived, group, _resampled(mask, shape))


def _unsupported(source: Dataset, group: int) -> str | None:
    frames = source.get((group, _FRAMES))
    if frames is not None and frames.value not in (None, "") and int(frames.value) != 1:
        return "multi-frame overlays are not supported"
    if (group, _DATA) not in source:
        return "the overlay is embedded in the source pixel data, which the derived pixels replace"
    return None


def _on_image_grid(source: Dataset, group: int) -> np.ndarray:
    """The plane as a boolean mask over the source image (Rows x Columns), placed at its origin."""
    bits = source.overlay_array(group).astype(bool)
    origin = source.get((group, _ORIGIN))
    top, left = ([int(v) - 1 for v in origin.value] if origin is not None else [0, 0])
    image = np.zeros((int(source.Rows), int(source.Columns)), bool)
    rows = slice(max(top, 0), max(min(top + bits.shape[0], image.shape[0]), 0))
    cols = slice(max(left, 0), max(min(left + bits.shape[1], image.shape[1]), 0))
    image[rows, cols] = bits[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
    return image


def _resampled(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`mask` on a `shape` matrix over the same area: forward (marks kept) or backward (no gaps) mapping."""
    if mask.shape == shape:
        return mask
    out = np.zeros(shape, bool)
    marked_rows, marked_cols = np.nonzero(mask)
    out[_cell(marked_rows, mask.shape[0], shape[0]), _cell(marked_cols, mask.shape[1], shape[1])] = True
    centre_rows = _cell(np.arange(shape[0]), shape[0], mask.shape[0])
    centre_cols = _cell(np.arange(shape[1]), shape[1], mask.shape[1])
    return out | mask[np.ix_(centre_rows, centre_cols)]


def _cell(index: np.ndarray, size: int, new_size: int) -> np.ndarray:
    """The pixel of an axis of `new_size` pixels that holds the centre of pixel `index` of `size`."""
    return np.minimum(((index + 0.5) * new_size / size).astype(int), new_size - 1)


def _write_plane(derived: Dataset, group: int, mask: np.ndarray) -> None:
    for element in _ROI_STATISTICS:
        if (group, element) in derived:
            del derived[(group, element)]
    derived.add_new((group, _ROWS), "US", mask.shape[0])
    derived.add_new((group, _COLUMNS), "US", mask.shape[1])
    derived.add_new((group, _ORIGIN), "SS", [1, 1])
    derived.add_new((group, _BITS_ALLOCATED), "US", 1)
    derived.add_new((group, _BIT_POSITION), "US", 0)
    derived.add_new((group, _DATA), "OW", pack_bits(mask.astype(np.uint8)))


def _remove_group(derived: Dataset, group: int) -> None:
    for tag in [tag for tag in derived.keys() if tag.group == group]:
        del derived[tag]
