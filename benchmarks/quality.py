"""Item 4 and issue 15: quality per sequence with a model, with and without a reference.

    .venv/bin/python -m benchmarks.quality [--data HELDOUT] [--model ONNX ...] [--max-subjects N]
                                           [--out-of-range-subjects N]

Against the 3 T reference (held-out subjects): PSNR, SSIM, NRMSE of the 64 mT input, the classical
baseline (NLM, then bicubic), the FP32 model and its INT8 Q/DQ version. Each subject is scored as
trainer/evaluation.py scores a model: the whole volume, every slice through enhance_slices (the node's slice
mapping and backend), each candidate volume put on the reference's intensity scale by one linear map of its
percentile window (trainer.evaluation.to_reference_scale), then lohires_edge.image_quality.image_metrics. The
64 mT NIfTI is already on the 3 T grid, so the baseline's bicubic step is the identity here.

Without a reference (lohires_edge.fidelity, lohires_edge.image_quality.cnr_gain), each image against its own
64 mT input: faithfulness R^2 and departing fraction over the whole head, the same over the brain alone
(the labels' white and grey matter, CSF and lesions, with a fit of its own: the scalp's contrast differs
between the fields, and a model taught 3 T contrast changes it), the grey/white CNR gain on the
simulated tissue labels, and the lesions' contrast against white matter (image_quality.lesion_contrast:
a model that fades lesions scores a smaller one than its input and the 3 T reference). On held-out
subjects the 3 T reference is scored the same way: how far an image that looks exactly like 3 T departs
from its 64 mT input. For the held-out subjects and for deliberately out-of-range inputs: lower SNR,
thicker slices, another contrast. Beside the model: the input itself and the input smoothed by sigma
1.5 mm (sanity rows: 1.0 / 0 % / 1.0, and about 0.99 / 0.2 % / 1.5), the NLM baseline and a total
variation denoiser. Without --data, the held-out set is simulated here: 6 subjects, seed 2 (the set the
models never saw), with tissue labels.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nibabel as nib
import numpy as np
from scipy.ndimage import gaussian_filter, uniform_filter1d
from skimage.restoration import denoise_tv_chambolle

from lohires_edge.backends.base import Backend
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import SEQUENCES, read_contract
from lohires_edge.dataset_layout import LOW_FIELD_DIR
from lohires_edge.errors import LohiresError
from lohires_edge.fidelity import fidelity
from lohires_edge.inference import enhance_slices
from lohires_edge.image_quality import cnr_gain, image_metrics, lesion_contrast
from lohires_edge.models import default_model_path
from trainer.baseline import classical_baseline
from trainer.evaluation import to_reference_scale
from trainer.pairs import find_pairs, load_pair
from trainer.simulate import Geometry, simulate_dataset
from trainer.simulate.dataset import LABELS_DIR, tissue_label
from trainer.simulate.tissues import BRAIN_TISSUES, GREY_MATTER, LESION, WHITE_MATTER

from benchmarks.inputs import HELDOUT_SEED, int8_model
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record

METRICS = ("psnr", "ssim", "nrmse")
NO_REFERENCE = ("r2", "departing", "brain_r2", "brain_departing", "cnr_gain", "lesion_contrast")
# Fewer lesion voxels than this (a subject drawn without lesions, or a partial one) give no lesion contrast.
MIN_LESION_VOXELS = 20
HELDOUT_SUBJECTS = 6
OUT_OF_RANGE_SUBJECTS = 2
INPUT, BASELINE, FP32, INT8 = "64 mT input", "classical baseline (NLM)", "model FP32", "model INT8 Q/DQ"
REFERENCE = "3 T reference"
BRAIN_LABELS = tuple(tissue_label(t) for t in BRAIN_TISSUES)  # the tissue labels of the brain
SMOOTHED, TV = "input smoothed σ 1.5 mm", "TV denoiser"
SMOOTHING_MM = 1.5
# Chambolle's weight on a slice scaled by its 99.5th percentile: the CNR gain is highest near 0.06 on the
# held-out T1 (0.03: 1.67, 0.06: 1.92, 0.10: 1.92, 0.15: 1.84), so this is the strongest TV at its best.
TV_WEIGHT = 0.06

HELDOUT = "held-out"
LOW_SNR, THICK, OTHER_CONTRAST = "lower SNR", "thicker slices (10 mm)", "another contrast"
# Rician noise added to the 64 mT volume, as a share of its white-matter signal: on top of the simulator's
# own noise, well below the SNR of any training draw.
EXTRA_NOISE = 0.1
THICK_MM = 10  # thicker than any drawn slice (3-6 mm): each 1 mm slice averaged over a 10 mm slab
OTHER_SEQUENCE = {"T1": "T2", "T2": "T1", "FLAIR": "T1"}  # fed to the model instead of its own


@dataclass(frozen=True)
class Case:
    """One 64 mT volume to score without a reference."""

    condition: str
    subject: str
    low: np.ndarray
    labels: np.ndarray | None  # on the same grid, as trainer.simulate.dataset.tissue_labels encodes them
    pixel_mm: tuple[float, float]


def shipped_models() -> list[Path]:
    """The shipped default model of every sequence that has one."""
    found = []
    for sequence in SEQUENCES:
        try:
            found.append(default_model_path(sequence))
        except LohiresError:
            continue
    return found


def labelled_data(folder: Path, subjects: int, sequences: tuple[str, ...],
                  size: str | Geometry = "full", seed: int = HELDOUT_SEED, noise_free: bool = False,
                  reference: str = "3t") -> Path:
    """`folder`, simulated (by default the held-out seed; always with tissue labels) unless it already
    holds every sequence."""
    low = folder / LOW_FIELD_DIR
    if not (low.is_dir() and all(len(list(low.glob(f"*_{s}.nii*"))) >= subjects for s in sequences)):
        logging.info("simulating %d subject(s) (seed %d, %s, reference %s) into %s", subjects, seed,
                     ",".join(sequences), reference, folder)
        simulate_dataset(folder, subjects, sequences=sequences, seed=seed, size=size, labels=True,
                         noise_free=noise_free, reference=reference)
    return folder


def read_case(condition: str, subject: str, low_path: Path, data: Path) -> Case:
    """The 64 mT volume at `low_path`, with the subject's labels when `data` has them."""
    image = nib.load(str(low_path))
    labels_path = data / LABELS_DIR / f"{subject}_labels.nii.gz"
    labels = np.asarray(nib.load(str(labels_path)).dataobj) if labels_path.is_file() else None
    zooms = image.header.get_zooms()
    return Case(condition, subject, np.asarray(image.dataobj, dtype=np.float64), labels,
                (float(zooms[0]), float(zooms[1])))


def out_of_range_cases(work: Path, sequence: str, subjects: int) -> Iterator[Case]:
    """The held-out subjects made harder than anything the model trained on, one condition at a time;
    none (and nothing simulated) for `subjects` 0."""
    if subjects < 1:
        return
    other = OTHER_SEQUENCE[sequence]
    heldout = labelled_data(work / "heldout-labelled", subjects, (sequence, other))
    for index, pair in enumerate(find_pairs(heldout, sequence)[:subjects]):
        case = read_case(LOW_SNR, pair.subject, pair.low, heldout)
        noisy = with_rician_noise(case.low, case.labels, np.random.default_rng([HELDOUT_SEED, index]))
        yield Case(LOW_SNR, case.subject, noisy, case.labels, case.pixel_mm)
    for pair in find_pairs(heldout, sequence)[:subjects]:
        case = read_case(THICK, pair.subject, pair.low, heldout)
        yield Case(THICK, case.subject, uniform_filter1d(case.low, THICK_MM, axis=SLICE_AXIS), case.labels,
                   case.pixel_mm)
    for pair in find_pairs(heldout, other)[:subjects]:
        yield read_case(f"{OTHER_CONTRAST} ({other})", pair.subject, pair.low, heldout)


def with_rician_noise(low: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """`low` with magnitude noise of EXTRA_NOISE x its white-matter signal."""
    signal = (float(np.median(low[labels == tissue_label(WHITE_MATTER)])) if labels is not None
              else float(np.percentile(low, 99)))
    sigma = EXTRA_NOISE * signal
    return np.hypot(low + rng.normal(0.0, sigma, low.shape), rng.normal(0.0, sigma, low.shape))


SLICE_AXIS = 2  # simulated volumes: slices data[:, :, k] are axial, at the models' 1 mm in PLS orientation


def axial_slices(volume: np.ndarray) -> list[np.ndarray]:
    """The simulator's axial slices. They are already in the models' geometry (1 mm, rows A->P, columns
    R->L), which is what the slice mapping assumes of a plain array."""
    return [volume[:, :, k] for k in range(volume.shape[SLICE_AXIS])]


def enhanced_volume(backend: Backend, volume: np.ndarray) -> np.ndarray:
    """`volume` enhanced slice by slice through enhance_slices (the node's slice mapping), on its own grid."""
    return np.stack(enhance_slices(backend, axial_slices(volume)), axis=SLICE_AXIS)


def total_variation(slice_: np.ndarray) -> np.ndarray:
    scale = float(np.percentile(slice_, 99.5)) or 1.0
    return denoise_tv_chambolle(np.asarray(slice_, dtype=np.float64) / scale, weight=TV_WEIGHT) * scale


def candidates(low: np.ndarray, pixel_mm: tuple[float, float], fp32: OnnxRuntimeBackend
               ) -> dict[str, np.ndarray]:
    """Every image scored without a reference, each a volume on the input's grid."""
    slices = axial_slices(low)
    return {
        INPUT: low,
        SMOOTHED: gaussian_filter(low, (SMOOTHING_MM / pixel_mm[0], SMOOTHING_MM / pixel_mm[1], 0)),
        BASELINE: np.stack([classical_baseline(s) for s in slices], axis=SLICE_AXIS),
        TV: np.stack([total_variation(s) for s in slices], axis=SLICE_AXIS),
        FP32: enhanced_volume(fp32, low),
    }


def no_reference_scores(case: Case, volumes: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """NO_REFERENCE metrics of each volume against the case's input (brain scores and CNR gain NaN without
    labels; lesion contrast NaN without MIN_LESION_VOXELS of lesion)."""
    nan = float("nan")
    labels = case.labels
    brain = None if labels is None else np.isin(labels, BRAIN_LABELS)
    white, grey, lesion = ((None, None, None) if labels is None
                           else (labels == tissue_label(t) for t in (WHITE_MATTER, GREY_MATTER, LESION)))
    has_lesions = lesion is not None and int(lesion.sum()) >= MIN_LESION_VOXELS
    scores = {}
    for name, volume in volumes.items():
        head = fidelity(case.low, volume, case.pixel_mm)
        inside = None if brain is None else fidelity(case.low, volume, case.pixel_mm, region=brain)
        scores[name] = {"r2": head.r2 if head else nan, "departing": head.departing if head else nan,
                        "brain_r2": inside.r2 if inside else nan,
                        "brain_departing": inside.departing if inside else nan,
                        "cnr_gain": cnr_gain(case.low, volume, white, grey) if labels is not None else nan,
                        "lesion_contrast": lesion_contrast(volume, lesion, white) if has_lesions else nan}
    return scores


def reference_scores(high: np.ndarray, volumes: dict[str, np.ndarray], fp32: OnnxRuntimeBackend
                     ) -> dict[str, dict[str, float]]:
    """METRICS of each volume against `high`, on its intensity scale."""
    reference = high.astype(np.float64)
    params = fp32.contract.mapping
    return {name: {k: v for k, v in image_metrics(reference, to_reference_scale(volume, high, params)).items()
                   if k in METRICS} for name, volume in volumes.items()}


def summarize(per_subject: list[dict[str, dict[str, float]]],
              metrics: tuple[str, ...] = METRICS) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation over subjects of every candidate's `metrics`, over the subjects
    that have the metric (a NaN, e.g. lesion contrast of a subject without lesions, is left out; none: NaN)."""
    summary = {}
    for name in per_subject[0]:
        values = {m: np.array([s[name][m] for s in per_subject], dtype=np.float64) for m in metrics}
        values = {m: v[~np.isnan(v)] for m, v in values.items()}
        summary[name] = {**{m: float(v.mean()) if len(v) else float("nan") for m, v in values.items()},
                         **{f"{m}_sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in values.items()}}
    return summary


def score_model(model: Path, args: argparse.Namespace) -> dict:
    """The reference and no-reference results of one model (its contract names the sequence)."""
    contract = read_contract(model)
    sequence = contract.sequence
    data = args.data or labelled_data(args.work / "heldout-labelled", HELDOUT_SUBJECTS,
                                      (sequence, OTHER_SEQUENCE[sequence]))
    pairs = find_pairs(data, sequence)[:args.max_subjects]
    fp32 = OnnxRuntimeBackend(model)
    int8 = OnnxRuntimeBackend(int8_model(Path(model), args.work, args.int8_target))
    reference, no_reference = [], {}
    for pair in pairs:
        low, high, _ = load_pair(pair)
        case = read_case(HELDOUT, pair.subject, pair.low, data)
        volumes = candidates(case.low, case.pixel_mm, fp32)
        no_reference.setdefault(HELDOUT, []).append(no_reference_scores(case, {**volumes, REFERENCE: high}))
        reference.append(reference_scores(high, {INPUT: low, BASELINE: volumes[BASELINE], FP32: volumes[FP32],
                                                 INT8: enhanced_volume(int8, low)}, fp32))
        logging.info("%s %s %s scored", sequence, HELDOUT, pair.subject)
    for case in out_of_range_cases(args.work, sequence, args.out_of_range_subjects):
        no_reference.setdefault(case.condition, []).append(
            no_reference_scores(case, candidates(case.low, case.pixel_mm, fp32)))
        logging.info("%s %s %s scored", sequence, case.condition, case.subject)
    return {"model": contract.model_id, "subjects": [p.subject for p in pairs],
            "summary": summarize(reference), "per_subject": reference,
            "no_reference": {condition: {"subjects": len(scores), "summary": summarize(scores, NO_REFERENCE),
                                         "per_subject": scores}
                             for condition, scores in no_reference.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append",
                        help="FP32 ONNX model (repeatable, one per sequence; its contract names the "
                        "sequence) [every shipped model]")
    parser.add_argument("--data", type=Path, help="held-out NIfTI pairs (Low_field/, High_field/, optional "
                        "Labels/) [simulate 6 subjects, seed 2, with labels, under --work]")
    parser.add_argument("--max-subjects", type=int, help="score only the first N held-out subjects")
    parser.add_argument("--out-of-range-subjects", type=int, default=OUT_OF_RANGE_SUBJECTS,
                        help="subjects per out-of-range condition (simulated, seed 2; 0: none) [%(default)s]")
    parser.add_argument("--int8-target", default="onnxruntime", choices=("onnxruntime", "tensorrt"))
    add_output_arguments(parser, "INT8 models, simulated data")
    args = parser.parse_args(argv)
    if args.out_of_range_subjects < 0:
        parser.error("--out-of-range-subjects must be 0 or more")
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    models = args.model or shipped_models()
    if not models:
        raise LohiresError("no model is shipped yet and none was given; pass --model ONNX")
    sequences = [read_contract(model).sequence for model in models]
    repeated = sorted({s for s in sequences if sequences.count(s) > 1})
    if repeated:  # the record is keyed by sequence: a second model would overwrite the first's scores
        parser.error(f"one --model per sequence: {', '.join(repeated)} given more than once; "
                     "run the benchmark once per model to compare two models of a sequence")
    results = {sequence: score_model(model, args) for sequence, model in zip(sequences, models)}

    rows = [[sequence, name, len(r["subjects"]), *(f"{s[m]:.3f} ± {s[f'{m}_sd']:.3f}" for m in METRICS)]
            for sequence, r in results.items() for name, s in r["summary"].items()]
    print(f"\nHeld-out simulated subjects vs the 3 T reference (mean ± sd over subjects; INT8: "
          f"{args.int8_target} Q/DQ target)\n")
    print(markdown_table(["sequence", "image", "subjects", "PSNR (dB)", "SSIM", "NRMSE"], rows))
    rows = [[sequence, condition, name, c["subjects"], f"{s['r2']:.4f} ± {s['r2_sd']:.4f}",
             f"{100 * s['departing']:.2f} ± {100 * s['departing_sd']:.2f}",
             f"{s['brain_r2']:.4f} ± {s['brain_r2_sd']:.4f}",
             f"{100 * s['brain_departing']:.2f} ± {100 * s['brain_departing_sd']:.2f}",
             f"{s['cnr_gain']:.2f} ± {s['cnr_gain_sd']:.2f}", f"{s['lesion_contrast']:+.2f}"]
            for sequence, r in results.items() for condition, c in r["no_reference"].items()
            for name, s in c["summary"].items()]
    print("\nWithout a reference, each image against its own 64 mT input (lohires_edge.fidelity; CNR gain and "
          "lesion contrast, (lesion - white) / white, on the simulated labels, the latter over the subjects "
          f"with at least {MIN_LESION_VOXELS} lesion voxels; mean ± sd over subjects)\n")
    print(markdown_table(["sequence", "input", "image", "subjects", "faithfulness R²", "departing (%)",
                          "brain R²", "brain departing (%)", "grey/white CNR gain", "lesion contrast"], rows))
    path = write_record("quality", {"int8_target": args.int8_target, "metrics": list(METRICS),
                                    "no_reference_metrics": list(NO_REFERENCE),
                                    "data": str(args.data) if args.data else "simulated, seed 2",
                                    "sequences": results},
                        results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "quality")
