"""`lohires-edge spool`: look at and recover the node's on-disk spool."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.cli.options import config_option
from lohires_edge.errors import LohiresError
from lohires_edge.node.config import NodeConfig, load_config
from lohires_edge.node.spool import Spool

_config_option = config_option("Node configuration (TOML) naming the spool.")


@click.group("spool")
def command() -> None:
    """Inspect the node's spool and re-send what failed."""


@command.command("status")
@_config_option
def status(config_path: Path) -> None:
    """Count instances waiting, in progress, failed and quarantined."""
    counts = _existing_spool(load_config(config_path)).counts()
    click.echo(f"incoming (waiting for the model): {counts.incoming}")
    for name, count in counts.outgoing.items():
        click.echo(f"outgoing to {name}: {count}")
    for name, count in counts.failed.items():
        click.echo(f"failed for {name}: {count}")
    click.echo(f"quarantined (unprocessable): {counts.quarantine}")
    click.echo(f"spool size: {counts.bytes_used / 1024 ** 2:.1f} MiB")


@command.command("retry")
@_config_option
def retry(config_path: Path) -> None:
    """Move failed deliveries back to the outgoing queue so the node sends them again."""
    moved = _existing_spool(load_config(config_path)).retry_failed()
    click.echo(f"re-queued {moved} failed deliveries; a running node sends them within seconds")


def _existing_spool(config: NodeConfig) -> Spool:
    """The node's spool as it is on disk, creating nothing (these commands often run as root)."""
    if not config.spool_dir.is_dir():
        raise LohiresError(f"spool {config.spool_dir} does not exist yet; the node creates it when it first starts")
    return Spool(config.spool_dir, config.spool_quota_bytes, [d.name for d in config.destinations], create=False)
