"""Options several `lohires-edge` verbs take, defined once (as Polygraphy's argument groups are).

Each is a decorator; a verb passes only the help text that is its own, so names, types, choices and
defaults cannot drift apart between verbs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import click

from lohires_edge.backends.names import ALL_BACKENDS, BACKENDS
from lohires_edge.engine_store import DEFAULT_STORE
from lohires_edge.quantization import DEFAULT_CALIBRATION_SLICES

F = TypeVar("F", bound=Callable[..., object])


def model_option(help_text: str) -> Callable[[F], F]:
    """--model: an ONNX model file that exists."""
    return click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        help=help_text)


def backend_option(help_text: str, with_all: bool = False) -> Callable[[F], F]:
    """--backend: one of the backend names (plus "all", the default, where a verb measures every one)."""
    choices = [*BACKENDS, ALL_BACKENDS] if with_all else list(BACKENDS)
    default = ALL_BACKENDS if with_all else "auto"
    return click.option("--backend", type=click.Choice(choices), default=default, show_default=True,
                        help=help_text)


def config_option(help_text: str) -> Callable[[F], F]:
    """--config: the node's TOML configuration file, which must exist."""
    return click.option("--config", "config_path", required=True,
                        type=click.Path(exists=True, dir_okay=False, path_type=Path), help=help_text)


def engines_option(help_text: str) -> Callable[[F], F]:
    """--engines: the engine store folder, by default the library's."""
    return click.option("--engines", "engines_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=DEFAULT_STORE, show_default=True, help=help_text)


calib_slices_option = click.option("--calib-slices", type=click.IntRange(1),
                                   default=DEFAULT_CALIBRATION_SLICES, show_default=True,
                                   help="Slices that set the activation ranges.")
