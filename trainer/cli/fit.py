"""`lohires-train fit`: train the GAN for one sequence."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed


@click.command("fit")
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sequence", required=True, type=click.Choice(["T1", "T2", "FLAIR"]), help="Sequence to train.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True)
@click.option("--steps-per-epoch", type=click.IntRange(1), help="Default: one pass over the training slices.")
@click.option("--base-filters", type=click.IntRange(1), default=64, show_default=True)
@click.option("--max-subjects", type=click.IntRange(1), help="Use at most N subjects.")
@click.option("--resume", is_flag=True, help="Continue from the run directory's last checkpoint.")
@click.option("--seed", type=int, default=0, show_default=True)
def command(data: Path, sequence: str, out: Path, epochs: int, batch_size: int, steps_per_epoch: int | None,
            base_filters: int, max_subjects: int | None, resume: bool, seed: int) -> None:
    """Train on DATA/Low_field -> DATA/High_field pairs of one sequence into the run directory OUT."""
    raise not_landed("fit", "trainer")
