"""`lohires-train evaluate`: per-subject metrics CSV of a run or an exported ONNX model."""

from __future__ import annotations

from pathlib import Path

import click

from lohires_edge.contract import SEQUENCES


@click.command("evaluate")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sequence", required=True, type=click.Choice(SEQUENCES))
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--outputs", type=click.Path(file_okay=False, path_type=Path), help="Write enhanced NIfTI here.")
def command(model: Path, data: Path, sequence: str, csv_path: Path, outputs: Path | None) -> None:
    """Evaluate MODEL (a run directory or an ONNX file) on the pairs in DATA.

    Writes CSV (the model against 3 T, the seed's columns), CSV's *_input twin (the untouched 64 mT
    input against 3 T) and *_medical (SNR, CNR, ... of enhanced, input and reference).
    """
    from trainer.evaluation import evaluate_subject, open_model, summary, write_csvs
    from trainer.pairs import check_grids, find_pairs

    backend = open_model(model, sequence)
    pairs = find_pairs(data, sequence)
    check_grids(pairs)
    results = []
    with click.progressbar(pairs, label="evaluating", item_show_func=lambda p: p.subject if p else "") as bar:
        for pair in bar:
            results.append(evaluate_subject(backend, pair, outputs))
    for path in write_csvs(results, csv_path):
        click.echo(f"wrote {path}")
    click.echo(summary(results))

