"""Issue 15: regional brightness a model gives the white matter that its input does not have.

    .venv/bin/python -m benchmarks.white_matter_shading --model ONNX [--model ONNX ...] --data DIR
                                                        [--max-subjects N]

Why: on FLAIR a region of white matter brighter than the rest reads as disease. The fidelity score fits one
monotone map per slice and counts the voxels that depart from it, so a broad, smooth brightening of a
quarter of the brain can leave most voxels within 10 % and the slice above the guard's threshold. Here,
on every fifth axial slice with at least MIN_WHITE_VOXELS of white matter (the simulator's labels), the
white matter is split into four quadrants about its centre and the largest |quadrant mean / slice mean - 1|
is taken; a volume's shading is the largest over its slices. The input is smoothed first (σ 2 pixels) so
that its noise does not count as shading. A model whose shading exceeds its input's on a subject has made
some white matter brighter or darker than the rest where the input had it even. The 3 T reference is
shown beside them; contrast changes alone can move the figure (a 3 T T1 exceeds its input on most
subjects), so read it per sequence and look at the slices it names.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.ndimage import gaussian_filter

from benchmarks.inputs import labelled_model_arguments, tissue_labels, write_labelled_model_record
from benchmarks.quality import enhanced_volume
from benchmarks.report import markdown_table, run_script
from trainer.pairs import find_pairs, load_pair
from trainer.simulate.dataset import tissue_label
from trainer.simulate.tissues import WHITE_MATTER

log = logging.getLogger(__name__)

SLICE_STEP = 5
MIN_WHITE_VOXELS = 2000  # about a fifth of a mid-brain slice's white matter at 1 mm: quadrants stay large
MIN_QUADRANT_VOXELS = 200
INPUT_SMOOTHING = 2.0  # pixels
INPUT, REFERENCE = "64 mT input (smoothed)", "3 T reference"


def slice_shading(image: np.ndarray, white: np.ndarray) -> float:
    """Largest |mean of a white-matter quadrant / mean of the slice's white matter - 1| of a 2D slice."""
    rows, cols = np.nonzero(white)
    centre_row, centre_col = int(rows.mean()), int(cols.mean())
    overall = float(image[white].mean())
    deviations = []
    for row_half in (slice(None, centre_row), slice(centre_row, None)):
        for col_half in (slice(None, centre_col), slice(centre_col, None)):
            quadrant = np.zeros_like(white)
            quadrant[row_half, col_half] = white[row_half, col_half]
            if quadrant.sum() >= MIN_QUADRANT_VOXELS:
                deviations.append(abs(float(image[quadrant].mean()) / overall - 1.0))
    return max(deviations, default=0.0)


def volume_shading(volume: np.ndarray, white: np.ndarray) -> tuple[float, int]:
    """The largest slice_shading over every SLICE_STEP-th axial slice with enough white matter, and where."""
    scored = [(slice_shading(volume[:, :, k], white[:, :, k]), k) for k in range(0, volume.shape[2], SLICE_STEP)
              if white[:, :, k].sum() >= MIN_WHITE_VOXELS]
    if not scored:
        raise ValueError("no slice has enough white matter to judge")
    return max(scored)


def main(argv: list[str] | None = None) -> int:
    args, sequence, backends = labelled_model_arguments(__doc__.splitlines()[0], argv)
    per_subject, rows = [], []
    for pair in find_pairs(args.data, sequence)[:args.max_subjects]:
        white = tissue_labels(args.data, pair.subject) == tissue_label(WHITE_MATTER)
        low, high, _ = load_pair(pair)
        images = {INPUT: gaussian_filter(low.astype(np.float64), (INPUT_SMOOTHING, INPUT_SMOOTHING, 0)),
                  REFERENCE: high, **{name: enhanced_volume(backend, low) for name, backend in backends.items()}}
        scores = {name: volume_shading(image, white) for name, image in images.items()}
        per_subject.append({"subject": pair.subject,
                            **{name: {"shading": value, "slice": k} for name, (value, k) in scores.items()}})
        rows.append([pair.subject, *(f"{s:.3f} (slice {k})" for s, k in scores.values())])
        log.info("%s %s scored", sequence, pair.subject)
    names = [INPUT, REFERENCE, *backends]
    print(f"\n{sequence}: largest regional white-matter shading per subject (|quadrant / slice mean - 1|)\n")
    print(markdown_table(["subject", *names], rows))
    for name in backends:
        above = [s["subject"] for s in per_subject if s[name]["shading"] > s[INPUT]["shading"]]
        print(f"\n{name}: above its input's on {len(above)} of {len(per_subject)} subjects"
              + (f" ({', '.join(above)})" if above else ""))
    write_labelled_model_record("white_matter_shading", args, sequence, backends, per_subject)
    return 0


if __name__ == "__main__":
    run_script(main, "white_matter_shading")
