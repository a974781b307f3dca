"""Per-slice flip disagreement (lohires_edge.flip_disagreement) of models on held-out and out-of-range
inputs, how well it tracks texture a model invents, and what a guard threshold on it would flag.

    .venv/bin/python -m benchmarks.flip_disagreement [--model ONNX ...] [--also ONNX ...] [--subjects N]

Inputs: benchmarks.quality's held-out subjects (simulated, seed 2, with tissue labels) and its out-of-range
conditions (lower SNR, thicker slices, another contrast). Every EVERY-th slice with a head interior is
enhanced twice, as is and mirrored (the `Mirrored` backend through the same `enhance_slices`), and scored.

Invented texture, measured with the labels: the output's standard deviation over the slice's white matter
(eroded by two voxels, so no partial volume with grey matter counts) as a share of its mean, where the
slice has at least MIN_WHITE_MATTER_MM2 of white matter. The 3 T reference's white matter is nearly flat
and the input's texture there is noise, so an output with more texture than the input made it up. The
Pearson correlation of score and texture over one model's slices of one condition says whether the score
sees it.

The threshold tried is the lowest multiple of 0.005 above every held-out slice of the --model models
(default: the shipped ones): a guard there would never flag those models on data like their training data.
--also models (say, one that was not shipped because it mottles the white matter) are scored and tabled
but do not set the threshold; the table shows what share of their slices it would flag.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import numpy as np
from scipy.ndimage import binary_erosion

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.flip_disagreement import Mirrored, flip_disagreement
from lohires_edge.inference import enhance_slices
from trainer.pairs import find_pairs

from benchmarks.quality import (HELDOUT, OTHER_SEQUENCE, Case, axial_slices, labelled_data, out_of_range_cases,
                                read_case, shipped_models)
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record

EVERY = 2  # score every 2nd slice: neighbouring 1 mm slices say nearly the same
MIN_WHITE_MATTER_MM2 = 2000.0
WHITE_MATTER, WHITE_MATTER_EROSION = 1, 2
STEP = 0.005


def white_matter_texture(output: np.ndarray, labels: np.ndarray, pixel_mm: tuple[float, float]) -> float | None:
    """Std / mean of `output` over the slice's eroded white matter; None with too little white matter."""
    white = labels == WHITE_MATTER
    if white.sum() * pixel_mm[0] * pixel_mm[1] < MIN_WHITE_MATTER_MM2:
        return None
    core = binary_erosion(white, iterations=WHITE_MATTER_EROSION)
    values = output[core]
    return float(values.std() / values.mean()) if values.size and values.mean() > 0 else None


def case_rows(case: Case, backend: OnnxRuntimeBackend, every: int) -> list[tuple[float, float | None]]:
    """(flip disagreement, white-matter texture) of every `every`-th slice of `case` that has a head interior."""
    sources = axial_slices(case.low)[::every]
    outputs = enhance_slices(backend, sources)
    mirrored = enhance_slices(Mirrored(backend), sources)
    rows = []
    for k, (output, other) in enumerate(zip(outputs, mirrored)):
        score = flip_disagreement(output, other, case.pixel_mm)
        if score is None:
            continue
        labels = None if case.labels is None else case.labels[:, :, k * every]
        rows.append((score, None if labels is None else white_matter_texture(output, labels, case.pixel_mm)))
    return rows


def texture_correlation(rows: list[tuple[float, float | None]]) -> float | None:
    """Pearson r of flip disagreement and white-matter texture over the slices that have both."""
    pairs = np.asarray([(s, t) for s, t in rows if t is not None])
    return float(np.corrcoef(pairs[:, 0], pairs[:, 1])[0, 1]) if len(pairs) > 2 else None


def model_cases(model: Path, work: Path, subjects: int) -> list[Case]:
    sequence = read_contract(model).sequence
    heldout = labelled_data(work / "heldout-labelled", subjects, (sequence, OTHER_SEQUENCE[sequence]))
    cases = [read_case(HELDOUT, p.subject, p.low, heldout) for p in find_pairs(heldout, sequence)[:subjects]]
    return cases + list(out_of_range_cases(work, sequence, min(subjects, 2)))


def suggested_threshold(scores: list[float]) -> float:
    """The lowest multiple of STEP above every score (rounded first: 0.065 / 0.005 is 12.999... in floats)."""
    return round((math.floor(round(max(scores) / STEP, 9)) + 1) * STEP, 9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append",
                        help="FP32 ONNX model that sets the threshold (repeat) [every shipped model]")
    parser.add_argument("--also", type=Path, action="append", default=[],
                        help="FP32 ONNX model scored beside them, not setting the threshold (repeat)")
    parser.add_argument("--subjects", type=int, default=6, help="held-out subjects [%(default)s]; out-of-range "
                        "conditions use at most 2")
    parser.add_argument("--every", type=int, default=EVERY, help="score every N-th slice [%(default)s]")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    setting = args.model or shipped_models()
    scored: dict[tuple[str, str], list[tuple[float, float | None]]] = {}
    roles: dict[str, str] = {}
    for role, models in (("sets threshold", setting), ("scored beside", args.also)):
        for model in models:
            model_id = read_contract(model).model_id
            roles[model_id] = role
            with OnnxRuntimeBackend(model) as backend:
                for case in model_cases(model, args.work, args.subjects):
                    scored.setdefault((model_id, case.condition), []).extend(
                        case_rows(case, backend, args.every))
                    logging.info("%s %s %s scored", model_id, case.condition, case.subject)

    threshold = suggested_threshold([s for (model_id, condition), rows in scored.items()
                                     if roles[model_id] == "sets threshold" and condition == HELDOUT
                                     for s, _ in rows])
    table: dict[str, dict[str, dict]] = {}
    for (model_id, condition), rows in scored.items():
        scores = [s for s, _ in rows]
        textures = [t for _, t in rows if t is not None]
        table.setdefault(model_id, {})[condition] = {
            "role": roles[model_id], "slices": len(scores), "median": float(np.median(scores)) if scores else None,
            "max": max(scores, default=None), "above_threshold": float(np.mean(np.asarray(scores) > threshold))
            if scores else None, "white_matter_texture_median": float(np.median(textures)) if textures else None,
            "texture_correlation": texture_correlation(rows)}
    print(f"\nPer-slice flip disagreement, every {args.every}. slice with a judged head interior\n")
    print(markdown_table(["model", "input", "role", "slices", "median", "max", "above threshold (%)",
                          "white-matter texture (median)", "r with texture"],
                         [[model_id, condition, r["role"], r["slices"], _number(r["median"]), _number(r["max"]),
                           f"{100 * r['above_threshold']:.1f}", _number(r["white_matter_texture_median"]),
                           _number(r["texture_correlation"])]
                          for model_id, by_condition in table.items() for condition, r in by_condition.items()]))
    print(f"Threshold tried: {threshold:.3f} (above every held-out slice of the models that set it)")
    path = write_record("flip_disagreement", {"models": roles, "subjects": args.subjects, "every": args.every,
                                              "rows": table, "threshold_tried": threshold},
                        results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    run_script(main, "flip_disagreement")
