"""What the benchmarks run on: the model (the shipped default or one given), its INT8 Q/DQ version,
simulated 64 mT data (the held-out set given, or simulated here so that anyone can run the scripts), and
the simulator's tissue labels for the benchmarks that score regions.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import nibabel as nib
import numpy as np

from benchmarks.report import add_output_arguments, write_record
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.backends.selection import resolve_model
from lohires_edge.contract import read_contract
from lohires_edge.dataset_layout import LOW_FIELD_DIR
from lohires_edge.engine_store import file_sha256
from lohires_edge.errors import LohiresError
from lohires_edge.quantization import (DEFAULT_CALIBRATION_SLICES, DEFAULT_HOLDOUT_SLICES, DEFAULT_METHOD, TARGETS,
                                       quantization_record, quantize_model, recipe)
from lohires_edge.volumes import sample_slices

log = logging.getLogger(__name__)

HELDOUT_SEED = 2  # the simulator seed of the held-out subjects (never a training seed of the shipped models)
CALIBRATION_SEED = 9  # INT8 calibration data: neither a training nor the held-out seed
CALIBRATION_SUBJECTS = 1


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """--model, the FP32 ONNX model a benchmark measures; `model_path` resolves it (the shipped T1 when left out)."""
    parser.add_argument("--model", type=Path, help="FP32 ONNX model [the shipped T1 model]")


def model_path(model: Path | None, sequence: str = "T1") -> Path:
    """The model given, else the shipped default for `sequence` (a LohiresError naming --model if none)."""
    return resolve_model(model, sequence)


def generator_config(model: Path) -> dict[str, int] | None:
    """The generator configuration the trainer's export records in the contract (None if absent)."""
    raw = read_contract(model).extra.get("generator")
    return json.loads(raw) if raw else None


def simulated_data(folder: Path, subjects: int, seed: int, sequences: tuple[str, ...], dicom: bool = False) -> Path:
    """`folder`, simulated with trainer.simulate unless it already holds every sequence's NIfTI pairs."""
    from trainer.simulate import simulate_dataset  # trainer is optional for the edge-only scripts

    low = folder / LOW_FIELD_DIR
    if low.is_dir() and all(any(low.glob(f"*_{s}.nii*")) for s in sequences):
        return folder
    log.info("simulating %d subject(s) (seed %d, %s) into %s", subjects, seed, ",".join(sequences), folder)
    simulate_dataset(folder, subjects, sequences=sequences, seed=seed, dicom_dir=folder / "dicom" if dicom else None)
    return folder


def int8_model(fp32: Path, work: Path, target: str = "onnxruntime") -> Path:
    """The Q/DQ INT8 version of `fp32` for `target`, calibrated on simulated slices (cached under `work`).

    The accuracy thresholds are off here: the benchmark reports INT8 quality, it does not gate it. A cached
    file is reused only if its quantization record names this very FP32 model (sha256) and today's recipe
    and calibration: a file's age says neither, and a changed recipe must not be masked by an old file.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown quantization target {target!r}")
    contract = read_contract(fp32)
    out = work / f"{fp32.stem}-int8-{target}.onnx"
    wanted = {**recipe(target, DEFAULT_METHOD), "calibration_slices": DEFAULT_CALIBRATION_SLICES,
              "source_sha256": file_sha256(fp32)}
    cached = quantization_record(out) if out.is_file() else None
    if cached is not None and all(cached.get(key) == value for key, value in wanted.items()):
        return out
    data = simulated_data(work / "calibration", CALIBRATION_SUBJECTS, CALIBRATION_SEED, (contract.sequence,))
    calibration, holdout = sample_slices(data, DEFAULT_CALIBRATION_SLICES, DEFAULT_HOLDOUT_SLICES,
                                         sequence=contract.sequence, model=contract.mapping.geometry)
    quantize_model(fp32, out, calibration, holdout, DEFAULT_METHOD, max_ssim_drop=1.0, min_psnr=float("-inf"),
                   target=target)
    return out


def labelled_model_arguments(description: str, argv: list[str] | None
                             ) -> tuple[argparse.Namespace, str, dict[str, OnnxRuntimeBackend]]:
    """The command line of a benchmark that scores models of one sequence on labelled simulated subjects
    (--model, repeatable; --data; --max-subjects; --results): the parsed arguments, the models' sequence (a
    usage error if they name more than one) and an ONNX Runtime backend per model, keyed by its path."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--model", type=Path, action="append", required=True,
                        help="FP32 ONNX model (repeatable; all of one sequence, which their contracts name)")
    parser.add_argument("--data", type=Path, required=True,
                        help="NIfTI pairs with the simulator's Labels/ (e.g. the held-out set benchmarks.quality "
                        "simulates under its --work, heldout-labelled/)")
    parser.add_argument("--max-subjects", type=int, help="score only the first N subjects")
    add_output_arguments(parser, work_help=None)
    args = parser.parse_args(argv)
    sequence = one_sequence(parser, args.model)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return args, sequence, {str(model): OnnxRuntimeBackend(model) for model in args.model}


def write_labelled_model_record(name: str, args: argparse.Namespace, sequence: str,
                                backends: dict[str, OnnxRuntimeBackend], per_subject: list[dict]) -> None:
    """The JSON record of a labelled_model_arguments benchmark (its sequence, data, each model's id and the
    per-subject scores), and where it went."""
    path = write_record(name, {"sequence": sequence, "data": str(args.data),
                               "models": {n: b.contract.model_id for n, b in backends.items()},
                               "per_subject": per_subject}, results_dir=args.results)
    print(f"\nJSON: {path}")


def one_sequence(parser: argparse.ArgumentParser, models: list[Path]) -> str:
    """The one sequence the contracts of `models` name; a usage error through `parser` if they name more."""
    sequences = {read_contract(model).sequence for model in models}
    if len(sequences) != 1:
        parser.error(f"--model: give models of one sequence (got {', '.join(sorted(sequences))})")
    return sequences.pop()


def tissue_labels(data: Path, subject: str) -> np.ndarray:
    """The simulator's tissue labels of `subject` in `data` (Labels/), for the benchmarks that need them."""
    from trainer.simulate.dataset import LABELS_DIR  # trainer is optional for the edge-only scripts

    path = data / LABELS_DIR / f"{subject}_labels.nii.gz"
    if not path.is_file():
        raise LohiresError(f"{path} is missing: this benchmark needs the simulator's tissue labels")
    return np.asarray(nib.load(str(path)).dataobj)
