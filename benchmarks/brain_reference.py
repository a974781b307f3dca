"""Issue 15: PSNR and SSIM against the 3 T reference over the brain, each image aligned to it by a fitted line.

    .venv/bin/python -m benchmarks.brain_reference --model ONNX [--model ONNX ...] [--data HELDOUT]
                                                   [--max-subjects N]

Why beside benchmarks.quality: that benchmark puts every image on the reference's scale by mapping its
percentile window onto the reference's (trainer.evaluation.to_reference_scale), over the whole volume. A
model that keeps its input's tissue order where 3 T changes it (a FLAIR whose scalp stays darker than the
brain, as at 64 mT, where the 3 T scalp is the brightest tissue) has another window than the reference, so
that map puts its brain on the wrong intensities and its PSNR falls below the input's whatever it does
inside the brain. Here each image (the 64 mT input and each model's output) is first mapped onto the
reference by the least-squares line over the brain's voxels (the labels' white and grey matter, CSF and
lesions), then scored over the brain only: PSNR over brain voxels (data range: the reference volume's), and
the mean of the SSIM map over them. The line removes only scale and offset, so no image is favoured by the
alignment; what stays is structure and contrast inside the brain. Held-out subjects with labels, as
benchmarks.quality simulates them (seed 2) unless --data is given.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from skimage.metrics import structural_similarity

from benchmarks.inputs import one_sequence, tissue_labels
from benchmarks.quality import (BRAIN_LABELS, HELDOUT_SUBJECTS, OTHER_SEQUENCE, enhanced_volume, labelled_data,
                                summarize)
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from trainer.pairs import find_pairs, load_pair

log = logging.getLogger(__name__)

INPUT = "64 mT input"
METRICS = ("psnr", "ssim")


def aligned_brain_metrics(reference: np.ndarray, image: np.ndarray, brain: np.ndarray) -> dict[str, float]:
    """PSNR and mean SSIM over `brain` of `image` after the least-squares line onto `reference` there."""
    ref = np.asarray(reference, dtype=np.float64)
    img = np.asarray(image, dtype=np.float64)
    if not brain.any():
        raise ValueError("the brain mask is empty")
    slope, intercept = np.polyfit(img[brain], ref[brain], 1)
    aligned = slope * img + intercept
    data_range = float(ref.max() - ref.min()) or 1.0
    mse = float(np.mean((aligned[brain] - ref[brain]) ** 2))
    _, ssim_map = structural_similarity(ref, aligned, data_range=data_range, full=True)
    return {"psnr": 10 * np.log10(data_range ** 2 / mse) if mse > 0 else float("inf"),
            "ssim": float(ssim_map[brain].mean())}


def score_subjects(models: list[Path], data: Path, sequence: str, max_subjects: int
                   ) -> tuple[list[str], list[dict[str, dict[str, float]]]]:
    """The subjects scored and, per subject, each image's METRICS (the input, then each model as given)."""
    backends = [OnnxRuntimeBackend(model) for model in models]
    subjects, per_subject = [], []
    for pair in find_pairs(data, sequence)[:max_subjects]:
        low, high, _ = load_pair(pair)
        brain = np.isin(tissue_labels(data, pair.subject), BRAIN_LABELS)
        images = {INPUT: low, **{str(model): enhanced_volume(backend, low) for model, backend in zip(models, backends)}}
        subjects.append(pair.subject)
        per_subject.append({name: aligned_brain_metrics(high, image, brain) for name, image in images.items()})
        log.info("%s %s scored", sequence, pair.subject)
    return subjects, per_subject


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="FP32 ONNX model (repeatable; all of one sequence, which their contracts name)")
    parser.add_argument("--data", type=Path, help="held-out NIfTI pairs with Labels/ [simulate 6 subjects, "
                        "seed 2, with labels, under --work]")
    parser.add_argument("--max-subjects", type=int, default=HELDOUT_SUBJECTS,
                        help="score the first N held-out subjects [%(default)s]")
    add_output_arguments(parser, "simulated data")
    args = parser.parse_args(argv)
    sequence = one_sequence(parser, args.model)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = args.data or labelled_data(args.work / "heldout-labelled", HELDOUT_SUBJECTS,
                                      (sequence, OTHER_SEQUENCE[sequence]))
    subjects, per_subject = score_subjects(args.model, data, sequence, args.max_subjects)
    summary = summarize(per_subject, METRICS)
    rows = [[name, len(subjects), *(f"{s[m]:.3f} ± {s[f'{m}_sd']:.3f}" for m in METRICS)]
            for name, s in summary.items()]
    print(f"\n{sequence}: against the 3 T reference over the brain, each image aligned to it by the "
          "least-squares line there (mean ± sd over subjects)\n")
    print(markdown_table(["image", "subjects", "brain PSNR (dB)", "brain SSIM"], rows))
    path = write_record("brain_reference", {"sequence": sequence,
                                            "models": {str(m): read_contract(m).model_id for m in args.model},
                                            "data": str(args.data) if args.data else "simulated, seed 2",
                                            "subjects": subjects, "summary": summary,
                                            "per_subject": per_subject}, results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "brain_reference")
