"""Look before shipping: a model's output on held-out simulated subjects beside its input, where it departs
from that input, and the 3 T reference.

    .venv/bin/python -m benchmarks.held_out_montage [--model ONNX] [--subjects 6] [--out PNG]

Each row is one axial slice of one held-out subject (seed 2, as benchmarks.quality), at LEVELS of the
slices with anatomy; each slice is windowed on its own, as the node maps it. The departure column is
lohires_edge.fidelity's residual, white at trainer.reference.DEPARTURE_WHITE of the output's range:
bright spots there that the input and the reference lack are structure the model invented. The row
label gives the subject, the slice and its fidelity score.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.fidelity import departure_map
from lohires_edge.inference import enhance_slices
from trainer.pairs import find_pairs
from trainer.reference import DEPARTURE_WHITE, departure_image, unit_scale
from trainer.slices import anatomy_slices

from benchmarks.inputs import add_model_argument, model_path
from benchmarks.quality import SLICE_AXIS, labelled_data
from benchmarks.report import RESULTS_DIR, add_output_arguments, run_script

LEVELS = (0.45, 0.6)  # of the slices with anatomy, from the bottom: the ventricles and the frontal white matter
COLUMNS = ("64 mT input", "model", f"departs from input (white: {DEPARTURE_WHITE:.0%})", "3 T reference")
HEADER = 18


def subject_rows(low: np.ndarray, high: np.ndarray, backend: OnnxRuntimeBackend, pixel_mm: tuple[float, float]
                 ) -> list[tuple[int, float | None, list[np.ndarray]]]:
    """(slice, fidelity, panels) of each LEVELS slice of one subject."""
    with_anatomy = anatomy_slices(high, SLICE_AXIS)
    picks = [int(with_anatomy[int(level * (len(with_anatomy) - 1))]) for level in LEVELS]
    sources = [low[:, :, k] for k in picks]
    outputs = enhance_slices(backend, sources)
    rows = []
    for k, source, output in zip(picks, sources, outputs):
        departure = departure_map(source, output, pixel_mm)
        rows.append((k, None if departure is None else departure.scores().r2,
                     [unit_scale(source), unit_scale(output), departure_image(departure, source.shape),
                      unit_scale(high[:, :, k])]))
    return rows


def montage(rows: list[tuple[str, list[np.ndarray]]]) -> Image.Image:
    height, width = rows[0][1][0].shape
    image = Image.new("L", (width * len(COLUMNS), HEADER + len(rows) * (height + HEADER)), 0)
    draw = ImageDraw.Draw(image)
    for column, label in enumerate(COLUMNS):
        draw.text((column * width + 4, 3), label, fill=255)
    for index, (label, panels) in enumerate(rows):
        top = HEADER + index * (height + HEADER)
        draw.text((4, top + 3), label, fill=200)
        pixels = (np.concatenate(panels, axis=1) * 255).astype(np.uint8)
        image.paste(Image.fromarray(pixels), (0, top + HEADER))
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_argument(parser)
    parser.add_argument("--subjects", type=int, default=6, help="held-out subjects [%(default)s]")
    parser.add_argument("--out", type=Path, help="PNG [RESULTS_DIR/<sequence>-held-out.png]")
    add_output_arguments(parser, results=False)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    backend = OnnxRuntimeBackend(model_path(args.model))
    sequence = backend.contract.sequence
    data = labelled_data(args.work / "heldout-labelled", args.subjects, (sequence,))
    rows = []
    for pair in find_pairs(data, sequence)[:args.subjects]:
        image = nib.load(str(pair.low))
        zooms = image.header.get_zooms()
        low = np.asarray(image.dataobj, dtype=np.float64)
        high = np.asarray(nib.load(str(pair.high)).dataobj, dtype=np.float64)
        for k, score, panels in subject_rows(low, high, backend, (float(zooms[0]), float(zooms[1]))):
            label = f"{pair.subject} slice {k}: fidelity " + ("none" if score is None else f"{score:.3f}")
            rows.append((label, panels))
            logging.info(label)
    out = args.out or RESULTS_DIR / f"{sequence.lower()}-held-out.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    montage(rows).save(out)
    print(f"montage: {out}")
    return 0


if __name__ == "__main__":
    run_script(main, "held_out_montage")
