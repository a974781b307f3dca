"""`lohires-train simulate`: paired 64 mT / 3 T volumes (and scanner DICOM series) from MR physics."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lohires_edge.contract import SEQUENCES
from lohires_edge.dataset_layout import HIGH_FIELD_DIR, LOW_FIELD_DIR
from trainer.simulate import simulate_dataset
from trainer.simulate.dataset import REFERENCES, create_output_folders, parse_sequences
from trainer.simulate.geometry import SIZES


@click.command("simulate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--subjects", required=True, type=click.IntRange(1, 999), help="Number of simulated subjects.")
@click.option("--sequences", default=",".join(SEQUENCES), show_default=True,
              help="Comma-separated sequences.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same files.")
@click.option("--dicom-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each native 64 mT acquisition as a DICOM series here.")
@click.option("--size", type=click.Choice(sorted(SIZES)), default="full", show_default=True,
              help="full: 3 T grid 220 x 220 x 180 at 1 mm; each 64 mT acquisition draws 1.2-2.2 mm pixels "
                   "and 3-6 mm slices, and its 3 T reference is imaged through the same slices. "
                   "small: 64 x 64 x 52 voxels, for quick checks.")
@click.option("--reference", type=click.Choice(REFERENCES), default="3t", show_default=True,
              help="What High_field holds. 3t: the 3 T reference through the 64 mT slices. monotone: its "
                   "contrast mapped onto the 64 mT noise-free signal by the best non-decreasing map, where the "
                   "input's anatomy lies: a target with 3 T contrast and nothing the input does not hold "
                   "(no noise, no misregistration, no contrast reversal). monotone-brain: the same map fitted "
                   "on the brain alone, so a tissue whose contrast reverses between the fields (a FLAIR's "
                   "scalp fat) cannot pull the brain's contrast and lesions towards its own (lesions may stand "
                   "out more than at 3 T; docs/simulator.md). noise-free: the 64 mT noise-free signal itself, "
                   "a target with the input's own contrast (the model learns to denoise and sharpen only).")
def command(out: Path, subjects: int, sequences: str, seed: int, dicom_dir: Path | None, size: str,
            reference: str) -> None:
    """Write OUT/Low_field and OUT/High_field NIfTI pairs for N simulated subjects."""
    names = parse_sequences(sequences)
    create_output_folders(out, dicom_dir)  # before the progress bar: a bad destination is one line
    with click.progressbar(length=subjects * len(names), label="simulating", file=sys.stderr,
                           show_pos=True) as bar:
        written = simulate_dataset(out, subjects, names, seed=seed, dicom_dir=dicom_dir, progress=bar.update,
                                   size=size, reference=reference)
    click.echo(f"wrote {len(written)} pairs to {out / LOW_FIELD_DIR} and {out / HIGH_FIELD_DIR}"
               + (f", and {len(written)} DICOM series to {dicom_dir}" if dicom_dir else ""))
