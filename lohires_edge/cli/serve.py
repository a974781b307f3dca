"""`lohires-edge serve`: run the DICOM node described by a TOML config file."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.options import config_option
from lohires_edge.node.config import load_config
from lohires_edge.node.supervisor import serve


@click.command("serve")
@config_option("Node configuration (TOML).")
def command(config_path: Path) -> None:
    """Receive 64 mT series by C-STORE, enhance every slice, send derived series to the destinations."""
    serve(load_config(config_path))
