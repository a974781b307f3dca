"""Look at inputs unlike the training data: one held-out subject through `enhance`, as it is and made harder
than anything the model trained on, each input above its output with the volume's fidelity.

    .venv/bin/python -m benchmarks.out_of_range_montage [--model ONNX] [--out PNG]

The conditions are benchmarks.quality's (more noise, a 10 mm slab, another contrast) and two of geometry
that only a file meets: the field of view padded with zeros to PADDED_FOV_MM (the model tiles it) and the
same volume stored RAS instead of the simulator's PLS. Each volume goes through
lohires_edge.enhancement.enhance_nifti, what `lohires-edge enhance` runs. Printed per condition: the
volume's fidelity over the head (R², departing), the lowest and the median slice score and how many slices
were judged; for RAS, the largest difference from the PLS output once turned back. The montage shows one
slice, each panel windowed on its own: look for seams, structure the input lacks, noise made into patches.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image, ImageDraw

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.enhancement import enhance_nifti
from lohires_edge.fidelity import fidelity
from trainer.pairs import find_pairs
from trainer.reference import unit_scale
from trainer.slices import anatomy_slices

from benchmarks.inputs import add_model_argument, model_path
from benchmarks.quality import HELDOUT, OTHER_SEQUENCE, SLICE_AXIS, labelled_data, out_of_range_cases
from benchmarks.report import RESULTS_DIR, add_output_arguments, markdown_table, run_script, write_record

PADDED_FOV_MM = 300.0  # wider than the simulator's field of view (220 mm), so the model tiles it
PADDED, RAS = f"field of view padded to {PADDED_FOV_MM:.0f} mm", "stored RAS"
LEVEL = 0.6  # of the slices with anatomy, from the bottom: the frontal white matter above the ventricles
PANEL = 256  # pixels per panel in the montage
HEADER = 18


def padded(image: nib.Nifti1Image, fov_mm: float) -> nib.Nifti1Image:
    """`image` with zeros around it in-plane, so that its field of view is at least `fov_mm`, every voxel
    keeping its place in the world (the affine moves with the padding)."""
    zooms = image.header.get_zooms()[:2]
    pads = np.array([max(0, int(np.ceil((fov_mm / z - n) / 2))) for z, n in zip(zooms, image.shape[:2])])
    data = np.pad(np.asarray(image.dataobj), [(pads[0], pads[0]), (pads[1], pads[1]), (0, 0)])
    affine = image.affine.copy()
    affine[:3, 3] -= affine[:3, :2] @ pads
    return nib.Nifti1Image(data, affine)


def turned_back(image: nib.Nifti1Image, like: nib.Nifti1Image) -> np.ndarray:
    """`image`'s voxels in the orientation of `like` (the same grid, stored another way)."""
    transform = nib.orientations.ornt_transform(nib.io_orientation(image.affine), nib.io_orientation(like.affine))
    return np.asarray(image.as_reoriented(transform).dataobj, dtype=np.float64)


def conditions(work: Path, sequence: str) -> tuple[str, list[tuple[str, nib.Nifti1Image]]]:
    """The first held-out subject's name and its volume under every condition, as NIfTI images."""
    heldout = labelled_data(work / "heldout-labelled", 1, (sequence, OTHER_SEQUENCE[sequence]))
    pair = find_pairs(heldout, sequence)[0]
    source = nib.load(str(pair.low))
    in_range = nib.Nifti1Image(np.asarray(source.dataobj, dtype=np.float32), source.affine)
    made = [(HELDOUT, in_range)]
    made += [(case.condition, nib.Nifti1Image(case.low.astype(np.float32), source.affine))
             for case in out_of_range_cases(work, sequence, 1)]
    made += [(PADDED, padded(in_range, PADDED_FOV_MM)), (RAS, nib.as_closest_canonical(in_range))]
    return pair.subject, made


def enhanced(backend: OnnxRuntimeBackend, image: nib.Nifti1Image, stem: Path) -> tuple[nib.Nifti1Image, dict]:
    """`image` written to `stem`-input.nii.gz and enhanced by enhance_nifti into `stem`-output.nii.gz: the
    output, and its fidelity over the head and per slice."""
    source_path, output_path = Path(f"{stem}-input.nii.gz"), Path(f"{stem}-output.nii.gz")
    nib.save(image, str(source_path))
    report = enhance_nifti(backend, source_path, output_path)
    output = nib.load(str(output_path))
    zooms = image.header.get_zooms()
    head = fidelity(np.asarray(image.dataobj, dtype=np.float64), np.asarray(output.dataobj, dtype=np.float64),
                    (float(zooms[0]), float(zooms[1])))
    slices = report.fidelity
    return output, {"r2": head.r2, "departing": head.departing, "slice_min": slices.minimum,
                    "slice_median": slices.median, "slices_judged": len(slices.judged)}


def montage(columns: list[tuple[str, np.ndarray, np.ndarray]]) -> Image.Image:
    """Inputs above outputs, one column per condition, each panel PANEL pixels square."""
    image = Image.new("L", (PANEL * len(columns), 2 * (PANEL + HEADER)), 0)
    draw = ImageDraw.Draw(image)
    for index, (label, source, output) in enumerate(columns):
        for row, (panel, caption) in enumerate(((source, label[:40]), (output, "output"))):
            top = row * (PANEL + HEADER)
            draw.text((index * PANEL + 4, top + 3), caption, fill=255)
            pixels = Image.fromarray((unit_scale(panel) * 255).astype(np.uint8)).resize((PANEL, PANEL))
            image.paste(pixels, (index * PANEL, top + HEADER))
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_argument(parser)
    parser.add_argument("--out", type=Path, help="PNG [RESULTS_DIR/<sequence>-out-of-range.png]")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    backend = OnnxRuntimeBackend(model_path(args.model))
    sequence = backend.contract.sequence
    subject, made = conditions(args.work, sequence)
    volumes = args.work / "out-of-range"
    volumes.mkdir(parents=True, exist_ok=True)
    with_anatomy = anatomy_slices(np.asarray(made[0][1].dataobj), SLICE_AXIS)
    k = int(with_anatomy[int(LEVEL * (len(with_anatomy) - 1))])  # the same slice in every column
    rows, records, columns, outputs = [], {}, [], {}
    for index, (condition, image) in enumerate(made):
        output, records[condition] = enhanced(backend, image, volumes / str(index))
        r = records[condition]
        rows.append([condition, f"{r['r2']:.3f}", f"{100 * r['departing']:.2f}", f"{r['slice_min']:.3f}",
                     f"{r['slice_median']:.3f}", r["slices_judged"]])
        # every volume as the in-range one is stored, so that the columns and the RAS output compare
        source, outputs[condition] = (turned_back(i, made[0][1]) for i in (image, output))
        columns.append((f"{condition}: {r['r2']:.3f}", source[:, :, k], outputs[condition][:, :, k]))
        logging.info("%s: %s", condition, rows[-1][1:])
    back = outputs[HELDOUT]
    difference = np.abs(outputs[RAS] - back).max() / np.abs(back).max()
    print(f"\n{sequence} model {backend.contract.model_id}, held-out {subject}, montage slice {k}\n")
    print(markdown_table(["input", "R²", "departing (%)", "lowest slice", "median slice", "slices judged"], rows))
    print(f"\n{RAS}: largest difference from the PLS output, turned back: {difference:.2e} of its maximum")
    out = args.out or RESULTS_DIR / f"{sequence.lower()}-out-of-range.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    montage(columns).save(out)
    path = write_record("out_of_range_montage", {"model": backend.contract.model_id, "subject": subject,
                                                 "slice": k, "conditions": records,
                                                 "ras_difference": difference},
                        results_dir=args.results)
    print(f"montage: {out}\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "out_of_range_montage")
