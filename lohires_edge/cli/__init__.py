"""`lohires-edge`: small verbs over the lohires_edge library, one module per verb."""

from __future__ import annotations

import click

from lohires_edge import __version__
from lohires_edge.cli import bench, build_engine, enhance, install_service, quantize, serve, spool
from lohires_edge.command_line import ErrorReportingGroup, configure_logging, verbosity_option


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lohires-edge")
@verbosity_option
def main(verbose: int) -> None:
    """Run LoHiResGAN on the edge box: enhance 64 mT MRI with ONNX Runtime or TensorRT,
    and serve it as a DICOM node beside the scanner.

    Typical order: quantize (optional) -> build-engine (Jetson) -> serve.
    `enhance` and `bench` work on any machine with the CPU runtime.
    """
    configure_logging(verbose)


for _verb in (enhance, quantize, build_engine, serve, spool, bench, install_service):
    main.add_command(_verb.command)
