"""Per-subject evaluation of a model on paired volumes, in the high-field intensity scale.

The 64 mT volume goes through `enhance_volume` (sliced in the model's plane, one intensity window for the
volume, the slice mapping and a backend: what `enhance` serves), and the enhanced volume, on the input's own
voxel grid, is compared with the 3 T reference.
The enhanced volume comes back in the 64 mT input's intensities (that is what the slice mapping's inverse
gives), so it, and the untouched input for the baseline, are put on the reference's scale by one linear map
per volume: its percentile window onto the reference's (the mapping's percentiles). A linear map cannot
add or remove contrast, so the metrics still judge the model, not the rescaling.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nibabel as nib
import numpy as np

from lohires_edge.backends.base import Backend
from lohires_edge.errors import LohiresError
from lohires_edge.inference import enhance_volume
from lohires_edge.image_quality import IMAGE_METRICS, MEDICAL_METRICS, image_metrics, medical_metrics
from lohires_edge.slice_mapping import MappingParams
from trainer.pairs import Pair, load_pair

ENHANCED, INPUT, REFERENCE = "enhanced", "input", "reference"


@dataclass(frozen=True)
class SubjectResult:
    filename: str
    image: dict[str, dict[str, float]]  # ENHANCED / INPUT -> IMAGE_METRICS against the reference
    medical: dict[str, dict[str, float]]  # ENHANCED / INPUT / REFERENCE -> MEDICAL_METRICS


def to_reference_scale(volume: np.ndarray, reference: np.ndarray, params: MappingParams) -> np.ndarray:
    """Linearly map `volume`'s percentile window onto `reference`'s (float64)."""
    percentiles = [params.low_percentile, params.high_percentile]
    low, high = np.percentile(volume, percentiles)
    ref_low, ref_high = np.percentile(reference, percentiles)
    span = high - low if high > low else 1.0
    return (np.asarray(volume, np.float64) - low) / span * (ref_high - ref_low) + ref_low


def open_model(model: Path, sequence: str) -> Backend:
    """MODEL as a backend: a run directory through TensorFlow, an ONNX file through ONNX Runtime.

    Refuses a model of another sequence than the data's. TensorFlow is imported only for a run directory, so
    evaluating an ONNX file (and `lohires-train evaluate --help`) does not pay for it.
    """
    backend = _run_backend(Path(model)) if Path(model).is_dir() else _onnx_backend(Path(model))
    if backend.contract.sequence != sequence:
        backend.close()
        raise LohiresError(f"{model} is a {backend.contract.sequence} model, not {sequence}; pass "
                           f"--sequence {backend.contract.sequence} or another model")
    return backend


def _run_backend(run: Path) -> Backend:
    from lohires_edge.contract import ModelContract
    from trainer.keras_backend import KerasBackend
    from trainer.run_dir import RunDir
    from trainer.training import rebuild_generator

    generator, config = rebuild_generator(RunDir(run))
    contract = ModelContract(sequence=config.sequence, mapping=config.mapping_params,
                             model_name=config.model_name, model_version=config.model_version)
    return KerasBackend(generator, contract)


def _onnx_backend(path: Path) -> Backend:
    from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(path)


def evaluate_subject(backend: Backend, pair: Pair, outputs: Path | None = None,
                     on_batch: Callable[[int], None] | None = None) -> SubjectResult:
    low, high, high_image = load_pair(pair)
    enhanced = enhance_volume(backend, low, high_image.affine, on_batch=on_batch)
    params = backend.contract.mapping
    volumes = {ENHANCED: to_reference_scale(enhanced, high, params),
               INPUT: to_reference_scale(low, high, params)}
    if outputs is not None:
        outputs.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(volumes[ENHANCED].astype(np.float32), high_image.affine),
                 outputs / pair.low.name)
    reference = high.astype(np.float64)
    return SubjectResult(
        filename=pair.low.name,
        image={name: image_metrics(reference, volume) for name, volume in volumes.items()},
        medical={**{name: medical_metrics(volume, reference) for name, volume in volumes.items()},
                 REFERENCE: medical_metrics(reference, reference)})


def companion_paths(csv_path: Path) -> tuple[Path, Path]:
    """Where the input baseline and the medical-metrics CSVs go, beside the main CSV."""
    csv_path = Path(csv_path)
    return (csv_path.with_name(f"{csv_path.stem}_input{csv_path.suffix}"),
            csv_path.with_name(f"{csv_path.stem}_medical{csv_path.suffix}"))


def write_csvs(results: list[SubjectResult], csv_path: Path) -> tuple[Path, Path, Path]:
    """The seed's CSV for the model, the same for the 64 mT input, and the medical metrics of all three."""
    input_path, medical_path = companion_paths(csv_path)
    for path, name in ((Path(csv_path), ENHANCED), (input_path, INPUT)):
        rows = [{"filename": r.filename, **r.image[name]} for r in results]
        _write(path, ("filename", *IMAGE_METRICS), rows)
    rows = [{"filename": r.filename, "image": name, **r.medical[name]}
            for r in results for name in (ENHANCED, INPUT, REFERENCE)]
    _write(medical_path, ("filename", "image", *MEDICAL_METRICS), rows)
    return Path(csv_path), input_path, medical_path


def summary(results: list[SubjectResult]) -> str:
    """A Markdown table of the mean of each image metric, model against input."""
    lines = ["| metric | enhanced | 64 mT input |", "| --- | --- | --- |"]
    for metric in IMAGE_METRICS:
        means = [np.mean([r.image[name][metric] for r in results]) for name in (ENHANCED, INPUT)]
        lines.append(f"| {metric} | {means[0]:.4g} | {means[1]:.4g} |")
    return "\n".join(lines)


def _write(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
