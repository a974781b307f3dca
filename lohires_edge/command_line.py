"""What both command-line tools share: one-line errors, logging set-up, the -v option.

It lives outside `lohires_edge.cli` so that `lohires-train` gets these pieces without importing the edge
verbs (and with them pynetdicom and ONNX Runtime).
"""

from __future__ import annotations

import logging
from typing import Any

import click

from lohires_edge.errors import LohiresError


class ErrorReportingGroup(click.Group):
    """A click group that reports expected failures as one line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LohiresError as exc:
            raise click.ClickException(_one_line(str(exc))) from None
        except OSError as exc:
            # Unreadable files, full disks, ports in use: the user's environment, not our bug.
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(_one_line(f"{exc.strerror or exc}{where}")) from None


def _one_line(message: str) -> str:
    """The contract says one line; a message may quote a library's multi-line text."""
    return " ".join(message.split())


def report_to_stderr(line: str) -> None:
    """Progress and side remarks go to stderr, so stdout holds only a verb's result."""
    click.echo(line, err=True)


def configure_logging(verbosity: int) -> None:
    """Log to stderr: warnings by default, info with -v, debug with -vv."""
    level = logging.WARNING - 10 * min(verbosity, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def verbosity_option(func: Any) -> Any:
    """-v/--verbose, counted: the argument `configure_logging` takes."""
    return click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")(func)
