"""docs/simulator.md's figures: six simulated subjects side by side, and tissue contrast per sequence.

    .venv/bin/python -m benchmarks.simulator_figures [--work DIR] [--subjects 6]

Simulates `--subjects` full-size subjects (seed 3, labels) under --work, then writes
docs/images/simulator-subjects.png (64 mT and 3 T T1, FLAIR for each subject, one axial slice through the
ventricles and one coronal) and prints, per sequence and field, the grey/white and CSF/white ratios of
median intensities over the labelled tissue (eroded by one voxel, so partial volume does not decide it),
with the time the simulation took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.ndimage import binary_erosion

from lohires_edge.contract import SEQUENCES
from lohires_edge.dataset_layout import HIGH_FIELD_DIR, LOW_FIELD_DIR, subject_id, volume_name
from trainer.simulate import LABELS_DIR, simulate_dataset

from benchmarks.report import markdown_table

FIGURE = Path(__file__).resolve().parent.parent / "docs" / "images" / "simulator-subjects.png"
SEED = 3
WM, GM, CSF = 1, 2, 3
FIELD_NAMES = {LOW_FIELD_DIR: "64 mT", HIGH_FIELD_DIR: "3 T"}


def tissue_ratios(image: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(GM / WM, CSF / WM) of median intensities in the eroded tissue masks."""
    median = {t: float(np.median(image[binary_erosion(labels == t)])) for t in (WM, GM, CSF)}
    return median[GM] / median[WM], median[CSF] / median[WM]


def draw(data: Path, subjects: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(field, sequence) for sequence in ("T1", "FLAIR") for field in (LOW_FIELD_DIR, HIGH_FIELD_DIR)]
    figure, axes = plt.subplots(len(rows) * 2, subjects, figsize=(2.2 * subjects, 2.2 * len(rows) * 2))
    for column in range(subjects):
        subject = subject_id(column + 1)
        for row, (field, sequence) in enumerate(rows):
            volume = np.asarray(nib.load(data / field / volume_name(subject, sequence)).dataobj, float)
            top = np.percentile(volume, 99.5)
            axial = volume[:, :, volume.shape[2] // 2 + 10]
            coronal = volume[volume.shape[0] // 2, :, :].T[::-1]
            for offset, view in enumerate((axial, coronal)):
                axis = axes[2 * row + offset, column]
                axis.imshow(view, cmap="gray", vmin=0, vmax=top)
                axis.set_xticks([])
                axis.set_yticks([])
                if column == 0:
                    axis.set_ylabel(f"{FIELD_NAMES[field]} {sequence}", fontsize=8)
        axes[0, column].set_title(subject, fontsize=8)
    figure.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(FIGURE, dpi=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks-work/simulator"))
    parser.add_argument("--subjects", type=int, default=6)
    args = parser.parse_args()
    started = time.perf_counter()
    simulate_dataset(args.work, args.subjects, seed=SEED, labels=True)
    seconds = time.perf_counter() - started
    draw(args.work, args.subjects)
    rows = []
    for sequence in SEQUENCES:
        for field in (LOW_FIELD_DIR, HIGH_FIELD_DIR):
            ratios = [tissue_ratios(np.asarray(nib.load(args.work / field / volume_name(subject_id(n), sequence))
                                               .dataobj, float),
                                    np.asarray(nib.load(args.work / LABELS_DIR / f"{subject_id(n)}_labels.nii.gz")
                                               .dataobj))
                      for n in range(1, args.subjects + 1)]
            grey, csf = np.array(ratios).T
            rows.append([sequence, FIELD_NAMES[field],
                         f"{grey.mean():.2f} ({grey.min():.2f}-{grey.max():.2f})",
                         f"{csf.mean():.2f} ({csf.min():.2f}-{csf.max():.2f})"])
    print(markdown_table(["sequence", "field", "GM / WM, mean (range)", "CSF / WM, mean (range)"], rows))
    print(f"\nsimulated {args.subjects} full-size subjects x {len(SEQUENCES)} sequences in {seconds:.0f} s; "
          f"figure: {FIGURE}")


if __name__ == "__main__":
    main()
