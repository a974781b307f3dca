"""How every benchmark reports: a Markdown table on stdout and a JSON record under benchmarks/results/.

The record carries the command, the machine and its load average, so a figure quoted later can be
traced to the run and the conditions it came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import onnxruntime

from lohires_edge.errors import LohiresError

RESULTS_DIR = Path(__file__).resolve().parent / "results"
WORK_DIR = RESULTS_DIR / "work"  # simulated data, INT8 models: what a benchmark makes once and reuses


def add_output_arguments(parser: argparse.ArgumentParser, work_help: str | None = "simulated data",
                         work_dir: Path = WORK_DIR, results: bool = True) -> None:
    """The options of the benchmarks that simulate data or write a record, as one group: --work (what it
    makes and reuses, described by `work_help`; left out when None) and --results (where its JSON record
    goes; left out when False)."""
    group = parser.add_argument_group("files")
    if work_help is not None:
        group.add_argument("--work", type=Path, default=work_dir, help=f"{work_help} [%(default)s]")
    if results:
        group.add_argument("--results", type=Path, default=RESULTS_DIR,
                           help="where the JSON record goes [%(default)s]")


def machine() -> dict[str, Any]:
    """What the figures depend on: CPUs this process may use, processor, library versions, load."""
    return {"cpus": len(os.sched_getaffinity(0)), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "numpy": np.__version__, "onnxruntime": onnxruntime.__version__,
            "load_average": os.getloadavg()}


def command_line() -> str:
    """How this process was started, as `python -m benchmarks.<script> ...` when it was run with -m."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    head = ["-m", spec.name] if spec is not None else sys.argv[:1]
    return " ".join([Path(sys.executable).name, *head, *sys.argv[1:]])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; floats are printed with 3 significant decimals unless already formatted."""
    def cell(value: Any) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_record(name: str, payload: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """`payload` plus the command and machine as `<results_dir>/<name>.json`; returns the path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    record = {"command": command_line(), "machine": machine(), **payload}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def run_script(main: Callable[[], int], name: str) -> None:
    """Run a benchmark's main: an expected failure (bad input, missing runtime) ends with one line, exit 1."""
    try:
        sys.exit(main())
    except LohiresError as exc:
        sys.exit(f"{name}: {exc}")
