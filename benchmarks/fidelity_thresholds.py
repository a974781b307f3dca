"""The measurements behind `[qa] min_fidelity` and `enhance --min-fidelity`: per-slice fidelity scores of
faithful images, of a model, and of images with an invented lesion, on clean, noisy and out-of-range inputs.

    .venv/bin/python -m benchmarks.fidelity_thresholds [--model ONNX] [--subjects N]

Inputs: benchmarks.quality's held-out subjects (simulated, seed 2) and its out-of-range conditions (lower
SNR, thicker slices, another contrast). Per input, every slice with anatomy is scored by
lohires_edge.fidelity.slice_scores against the slice it came from, for: images that invent nothing by
construction (the input smoothed by sigma 1.5 mm, the NLM baseline, a TV denoiser), the model, and the
smoothed input with an invented lesion (a disc of radius LESION_MM, half again the white-matter signal,
in the slice's white matter). The suggested threshold is the highest multiple of 0.01 below which no
faithful slice falls, under any condition: a guard there never flags an image that invents nothing,
and the table shows what share of the model's and the invented lesions' slices it flags.
"""

from __future__ import annotations

import argparse
import logging
import math

import numpy as np

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.fidelity import slice_scores
from trainer.pairs import find_pairs

from benchmarks.inputs import add_model_argument, model_path
from benchmarks.quality import (BASELINE, FP32, HELDOUT, OTHER_SEQUENCE, SLICE_AXIS, SMOOTHED, TV, Case,
                                axial_slices, candidates, labelled_data, out_of_range_cases, read_case)
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record

FAITHFUL = (SMOOTHED, BASELINE, TV)
INVENTED = "smoothed input + invented lesion"
LESION_MM = 8.0
LESION_GAIN = 0.5  # of the white-matter signal
CANDIDATE_THRESHOLDS = (0.90, 0.93, 0.95, 0.97)
MIN_WHITE_MATTER_MM2 = 2000.0  # a slice gets a lesion only where there is this much white matter


def with_invented_lesions(volume: np.ndarray, labels: np.ndarray, pixel_mm: tuple[float, float]
                          ) -> tuple[np.ndarray, list[int]]:
    """`volume` with a bright disc in the white matter of every slice that has enough; (volume, slices)."""
    out = volume.copy()
    signal = float(np.median(volume[labels == 1]))
    rows, cols = np.indices(volume.shape[:2])
    changed = []
    for k in range(volume.shape[SLICE_AXIS]):
        white = labels[:, :, k] == 1
        if white.sum() * pixel_mm[0] * pixel_mm[1] < MIN_WHITE_MATTER_MM2:
            continue
        r, c = (int(np.median(axis)) for axis in np.nonzero(white))
        disc = ((rows - r) * pixel_mm[0]) ** 2 + ((cols - c) * pixel_mm[1]) ** 2 <= LESION_MM ** 2
        out[:, :, k] += LESION_GAIN * signal * disc
        changed.append(k)
    return out, changed


def case_scores(case: Case, fp32: OnnxRuntimeBackend) -> dict[str, list[float]]:
    """Per-slice scores (slices with anatomy) of each image of `case`."""
    volumes = {name: v for name, v in candidates(case.low, case.pixel_mm, fp32).items()
               if name in FAITHFUL + (FP32,)}
    sources = axial_slices(case.low)
    pixels = [case.pixel_mm] * len(sources)
    scores = {name: slice_scores(sources, axial_slices(v), pixels).judged for name, v in volumes.items()}
    if case.labels is not None:
        invented, changed = with_invented_lesions(volumes[SMOOTHED], case.labels, case.pixel_mm)
        scored = slice_scores([sources[k] for k in changed], [invented[:, :, k] for k in changed], pixels)
        scores[INVENTED] = scored.judged
    return scores


def suggested_threshold(faithful_scores: list[float]) -> float:
    """The highest multiple of 0.01 that no faithful slice falls below."""
    return math.floor(min(faithful_scores) * 100) / 100


def summary(values: list[float], thresholds: list[float]) -> dict:
    """Count, min, 5th percentile, median, and the share below each threshold, of per-slice scores."""
    scores = np.asarray(values)
    return {"slices": len(scores), "min": float(scores.min()), "p5": float(np.percentile(scores, 5)),
            "median": float(np.median(scores)),
            "flagged": {f"{t:.2f}": float(np.mean(scores < t)) for t in thresholds}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_argument(parser)
    parser.add_argument("--subjects", type=int, default=2, help="subjects per condition [%(default)s]")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    model = model_path(args.model)
    fp32 = OnnxRuntimeBackend(model)
    sequence = fp32.contract.sequence
    heldout = labelled_data(args.work / "heldout-labelled", args.subjects,
                            (sequence, OTHER_SEQUENCE[sequence]))
    cases = [read_case(HELDOUT, p.subject, p.low, heldout)
             for p in find_pairs(heldout, sequence)[:args.subjects]]
    cases += list(out_of_range_cases(args.work, sequence, args.subjects))

    pooled: dict[str, dict[str, list[float]]] = {}
    for case in cases:
        for name, values in case_scores(case, fp32).items():
            pooled.setdefault(case.condition, {}).setdefault(name, []).extend(values)
        logging.info("%s %s scored", case.condition, case.subject)

    threshold = suggested_threshold([v for by_name in pooled.values() for name in FAITHFUL
                                     for v in by_name[name]])
    thresholds = sorted({*CANDIDATE_THRESHOLDS, threshold})
    table = {condition: {name: summary(values, thresholds) for name, values in by_name.items()}
             for condition, by_name in pooled.items()}
    rows = [[condition, name, s["slices"], s["min"], s["p5"], s["median"],
             *(f"{100 * s['flagged'][f'{t:.2f}']:.0f}" for t in thresholds)]
            for condition, by_name in table.items() for name, s in by_name.items()]
    print(f"\nPer-slice fidelity (R², slices with anatomy) with {model.name}, {args.subjects} subject(s) per "
          "condition; % of slices below each threshold\n")
    print(markdown_table(["input", "image", "slices", "min", "p5", "median",
                          *(f"< {t:.2f} (%)" for t in thresholds)], rows))
    print(f"\nSuggested min_fidelity: {threshold:.2f} (no faithful slice below it)")
    record = {"model": fp32.contract.model_id, "sequence": sequence, "subjects": args.subjects,
              "conditions": table, "suggested_min_fidelity": threshold}
    path = write_record("fidelity_thresholds", record, results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "fidelity_thresholds")
