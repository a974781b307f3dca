"""benchmarks/round_trip.py end to end on a tiny model and tiny series, with real dcmtk peers and a real node:
every N gets its derived series back, the figures are consistent with each other, and nothing is left
running or on disk afterwards."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks import round_trip
from benchmarks.linear_fit import fit_line
from tests.conftest import require_programs
from trainer.simulate import simulate_dataset

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]


def temp_dirs() -> set[Path]:
    tmp = Path(tempfile.gettempdir())
    return {*tmp.glob("lohires-round-trip-*"), *tmp.glob("lohires-receive-*")}


def test_round_trip_reports_every_n_and_cleans_up(tiny_model: Path, tmp_path: Path, monkeypatch) -> None:
    require_programs("storescu", "storescp")
    # A temporary folder of its own: other runs on this machine create and remove theirs in /tmp meanwhile.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    simulate_dataset(tmp_path / "data", 1, sequences=("T1",), seed=5, dicom_dir=tmp_path / "dicom", size="small")
    series = next((tmp_path / "dicom").iterdir())

    handler = signal.getsignal(signal.SIGTERM)
    assert round_trip.main(["--model", str(tiny_model), "--series", str(series), "--counts", "3,6",
                            "--receive-count", "4", "--receive-repeats", "1", "--results", str(tmp_path)]) == 0

    record = json.loads((tmp_path / "round_trip.json").read_text())
    assert [row["slices"] for row in record["rows"]] == [3, 6]
    for row in record["rows"]:
        assert row["per_slice_s"] == pytest.approx(row["total_s"] / row["slices"])
        assert row["ratio"] == pytest.approx(row["total_s"] / (row["inference_per_slice_s"] * row["slices"]))
        assert row["node_peak_rss_mib"] > 50  # a Python process with ONNX Runtime loaded
        assert row["worker_slices"] == row["slices"]  # the node's log has one event=enhanced per slice
        assert row["worker_latency_median_s"] > 0
        assert set(row["steps_median_s"]) == {"prepare", "infer", "finish"}
        assert all(seconds > 0 for seconds in row["steps_median_s"].values())
    # the fit is of these rows (its sign is not asserted: with a tiny model the totals are mostly noise)
    assert record["fit"] == fit_line([3, 6], [row["total_s"] for row in record["rows"]]).to_dict()
    assert record["receive"]["slices"] == 4 and record["receive"]["ratio"] > 0
    assert record["receive"]["bare_pynetdicom_ratio"] > 0
    assert temp_dirs() == set()  # temp series, spools and received files removed
    assert signal.getsignal(signal.SIGTERM) is handler  # its SIGTERM handler does not outlive it


def test_a_missing_model_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.round_trip", "--model", str(tmp_path / "none.onnx")],
                            capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"round_trip: model {tmp_path / 'none.onnx'} does not exist; "
                                                  "pass the path of an exported ONNX model"]
