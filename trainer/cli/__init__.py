"""`lohires-train`: simulate paired data, fit the GAN, evaluate it, export it to ONNX."""

from __future__ import annotations

import os

import click

from lohires_edge import __version__
from lohires_edge.command_line import ErrorReportingGroup, configure_logging, verbosity_option

# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) buries our progress output; errors still show.
# Set before any verb module can import TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from trainer.cli import evaluate, export, fit, simulate  # noqa: E402


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lohires-train")
@verbosity_option
def main(verbose: int) -> None:
    """Train LoHiResGAN (64 mT -> 3 T) on a workstation and export it for the edge.

    Typical order: simulate (or bring paired NIfTI data) -> fit -> evaluate -> export.
    """
    configure_logging(verbose)


for _verb in (simulate, fit, evaluate, export):
    main.add_command(_verb.command)
