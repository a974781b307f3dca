"""Item 4: quality on held-out simulated subjects, per sequence with a model: the 64 mT input, the classical
baseline (NLM), the FP32 model and its INT8 Q/DQ version, against the 3 T reference (PSNR, SSIM, NRMSE).

    .venv/bin/python -m benchmarks.quality [--data HELDOUT] [--model ONNX ...] [--max-subjects N]

Each subject is scored as trainer/evaluation.py scores a model: the whole volume, every slice through
enhance_volume (the edge's slice mapping and backend), each candidate volume put on the reference's
intensity scale by one linear map of its percentile window (trainer.evaluation.to_reference_scale), then
lohires_edge.metrics.image_metrics against the 3 T volume. The baseline is trainer.baseline's NLM slice
by slice (the 64 mT NIfTI is already on the 3 T grid, so its bicubic step is the identity here).
Without --data, the held-out set is simulated here: 6 subjects, seed 2 (the set the models never saw).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import SEQUENCES, read_contract
from lohires_edge.errors import LohiresError
from lohires_edge.inference import enhance_volume
from lohires_edge.metrics import image_metrics
from lohires_edge.models import default_model_path
from lohires_edge.slice_geometry import volume_slicing
from trainer.baseline import classical_baseline
from trainer.evaluation import to_reference_scale
from trainer.pairs import find_pairs, load_pair

from benchmarks.inputs import HELDOUT_SEED, int8_model, simulated_data
from benchmarks.report import RESULTS_DIR, markdown_table, run_script, write_record

METRICS = ("psnr", "ssim", "nrmse")
HELDOUT_SUBJECTS = 6
INPUT, BASELINE, FP32, INT8 = "64 mT input", "classical baseline (NLM)", "model FP32", "model INT8 Q/DQ"


def shipped_models() -> list[Path]:
    """The shipped default model of every sequence that has one."""
    found = []
    for sequence in SEQUENCES:
        try:
            found.append(default_model_path(sequence))
        except LohiresError:
            continue
    return found


def score_subject(low: np.ndarray, high: np.ndarray, affine: np.ndarray, fp32: OnnxRuntimeBackend,
                  int8: OnnxRuntimeBackend) -> dict[str, dict[str, float]]:
    """METRICS of each candidate volume against `high`, on its intensity scale."""
    axis = volume_slicing(affine, fp32.contract.mapping.geometry).axis
    candidates = {
        INPUT: low,
        BASELINE: np.stack([classical_baseline(np.take(low, k, axis=axis)) for k in range(low.shape[axis])],
                           axis=axis),
        FP32: enhance_volume(fp32, low, affine),
        INT8: enhance_volume(int8, low, affine),
    }
    reference = high.astype(np.float64)
    params = fp32.contract.mapping
    return {name: {k: v for k, v in image_metrics(reference, to_reference_scale(volume, high, params)).items()
                   if k in METRICS} for name, volume in candidates.items()}


def summarize(per_subject: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation over subjects of every candidate's METRICS."""
    summary = {}
    for name in per_subject[0]:
        values = {m: np.array([s[name][m] for s in per_subject]) for m in METRICS}
        summary[name] = {**{m: float(v.mean()) for m, v in values.items()},
                         **{f"{m}_sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in values.items()}}
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append",
                        help="FP32 ONNX model (repeatable; its contract names the sequence) [every shipped model]")
    parser.add_argument("--data", type=Path, help="held-out NIfTI pairs (Low_field/, High_field/) "
                        "[simulate 6 subjects, seed 2, under --work]")
    parser.add_argument("--max-subjects", type=int, help="score only the first N subjects")
    parser.add_argument("--int8-target", default="onnxruntime", choices=("onnxruntime", "tensorrt"))
    parser.add_argument("--work", type=Path, default=RESULTS_DIR / "work", help="INT8 models, simulated data")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where the JSON record goes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    models = args.model or shipped_models()
    if not models:
        raise LohiresError("no model is shipped yet and none was given; pass --model ONNX")
    results = {}
    for model in models:
        contract = read_contract(model)
        data = args.data or simulated_data(args.work / "heldout", HELDOUT_SUBJECTS, HELDOUT_SEED,
                                           (contract.sequence,))
        pairs = find_pairs(data, contract.sequence)[:args.max_subjects]
        fp32 = OnnxRuntimeBackend(model)
        int8 = OnnxRuntimeBackend(int8_model(Path(model), args.work, args.int8_target))
        per_subject = []
        for pair in pairs:
            low, high, image = load_pair(pair)
            per_subject.append(score_subject(low, high, image.affine, fp32, int8))
            logging.info("%s %s scored", contract.sequence, pair.subject)
        results[contract.sequence] = {"model": contract.model_id, "subjects": [p.subject for p in pairs],
                                      "summary": summarize(per_subject), "per_subject": per_subject}

    rows = [[sequence, name, len(r["subjects"]), *(f"{s[m]:.3f} ± {s[f'{m}_sd']:.3f}" for m in METRICS)]
            for sequence, r in results.items() for name, s in r["summary"].items()]
    print(f"\nHeld-out simulated subjects vs the 3 T reference (mean ± sd over subjects; INT8: "
          f"{args.int8_target} Q/DQ target)\n")
    print(markdown_table(["sequence", "image", "subjects", "PSNR (dB)", "SSIM", "NRMSE"], rows))
    path = write_record("quality", {"int8_target": args.int8_target, "metrics": list(METRICS),
                                    "data": str(args.data) if args.data else "simulated, seed 2",
                                    "sequences": results},
        results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "quality")
