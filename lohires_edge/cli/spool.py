"""`lohires-edge spool`: look at and recover the node's on-disk spool."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.support import not_landed

_config_option = click.option("--config", "config_path", required=True,
                              type=click.Path(exists=True, dir_okay=False, path_type=Path),
                              help="Node configuration (TOML) naming the spool.")


@click.group("spool")
def command() -> None:
    """Inspect the node's spool and re-send what failed."""


@command.command("status")
@_config_option
def status(config_path: Path) -> None:
    """Count instances waiting, in progress, failed and quarantined."""
    raise not_landed("spool status", "DICOM node")


@command.command("retry")
@_config_option
def retry(config_path: Path) -> None:
    """Move failed deliveries back to the outgoing queue so the node sends them again."""
    raise not_landed("spool retry", "DICOM node")
