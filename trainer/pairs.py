"""Paired 64 mT / 3 T volumes in the seed's layout: DATA/Low_field and DATA/High_field, POCEMR*_{SEQ}.nii.gz.

Subjects are paired by the file name's subject ID (the part before `_{SEQ}`); an unpaired subject or a pair on
different voxel grids stops everything with one message that lists them all, because silently dropping or
resampling them would train on something other than what the user gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from lohires_edge.dataset_layout import HIGH_FIELD_DIR, LOW_FIELD_DIR, SUBJECT_PREFIX, volume_name
from lohires_edge.errors import LohiresError

AFFINE_TOLERANCE_MM = 1e-3


class DataError(LohiresError):
    """Training or evaluation data that cannot be used as given."""


@dataclass(frozen=True)
class Pair:
    subject: str
    low: Path
    high: Path


def find_pairs(data: Path, sequence: str) -> list[Pair]:
    """Every subject of `sequence` in DATA, sorted by subject ID; refuses unpaired subjects."""
    data = Path(data)
    pattern = re.compile(rf"^({SUBJECT_PREFIX}.*){re.escape(volume_name('', sequence))}$")
    files = volume_name(f"{SUBJECT_PREFIX}*", sequence)
    found: dict[str, dict[str, Path]] = {}
    for folder in (LOW_FIELD_DIR, HIGH_FIELD_DIR):
        if not (data / folder).is_dir():
            raise DataError(f"{data} has no {folder}/ folder; expected {data}/{LOW_FIELD_DIR} and "
                            f"{data}/{HIGH_FIELD_DIR} holding {files} files")
        for path in sorted((data / folder).iterdir()):
            match = pattern.match(path.name)
            if match:
                found.setdefault(folder, {})[match.group(1)] = path
    low, high = found.get(LOW_FIELD_DIR, {}), found.get(HIGH_FIELD_DIR, {})
    unpaired = sorted((set(low) ^ set(high)))
    if unpaired:
        where = [f"{s} (only in {LOW_FIELD_DIR if s in low else HIGH_FIELD_DIR})" for s in unpaired]
        raise DataError(f"unpaired {sequence} subjects in {data}: {', '.join(where)}; "
                        "add the missing file or remove the subject")
    if not low:
        raise DataError(f"no {files} pairs in {data}/{LOW_FIELD_DIR} and {data}/{HIGH_FIELD_DIR}")
    return [Pair(subject, low[subject], high[subject]) for subject in sorted(low)]


def load_volume(path: Path) -> nib.Nifti1Image:
    """A NIfTI image, or a DataError naming the file."""
    try:
        return nib.load(str(path))
    except Exception as exc:  # nibabel raises several types for an unreadable or truncated file
        raise DataError(f"cannot read {path}: {exc}; replace the file") from None


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray, nib.Nifti1Image]:
    """(low-field volume, high-field volume, high-field image for its header); grids already checked."""
    low_img, high_img = load_volume(pair.low), load_volume(pair.high)
    problem = grid_mismatch(low_img, high_img)
    if problem:
        raise DataError(f"{pair.subject}: {problem}; resample the pair onto one grid")
    return _voxels(low_img, pair.low), _voxels(high_img, pair.high), high_img


def check_grids(pairs: list[Pair]) -> None:
    """Refuse, listing every subject whose two volumes are on different voxel grids (headers only)."""
    problems = []
    for pair in pairs:
        problem = grid_mismatch(load_volume(pair.low), load_volume(pair.high))
        if problem:
            problems.append(f"{pair.subject} ({problem})")
    if problems:
        raise DataError(f"mismatched grids: {'; '.join(problems)}; resample each pair onto one grid")


def grid_mismatch(low: nib.Nifti1Image, high: nib.Nifti1Image) -> str:
    """Why two images are not on one voxel grid, or '' when they are."""
    if low.shape != high.shape:
        return f"shape {low.shape} vs {high.shape}"
    if len(low.shape) != 3:
        return f"volumes must be 3D, got shape {low.shape}"
    if not np.allclose(low.affine, high.affine, atol=AFFINE_TOLERANCE_MM):
        return "affines differ"
    return ""


def split_subjects(pairs: list[Pair], validation_fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(training, validation) by subject, never by slice (slices of one head are near copies: that leaks)."""
    if len(pairs) < 2:
        raise DataError(f"{len(pairs)} subject found; training needs at least 2 (one for validation)")
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_val = min(len(pairs) - 1, max(1, round(validation_fraction * len(pairs))))
    val = sorted(order[:n_val])
    train = sorted(order[n_val:])
    return [pairs[i] for i in train], [pairs[i] for i in val]


def _voxels(image: nib.Nifti1Image, path: Path) -> np.ndarray:
    try:
        return np.asarray(image.dataobj, dtype=np.float32)
    except Exception as exc:
        raise DataError(f"cannot read the voxels of {path}: {exc}; replace the file") from None
