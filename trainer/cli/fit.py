"""`lohires-train fit`: train the GAN for one sequence."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.contract import SEQUENCES
GENERATORS = ("edge", "seed")


@click.command("fit")
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sequence", required=True, type=click.Choice(SEQUENCES), help="Sequence to train.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run directory.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=8, show_default=True)
@click.option("--steps-per-epoch", type=click.IntRange(1), help="Default: one pass over the training slices.")
@click.option("--generator", "preset", type=click.Choice(GENERATORS), default="edge", show_default=True,
              help="Generator preset: edge (16 filters, depth 5, 2 residual blocks) or seed (64, 6, 4).")
@click.option("--base-filters", type=click.IntRange(1), help="Override the preset's base filters.")
@click.option("--upsampling", type=click.Choice(("transpose", "resize")),
              help="Override the preset's decoder upsampling: transpose (4x4 stride-2 transposed convolution) or "
                   "resize (nearest-neighbour doubling + 3x3 convolution, no checkerboard texture).")
@click.option("--full-resolution-filters", type=click.IntRange(0),
              help="Override the preset's full-resolution level: N channels at the input's resolution before the "
                   "output (0 = none, the seed's U-Net); lets a residual generator remove pixel-scale noise.")
@click.option("--size", type=click.IntRange(8), default=256, show_default=True,
              help="Model grid (slices are mapped to SIZE x SIZE); divisible by 2**depth.")
@click.option("--headroom", type=click.FloatRange(1.0), default=1.0, show_default=True,
              help="The intensity window (0.5-99.5 percentiles) fills 1/H of the model's range, so brighter "
                   "voxels are not clipped: 2 for FLAIR, whose lesions are its brightest voxels. 1 = clip at "
                   "the window.")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True),
              help="Adam learning rate [5e-4, measured: docs/training.md].")
@click.option("--decay-epochs", type=click.IntRange(0), default=0, show_default=True,
              help="Let the learning rate fall linearly towards zero over the last N epochs up to --epochs; "
                   "0 = constant. Given again with --resume, it anneals a run trained at a constant rate.")
@click.option("--l1-weight", type=click.FloatRange(0), default=100.0, show_default=True, help="lambda of L1.")
@click.option("--ssim-weight", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Weight of an extra (1 - SSIM) term; 0 = off.")
@click.option("--frequency-weight", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Weight of an extra FFT-magnitude L1 term; 0 = off.")
@click.option("--consistency-weight", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Weight of a data-consistency term: the output's local variance, at about the 64 mT "
                   "resolution, that no linear function of its input explains, the input's noise aside "
                   "(structure the input lacks); 0 = off.")
@click.option("--disc-filters", type=click.IntRange(1),
              help="PatchGAN discriminator base filters [the generator's base filters, as pix2pix pairs 64/64].")
@click.option("--max-subjects", type=click.IntRange(1), help="Use at most N subjects.")
@click.option("--resume", is_flag=True, help="Continue from the run directory's last checkpoint.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(data: Path, sequence: str, out: Path, epochs: int, batch_size: int, steps_per_epoch: int | None,
            preset: str, base_filters: int | None, upsampling: str | None,
            full_resolution_filters: int | None, size: int, headroom: float, learning_rate: float | None,
            decay_epochs: int, l1_weight: float, ssim_weight: float, frequency_weight: float,
            consistency_weight: float, disc_filters: int | None, max_subjects: int | None, resume: bool, seed: int,
            quiet: bool) -> None:
    """Train on DATA/Low_field -> DATA/High_field pairs of one sequence into the run directory OUT.

    With --resume the run's recorded model, mapping and loss settings are used and training continues
    from its last checkpoint up to --epochs.
    """
    import dataclasses

    from lohires_edge.errors import LohiresError
    from lohires_edge.slice_mapping import MappingParams
    from trainer.losses import LossWeights
    from trainer.models import EDGE_CONFIG, SEED_CONFIG
    from trainer.training import DEFAULT_LEARNING_RATE, FitRequest, fit

    generator = EDGE_CONFIG if preset == "edge" else SEED_CONFIG
    if base_filters:
        generator = dataclasses.replace(generator, base_filters=base_filters)
    if upsampling:
        generator = dataclasses.replace(generator, upsampling=upsampling)
    if full_resolution_filters is not None:
        generator = dataclasses.replace(generator, full_resolution_filters=full_resolution_filters)
    try:  # click's FloatRange lets nan and inf through; the mapping's own rule refuses them
        mapping = MappingParams(size=size, headroom=headroom)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--headroom") from None
    if size % 2 ** generator.depth:
        raise LohiresError(f"--size {size} is not divisible by 2**{generator.depth} (the {preset} generator's "
                           f"depth); use e.g. {2 ** generator.depth * max(1, round(size / 2 ** generator.depth))}")
    best = fit(FitRequest(
        data=data, sequence=sequence, out=out, generator=generator, mapping=mapping,
        epochs=epochs, batch_size=batch_size, steps_per_epoch=steps_per_epoch,
        discriminator_filters=disc_filters or generator.base_filters,
        losses=LossWeights(l1=l1_weight, ssim=ssim_weight, frequency=frequency_weight,
                           consistency=consistency_weight),
        learning_rate=learning_rate or DEFAULT_LEARNING_RATE, decay_epochs=decay_epochs, max_subjects=max_subjects,
        resume=resume, seed=seed, progress=not quiet))
    if best:
        click.echo(f"best epoch {best['epoch']}: validation SSIM {best['ssim']:.4f}, L1 {best['l1']:.4f}; "
                   f"run in {out}")
