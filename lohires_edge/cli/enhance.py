"""`lohires-edge enhance`: one NIfTI volume or one DICOM series folder, enhanced."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.backends.selection import open_backend
from lohires_edge.cli.options import backend_option, engines_option, model_option
from lohires_edge.contract import SEQUENCES
from lohires_edge.dataset_layout import sequence_in_name
from lohires_edge.enhancement import enhance_path
from lohires_edge.errors import LohiresError
from lohires_edge.fidelity import VolumeFidelity


@click.command("enhance")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="NIfTI file (for a NIfTI input) or folder (for a DICOM series) to write.")
@model_option("ONNX model; default: the shipped model for the series' sequence.")
@click.option("--engine", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TensorRT engine (.plan) from build-engine, instead of --model.")
@backend_option("auto: a matching TensorRT engine, else ONNX Runtime CUDA, else CPU.")
@click.option("--sequence", type=click.Choice(SEQUENCES),
              help="Picks the shipped model when no --model is given (default: from a *_T1.nii.gz style name).")
@engines_option("Engine store searched by --backend auto/tensorrt.")
@click.option("--batch-size", type=click.IntRange(1, 256), default=8, show_default=True, help="Slices per batch.")
@click.option("--min-fidelity", type=click.FloatRange(0.0, 1.0), metavar="F",
              help="Exit 1, naming the slices, when a slice's fidelity to its input (R², 1.0 = faithful) is "
                   "below F; the output is still written, for inspection.")
def command(input_path: Path, output: Path, model: Path | None, engine: Path | None, backend: str,
            sequence: str | None, engines_dir: Path, batch_size: int, min_fidelity: float | None) -> None:
    """Enhance INPUT (a NIfTI file, or a folder holding one DICOM series) into OUTPUT."""
    if model is not None and engine is not None:
        raise click.UsageError("give --model or --engine, not both")
    if model is None and engine is None and sequence is None:
        sequence = sequence_in_name(input_path.name)
    with open_backend(model=model, engine=engine, backend=backend, engines_dir=engines_dir,
                      sequence=sequence) as runner:
        with _ProgressBar() as bar:
            report = enhance_path(runner, input_path, output, batch_size, bar.update)
    click.echo(f"enhanced {report.slices} slices with {runner.name} in {report.seconds:.2f} s "
               f"({report.ms_per_slice:.1f} ms/slice) -> {output}", err=True)
    click.echo(_fidelity_line(report.fidelity), err=True)
    if min_fidelity is not None:
        _check_fidelity(report.fidelity, min_fidelity, output)


def _fidelity_line(fidelity: VolumeFidelity) -> str:
    if fidelity.minimum is None:
        return "fidelity: no slice with anatomy to judge"
    return (f"fidelity (R² to the input, 1.0 = faithful): min {fidelity.minimum:.3f}, median "
            f"{fidelity.median:.3f} over {len(fidelity.judged)} slices with anatomy")


def _check_fidelity(fidelity: VolumeFidelity, threshold: float, output: Path) -> None:
    low = fidelity.below(threshold)
    if low:
        numbers = slice_ranges([i + 1 for i in low])
        raise LohiresError(f"fidelity below {threshold} in slice(s) {numbers} of {len(fidelity.scores)} "
                           f"(lowest {fidelity.minimum:.3f}): the output departs from its input there; it "
                           f"was written to {output} for inspection")


def slice_ranges(numbers: list[int]) -> str:
    """Ascending slice numbers as runs, "1-165, 173, 174": a volume whose every slice is low stays one line."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}, {b}" if b == a + 1 else f"{a}-{b}" for a, b in runs)


class _ProgressBar:
    """A click progress bar on stderr, opened once the number of slices is known."""

    def __init__(self) -> None:
        self._bar = None

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=total, label="enhancing", file=click.get_text_stream("stderr"))
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos)

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
