"""`lohires-train simulate`: paired 64 mT / 3 T volumes (and scanner DICOM series) from MR physics."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("simulate")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--subjects", required=True, type=click.IntRange(1, 999), help="Number of simulated subjects.")
@click.option("--sequences", default="T1,T2,FLAIR", show_default=True, help="Comma-separated sequences.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed; same seed, same files.")
@click.option("--dicom-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each native 64 mT acquisition as a DICOM series here.")
def command(out: Path, subjects: int, sequences: str, seed: int, dicom_dir: Path | None) -> None:
    """Write OUT/Low_field and OUT/High_field NIfTI pairs for N simulated subjects."""
    raise not_landed("simulate", "simulator")
