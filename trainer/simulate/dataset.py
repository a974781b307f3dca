"""`simulate_dataset`: paired 64 mT / 3 T subjects in the layout the trainer reads, plus scanner series.

OUT/Low_field/POCEMR001_T1.nii.gz  the 64 mT acquisition resampled onto the 3 T grid
OUT/High_field/POCEMR001_T1.nii.gz the 3 T reference through the 64 mT acquisition's slices, on the 3 T grid
                                   (reference="monotone" or "monotone-brain": its contrast on the 64 mT
                                   noise-free anatomy)
OUT/Labels/POCEMR001_labels.nii.gz the dominant tissue per 3 T voxel (only with labels=True)
OUT/Noise_free/POCEMR001_T1.nii.gz the 64 mT acquisition's noise-free signal at the 3 T in-plane resolution,
                                   on the 3 T grid (only with noise_free=True)
DICOM_DIR/POCEMR001_T1/0001.dcm ... the native 64 mT acquisition, one instance per slice

Randomness is drawn per subject (and per subject and sequence) from the seed, so subject 3 of a 10-subject
run is the same as subject 3 of a 5-subject run, and a sequence subset gives the same volumes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from lohires_edge.contract import SEQUENCES
from lohires_edge.dataset_layout import HIGH_FIELD_DIR, LOW_FIELD_DIR, SUBJECT_PREFIX, subject_id, volume_name
from lohires_edge.errors import LohiresError
from trainer.simulate import acquisition, dicom_series, nifti, registration
from trainer.simulate.anatomy import draw_anatomy, tissue_fractions
from trainer.simulate.geometry import SIZES, Geometry
from trainer.simulate.monotone_reference import brain_weights, monotone_recontrast
from trainer.simulate.protocols import HIGH_FIELD_T, LOW_FIELD_T, protocol
from trainer.simulate.randomization import LowFieldDraw, draw_low_field
from trainer.simulate.tissues import TISSUES, Tissue

LABELS_DIR = "Labels"
NOISE_FREE_DIR = "Noise_free"
# What OUT/High_field holds: the 3 T reference through the 64 mT slices, or its contrast mapped monotonically
# onto the 64 mT noise-free signal, where the input's anatomy lies, by a map fitted over the whole head or
# over the brain alone (monotone_reference.py), or that noise-free signal itself (a target that keeps the
# input's contrast: the model only denoises and sharpens).
MONOTONE_REFERENCES = ("monotone", "monotone-brain")
NOISE_FREE_REFERENCE = "noise-free"
REFERENCES = ("3t", *MONOTONE_REFERENCES, NOISE_FREE_REFERENCE)
# Stored value of a white-matter voxel; everything else scales with it (CSF on T2 is ~3-4x).
WHITE_MATTER_VALUE = 1000.0
_SEQUENCE_STREAM = {"T1": 1, "T2": 2, "FLAIR": 3}  # fixed per name, so sequence subsets reproduce


@dataclass(frozen=True)
class SimulatedSeries:
    """What was written for one subject and sequence."""

    subject: str
    sequence: str
    low_field: Path
    high_field: Path
    dicom_dir: Path | None
    acquisition: LowFieldDraw  # the randomized 64 mT scanner and protocol of this pair


def simulate_dataset(out: Path, subjects: int, sequences: Sequence[str] = SEQUENCES, seed: int = 0,
                     dicom_dir: Path | None = None, progress: Callable[[int], None] | None = None,
                     size: str | Geometry = "full", lesions: bool = True, labels: bool = False,
                     noise_free: bool = False, reference: str = "3t", workers: int = 2
                     ) -> list[SimulatedSeries]:
    """Simulate `subjects` subjects (POCEMR001...) for `sequences`; one record per subject and sequence.

    size: "full" (3 T grid 1 mm isotropic, 220 x 220 x 180; each 64 mT acquisition draws its own resolution,
    1.2-2.2 mm in-plane and 3-6 mm slices, and its 3 T reference is imaged through the same slices) or
    "small" (64 x 64 x 52 voxels of 3.4 mm, about a second per subject, for tests), or a `Geometry`.
    progress, when given, is called with 1 per subject and sequence written, in the calling thread, as
    each subject completes (subjects * len(sequences) calls in all). lesions=False makes every subject
    lesion-free. labels=True also writes OUT/Labels/<subject>_labels.nii.gz: the dominant tissue of each
    3 T voxel (0 air, else 1 + its index in `tissues.TISSUES`: 1 WM, 2 GM, 3 CSF, 4 fat, 5 lesion, 6 bone,
    7 muscle).
    noise_free=True also writes OUT/Noise_free/<subject>_<sequence>.nii.gz: the 64 mT pair's signal before
    k-space truncation, ghosts and noise (`acquisition.low_field_signal`, white matter 1000 where unshaded),
    registered as the 64 mT volume is (its residual misregistration included): the best any enhancement of
    the 64 mT image could recover without changing its contrast. The other files do not depend on it.
    reference="monotone" writes, as OUT/High_field, the 3 T reference's contrast mapped onto that
    noise-free signal by the best non-decreasing map (`monotone_reference`): a target with 3 T contrast and
    no structure, noise or misregistration the input does not have. reference="monotone-brain" fits that map
    on the brain alone (`monotone_reference.brain_weights`), so the scalp cannot pull the brain's contrast.
    reference="noise-free" writes that noise-free signal itself (what noise_free=True writes to
    OUT/Noise_free): a target with the input's own contrast. The other files do not depend on `reference`.
    workers: subjects simulated at once in threads (numpy, FFT and zlib release the GIL); the files do
    not depend on it.
    """
    geometry = _geometry(size)
    sequences = parse_sequences(sequences)
    if reference not in REFERENCES:
        raise LohiresError(f"unknown reference {reference!r}; use one of {', '.join(REFERENCES)}")
    if subjects < 1 or subjects > 999:
        raise LohiresError(f"--subjects must be between 1 and 999 (subject ids are {SUBJECT_PREFIX}001-999), "
                           f"got {subjects}")
    out = Path(out)
    create_output_folders(out, dicom_dir, labels, noise_free)

    def one_subject(number: int) -> list[SimulatedSeries]:
        subject = subject_id(number)
        anatomy = draw_anatomy(np.random.default_rng([seed, number, 0]), lesions=lesions)
        fractions = tissue_fractions(anatomy, geometry)
        if labels:
            nifti.write_volume(out / LABELS_DIR / f"{subject}_labels.nii.gz", tissue_labels(fractions),
                               geometry.high_affine(), "lohires-edge sim tissue labels")
        return [_simulate_series(out, subject, sequence, fractions, geometry,
                                 np.random.default_rng([seed, number, _SEQUENCE_STREAM[sequence]]),
                                 dicom_dir, seed, noise_free, reference)
                for sequence in sequences]

    written: list[SimulatedSeries] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # Submit ahead by at most `workers` subjects: each holds its fraction maps in memory.
        pending = [pool.submit(one_subject, n) for n in range(1, min(subjects, max(1, workers)) + 1)]
        next_number = len(pending) + 1
        while pending:
            records = pending.pop(0).result()
            if next_number <= subjects:
                pending.append(pool.submit(one_subject, next_number))
                next_number += 1
            written.extend(records)
            if progress is not None:
                for _ in records:
                    progress(1)
    return written


def create_output_folders(out: Path, dicom_dir: Path | None = None, labels: bool = False,
                          noise_free: bool = False) -> None:
    """Create the output folders up front, so an unwritable destination fails before any work is done."""
    folders = ([out / LOW_FIELD_DIR, out / HIGH_FIELD_DIR] + ([out / LABELS_DIR] if labels else [])
               + ([out / NOISE_FREE_DIR] if noise_free else []))
    for folder in folders + ([Path(dicom_dir)] if dicom_dir is not None else []):
        folder.mkdir(parents=True, exist_ok=True)


def tissue_label(tissue: Tissue) -> int:
    """The value `tissue_labels` gives the voxels where `tissue` dominates."""
    return 1 + TISSUES.index(tissue)


def tissue_labels(fractions: np.ndarray) -> np.ndarray:
    """The dominant tissue per voxel: 0 where the head is absent, else `tissue_label` of that tissue."""
    labels = np.argmax(fractions, axis=0).astype(np.int16) + 1
    labels[fractions.sum(axis=0) < 0.5] = 0
    return labels


def _simulate_series(out: Path, subject: str, sequence: str, fractions: np.ndarray, geometry: Geometry,
                     rng: np.random.Generator, dicom_dir: Path | None, seed: int, noise_free: bool,
                     reference: str) -> SimulatedSeries:
    low_protocol, high_protocol = protocol(sequence, LOW_FIELD_T), protocol(sequence, HIGH_FIELD_T)
    name = volume_name(subject, sequence)

    draw = draw_low_field(low_protocol, rng)
    grid = acquisition.low_field_grid(geometry, draw)
    reference_grid = acquisition.reference_grid(geometry, grid)
    high_native = acquisition.high_field_image(fractions, high_protocol, geometry, grid, rng)
    signal = acquisition.low_field_signal(fractions, draw, geometry, rng)
    native = _stored(acquisition.acquire(signal, draw, geometry, rng), np.uint16)
    misregistration = registration.residual_misregistration(geometry, draw.misregistration_deg,
                                                            draw.misregistration_voxels, rng)

    noise_free_description = f"lohires-edge sim 64mT {sequence} noise-free"
    # where the 64 mT volume's anatomy lies, residual misregistration included; resampled once, if written
    noise_free_high = (registration.to_high_grid(signal, reference_grid, geometry, misregistration)
                       if noise_free or reference == NOISE_FREE_REFERENCE else None)
    if reference in MONOTONE_REFERENCES:  # fitted where both are aligned, then placed where the input's anatomy lies
        weights = (brain_weights(fractions, lambda f: acquisition.thick_slices(f, geometry, reference_grid))
                   if reference == "monotone-brain" else None)
        high = registration.to_high_grid(monotone_recontrast(signal, high_native, weights).astype(np.float32),
                                         reference_grid, geometry, misregistration)
        description = f"lohires-edge sim 3T {sequence} {reference}"
    elif reference == NOISE_FREE_REFERENCE:
        high, description = noise_free_high, noise_free_description
    else:
        high = registration.to_high_grid(high_native, reference_grid, geometry, registration.NO_MISREGISTRATION)
        description = f"lohires-edge sim 3T {sequence}"
    high_path = out / HIGH_FIELD_DIR / name
    nifti.write_volume(high_path, _stored(high, np.int16), geometry.high_affine(), description)
    if noise_free:
        nifti.write_volume(out / NOISE_FREE_DIR / name, _stored(noise_free_high, np.int16), geometry.high_affine(),
                           noise_free_description)
    low = registration.to_high_grid(native.astype(np.float32), grid, geometry, misregistration)
    low_path = out / LOW_FIELD_DIR / name
    nifti.write_volume(low_path, _stored(low, np.int16, scale=1.0), geometry.high_affine(),
                       f"lohires-edge sim 64mT {sequence} on 3T grid")

    series_dir = None
    if dicom_dir is not None:
        series_dir = Path(dicom_dir) / f"{subject}_{sequence}"
        dicom_series.write_series(series_dir, native, grid.affine(), draw.protocol, subject, seed)
    return SimulatedSeries(subject, sequence, low_path, high_path, series_dir, draw)


def _stored(image: np.ndarray, dtype: type, scale: float = WHITE_MATTER_VALUE) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.rint(image * np.float32(scale)), 0, info.max).astype(dtype)


def _geometry(size: str | Geometry) -> Geometry:
    if isinstance(size, Geometry):
        return size
    try:
        return SIZES[size]
    except KeyError:
        raise LohiresError(f"unknown simulation size {size!r}; use one of {', '.join(SIZES)}") from None


def parse_sequences(sequences: Sequence[str] | str) -> tuple[str, ...]:
    """Sequence names from a list or a comma-separated string, upper-cased, duplicates dropped."""
    names = [s.strip().upper() for s in (sequences.split(",") if isinstance(sequences, str) else sequences)]
    names = [n for n in names if n]
    unknown = [n for n in names if n not in SEQUENCES]
    if unknown or not names:
        raise LohiresError(f"unknown sequence(s) {', '.join(unknown) or '(none given)'}; "
                           f"choose from {','.join(SEQUENCES)}")
    return tuple(dict.fromkeys(names))
