"""Intensity consistency across a DICOM series enhanced one slice at a time, as the node enhances it.

    .venv/bin/python -m benchmarks.series_consistency [--model ONNX] [--sequence T1] [--size full|small]
                                                      [--seed S] [--png FILE]

One subject is simulated with its tissue labels and its native 64 mT DICOM series. Every instance is
enhanced by itself with the node's own calls (`enhance_slices(backend, [read_placed_slice(ds)],
grid="model")`, then `derive_instance`), so each slice is windowed on its own percentiles, the node's rule;
for comparison the series is also enhanced as `enhance` does it, with one window for the whole series.
For each slice the median of the white-matter pixels is taken (white matter from the simulator's labels,
looked up at each pixel's patient position, so input and output use the same anatomy on their own grids),
and the ratio of neighbouring slices' medians is reported: a step between slices, which a coronal or
sagittal reformat shows as a band, is a ratio away from 1. Writes results/series_consistency.json and a
PNG of coronal reformats through the middle of the head (input | node | one window per series).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402
from scipy import ndimage  # noqa: E402

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from lohires_edge.contract import SEQUENCES  # noqa: E402
from lohires_edge.dicom.derive import derive_instance  # noqa: E402
from lohires_edge.inference import enhance_slices  # noqa: E402
from lohires_edge.slice_geometry import RAS_TO_LPS  # noqa: E402
from lohires_edge.slice_mapping import intensity_window  # noqa: E402
from lohires_edge.volumes import read_dicom_series  # noqa: E402

from benchmarks.inputs import model_path  # noqa: E402
from benchmarks.report import (  # noqa: E402
    RESULTS_DIR, WORK_DIR, add_output_arguments, markdown_table, run_script, write_record)

WHITE_MATTER_LABEL = 1  # simulate_dataset(labels=True): 0 air, 1 white matter, 2 grey matter, ...
MIN_WHITE_MATTER_PIXELS = 50  # fewer (the top and bottom of the head): no median worth comparing
INPUT, NODE, SERIES = "input", "node (window per slice)", "enhance (window per series)"


def patient_positions(ds: Dataset) -> np.ndarray:
    """LPS position (mm) of every pixel centre, from the instance's position, orientation and spacing."""
    orientation = np.asarray(ds.ImageOrientationPatient, dtype=float)
    row_spacing, col_spacing = (float(v) for v in ds.PixelSpacing)
    rows, cols = np.mgrid[0:int(ds.Rows), 0:int(ds.Columns)]
    return (np.asarray(ds.ImagePositionPatient, dtype=float) + rows[..., None] * row_spacing * orientation[3:]
            + cols[..., None] * col_spacing * orientation[:3])


def white_matter(ds: Dataset, labels: nib.Nifti1Image) -> np.ndarray:
    """Mask of the instance's pixels whose patient position lies in white matter (nearest label voxel)."""
    ras = patient_positions(ds) @ RAS_TO_LPS.T  # the same sign flip takes LPS to RAS
    points = ras.reshape(-1, 3).T
    voxels = np.linalg.solve(labels.affine, np.concatenate([points, np.ones((1, points.shape[1]))]))
    found = ndimage.map_coordinates(np.asanyarray(labels.dataobj), voxels[:3], order=0, mode="constant")
    return found.reshape(ras.shape[:2]) == WHITE_MATTER_LABEL


def white_matter_medians(datasets: list[Dataset], labels: nib.Nifti1Image) -> list[float | None]:
    medians = []
    for ds in datasets:
        mask = white_matter(ds, labels)
        enough = mask.sum() >= MIN_WHITE_MATTER_PIXELS
        medians.append(float(np.median(ds.pixel_array[mask])) if enough else None)
    return medians


def neighbour_ratios(medians: list[float | None]) -> list[float]:
    """median[k + 1] / median[k] over neighbouring slices that both have enough white matter."""
    return [b / a for a, b in zip(medians, medians[1:]) if a and b]


def coronal(datasets: list[Dataset]) -> np.ndarray:
    """The row through the middle of each slice, stacked superior (top) to inferior: a coronal reformat."""
    return np.stack([ds.pixel_array[int(ds.Rows) // 2] for ds in datasets])[::-1].astype(float)


def draw(series: dict[str, list[Dataset]], out: Path) -> Path:
    fig, axes = plt.subplots(1, len(series), figsize=(4 * len(series), 4))
    for ax, (name, datasets) in zip(axes, series.items()):
        image = coronal(datasets)
        first = datasets[0]
        thickness = abs(float(datasets[1].ImagePositionPatient[2]) - float(first.ImagePositionPatient[2]))
        low, high = np.percentile(image, [0.5, 99.5])
        ax.imshow(image, cmap="gray", vmin=low, vmax=high, aspect=thickness / float(first.PixelSpacing[1]))
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    fig.suptitle("Coronal reformat, superior at the top", fontsize=11)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="FP32 ONNX model [the shipped model for --sequence]")
    parser.add_argument("--sequence", default="T1", choices=SEQUENCES)
    parser.add_argument("--size", default="full", choices=("full", "small"), help="simulator size")
    parser.add_argument("--seed", type=int, default=2, help="simulated subject (2: the held-out seed)")
    parser.add_argument("--png", type=Path, default=RESULTS_DIR / "series_consistency.png")
    add_output_arguments(parser, work_dir=WORK_DIR / "series_consistency")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from trainer.simulate import LABELS_DIR, simulate_dataset  # trainer is optional for the edge-only scripts

    work = args.work / f"seed{args.seed}"
    (record,) = simulate_dataset(work, 1, sequences=(args.sequence,), seed=args.seed,
                                 dicom_dir=work / "dicom", size=args.size, labels=True, lesions=False)
    labels = nib.load(str(work / LABELS_DIR / f"{record.subject}_labels.nii.gz"))
    source = read_dicom_series(record.dicom_dir)
    with OnnxRuntimeBackend(model_path(args.model, args.sequence)) as backend:
        contract = backend.contract
        node = []
        for item in source:  # one instance at a time, windowed on its own: the node's calls
            (pixels,) = enhance_slices(backend, [item.image], grid="model")
            node.append(derive_instance(item.dataset, pixels, contract))
        window = intensity_window(np.stack([item.pixels for item in source]), contract.mapping)
        whole = enhance_slices(backend, [item.image for item in source], grid="model", window=window)
        per_series = [derive_instance(item.dataset, pixels, contract) for item, pixels in zip(source, whole)]
    series = {INPUT: [item.dataset for item in source], NODE: node, SERIES: per_series}

    results = {}
    for name, datasets in series.items():
        medians = white_matter_medians(datasets, labels)
        steps = np.abs(np.asarray(neighbour_ratios(medians)) - 1.0)
        results[name] = {"white_matter_medians": medians, "max_step": float(steps.max()),
                         "mean_step": float(steps.mean()), "slice_pairs": int(steps.size)}
    rows = [[name, r["slice_pairs"], f"{100 * r['mean_step']:.1f} %", f"{100 * r['max_step']:.1f} %"]
            for name, r in results.items()]
    print(f"\n{contract.model_id} on a simulated {args.sequence} series ({len(source)} slices, seed "
          f"{args.seed}): white-matter median, |ratio of neighbouring slices - 1|\n")
    print(markdown_table(["series", "slice pairs", "mean step", "max step"], rows))
    png = draw(series, args.png)
    path = write_record("series_consistency", {"model": contract.model_id, "sequence": args.sequence,
                                               "seed": args.seed, "size": args.size, "png": str(png),
                                               "series": results}, results_dir=args.results)
    print(f"\nPNG: {png}\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "series_consistency")
