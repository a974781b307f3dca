"""The contract's verbs exist, bad usage exits 2, and expected failures are one line with exit code 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.loopback.peers import program
from lohires_edge import __version__
from tests.edge.fixed_model import write_fixed_model
from tests.edge.phantom_volumes import phantom_volume, write_nifti

EDGE_VERBS = ["enhance", "quantize", "build-engine", "serve", "spool", "bench", "install-service"]
TRAIN_VERBS = ["simulate", "fit", "evaluate", "export"]


def run(name: str, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([program(name), *map(str, args)], capture_output=True, text=True)


def listed_commands(help_text: str) -> list[str]:
    return sorted(line.split()[0] for line in help_text.split("Commands:")[1].splitlines() if line.strip())


@pytest.mark.parametrize("name,verbs", [("lohires-edge", EDGE_VERBS), ("lohires-train", TRAIN_VERBS)])
def test_help_lists_every_contract_verb(name, verbs):
    result = run(name, "--help")
    assert result.returncode == 0 and result.stderr == ""
    assert listed_commands(result.stdout) == sorted(verbs)


@pytest.mark.parametrize("name", ["lohires-edge", "lohires-train"])
def test_version_names_the_program_and_the_package_version(name):
    assert run(name, "--version").stdout == f"{name}, version {__version__}\n"


def test_spool_has_exactly_status_and_retry():
    result = run("lohires-edge", "spool", "--help")
    assert result.returncode == 0 and listed_commands(result.stdout) == ["retry", "status"]


@pytest.mark.parametrize("name,args,missing", [("lohires-edge", ["enhance"], "INPUT"),
                                               ("lohires-edge", ["quantize"], "MODEL"),
                                               ("lohires-train", ["fit"], "DATA")])
def test_bad_usage_exits_2_and_names_what_is_wrong(name, args, missing):
    result = run(name, *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == f"Error: Missing argument '{missing}'."


def test_unreadable_model_is_one_line_naming_the_file_not_a_traceback(tmp_path):
    bogus = tmp_path / "broken.onnx"
    bogus.write_bytes(b"garbage")
    result = run("lohires-edge", "bench", "--model", bogus, "--slices", "1")
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: {bogus} is not a readable ONNX model (")


def test_an_os_error_is_one_line_naming_the_path_and_nothing_is_written(tmp_path):
    """A file where the output's folder should be: the user's environment, reported as such."""
    model = write_fixed_model(tmp_path / "fixed-t1.onnx")
    calib = write_nifti(tmp_path / "POCEMR000_T1.nii.gz", phantom_volume(rows=32, cols=32, slices=8))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    before = sorted(tmp_path.iterdir())
    result = run("lohires-edge", "quantize", model, "--calib", calib, "-o", blocker / "q.onnx",
                 "--calib-slices", "4", "--holdout-slices", "2")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: File exists: {blocker}"]
    assert sorted(tmp_path.iterdir()) == before


def test_quantize_writes_its_model_and_reports_on_one_line(tmp_path):
    model = write_fixed_model(tmp_path / "fixed-t1.onnx")
    calib = write_nifti(tmp_path / "POCEMR000_T1.nii.gz", phantom_volume(rows=32, cols=32, slices=8))
    out = tmp_path / "out" / "q.onnx"
    result = run("lohires-edge", "quantize", model, "--calib", calib, "-o", out, "--calib-slices", "4",
                 "--holdout-slices", "2")
    assert result.returncode == 0, result.stderr
    # onnxruntime's calibrator prints its progress to stdout first; our report is the last line
    assert result.stdout.splitlines()[-1].startswith(f"wrote {out}: INT8 vs FP32 on 2 held-out slices: PSNR ")
    assert sorted(p.name for p in out.parent.iterdir()) == ["q.onnx"]  # no temporary files left behind


@pytest.mark.parametrize("cli,unwanted", [("lohires_edge.cli", ("tensorflow", "keras", "tf2onnx", "trainer")),
                                          ("trainer.cli", ("pynetdicom", "onnxruntime", "tensorflow"))])
def test_each_cli_imports_only_its_own_half(cli, unwanted):
    code = f"import sys, {cli}; print(sorted({{m.split('.')[0] for m in sys.modules}} & set({unwanted!r})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[1])
    assert result.stdout.strip() == "[]"
