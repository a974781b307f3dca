"""What each training target holds: grey/white and lesion contrast of `simulate --reference` 3t, monotone
and monotone-brain, beside the 64 mT input and its noise-free truth, on labelled simulated subjects.

A model learns its target; a target that fades a lesion or pulls grey and white matter together teaches
that. This scores the targets themselves, before any training: (white - grey) / white and
(lesion - white) / white of each volume over the simulated tissue labels (image_quality.lesion_contrast),
per subject. About 8 minutes with the defaults (twelve subjects, three sequences, three simulations each).

    python -m benchmarks.reference_contrast [--sequences T1,T2,FLAIR] [--subjects 12] [--seed 11]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import nibabel as nib
import numpy as np

from benchmarks.inputs import tissue_labels
from benchmarks.quality import MIN_LESION_VOXELS, labelled_data
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record
from lohires_edge.dataset_layout import HIGH_FIELD_DIR, LOW_FIELD_DIR, volume_name
from lohires_edge.image_quality import lesion_contrast, relative_contrast
from trainer.simulate.dataset import MONOTONE_REFERENCES, NOISE_FREE_DIR, parse_sequences, tissue_label
from trainer.simulate.tissues import GREY_MATTER, LESION, WHITE_MATTER

INPUT, TRUTH = "64 mT input", "noise-free truth"
TARGETS = ("3t", *MONOTONE_REFERENCES)  # the noise-free reference is TRUTH, read from Noise_free
IMAGES = (INPUT, TRUTH, *TARGETS)


def contrasts(image: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """(white - grey) / white and, with MIN_LESION_VOXELS of lesion, (lesion - white) / white (else NaN)."""
    white, grey, lesion = (labels == tissue_label(t) for t in (WHITE_MATTER, GREY_MATTER, LESION))
    return {"grey_white": -relative_contrast(image, grey, white),
            "lesion": (lesion_contrast(image, lesion, white) if lesion.sum() >= MIN_LESION_VOXELS
                       else float("nan"))}


def subject_rows(folders: dict[str, Path], subject: str, sequence: str) -> dict[str, dict[str, float]]:
    """Every image's contrasts for one subject and sequence (the 3t folder's input and labels)."""
    def load(path: Path) -> np.ndarray:
        return np.asarray(nib.load(str(path)).dataobj, dtype=np.float64)

    name = volume_name(subject, sequence)
    base = folders["3t"]
    labels = tissue_labels(base, subject)
    images = {INPUT: load(base / LOW_FIELD_DIR / name), TRUTH: load(base / NOISE_FREE_DIR / name),
              **{reference: load(folder / HIGH_FIELD_DIR / name) for reference, folder in folders.items()}}
    return {image: contrasts(volume, labels) for image, volume in images.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", default="T1,T2,FLAIR", help="comma-separated [%(default)s]")
    parser.add_argument("--subjects", type=int, default=12, help="subjects per sequence [%(default)s]")
    parser.add_argument("--seed", type=int, default=11, help="simulator seed, one used in no training "
                        "[%(default)s]")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sequences = parse_sequences(args.sequences)
    folders = {reference: labelled_data(args.work / f"reference-contrast-seed{args.seed}-{reference}",
                                        args.subjects, sequences, seed=args.seed, noise_free=True,
                                        reference=reference)
               for reference in TARGETS}
    subjects = [f"POCEMR{n:03d}" for n in range(1, args.subjects + 1)]
    record = {sequence: {subject: subject_rows(folders, subject, sequence) for subject in subjects}
              for sequence in sequences}
    for sequence, per_subject in record.items():
        rows = [[subject] + [f"{scores[image]['grey_white']:+.3f} / {scores[image]['lesion']:+.2f}"
                             for image in IMAGES] for subject, scores in per_subject.items()]
        print(f"\n{sequence}: (white - grey) / white / (lesion - white) / white (nan: no lesion)\n")
        print(markdown_table(["subject", *IMAGES], rows))
    path = write_record("reference_contrast", {"seed": args.seed, "sequences": record}, args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "reference_contrast")
