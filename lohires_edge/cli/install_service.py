"""`lohires-edge install-service`: put the systemd unit, user/tmpfiles snippets and example config in place."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lohires_edge.service.install import CONFIG_PATH, configured_port, install_service, next_steps, source_dir


@click.command("install-service")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"), show_default=True,
              help="Install under this folder instead of / (to build an image, or to look before installing).")
@click.option("--prefix", type=click.Path(file_okay=False, path_type=Path), default=Path(sys.prefix),
              show_default="the Python environment running this command",
              help="The venv holding lohires-edge; the unit runs PREFIX/bin/lohires-edge.")
@click.option("--source", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help=f"The systemd/ folder to install from  [default: {source_dir()}]")
def command(root: Path, prefix: Path, source: Path | None) -> None:
    """Install the systemd service (unit, sysusers.d, tmpfiles.d, example config); never overwrite a config.

    Run as root. A drop-in granting CAP_NET_BIND_SERVICE is added only when [node].port is below 1024.
    """
    for placed in install_service(root, prefix.absolute(), source):
        click.echo(f"{placed.action:8} {placed.path}")
    click.echo(next_steps(root, prefix.absolute(), configured_port(root / CONFIG_PATH)))
