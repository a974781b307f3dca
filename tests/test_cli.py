"""The contract's verbs exist, and expected failures are one line with exit code 1."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from lohires_edge.cli import main as edge_main
from tests.conftest import program
from trainer.cli import main as train_main

EDGE_VERBS = ["enhance", "quantize", "build-engine", "serve", "spool", "bench", "install-service"]
TRAIN_VERBS = ["simulate", "fit", "evaluate", "export"]


@pytest.mark.parametrize("name,verbs", [("lohires-edge", EDGE_VERBS), ("lohires-train", TRAIN_VERBS)])
def test_help_lists_every_contract_verb(name, verbs):
    out = subprocess.run([program(name), "--help"], capture_output=True, text=True, check=True).stdout
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert sorted(listed) == sorted(verbs)


def test_spool_has_status_and_retry():
    result = CliRunner().invoke(edge_main, ["spool", "--help"])
    assert result.exit_code == 0 and "status" in result.output and "retry" in result.output


def test_bad_usage_exits_2():
    assert CliRunner().invoke(edge_main, ["enhance"]).exit_code == 2
    assert CliRunner().invoke(train_main, ["fit"]).exit_code == 2


def test_unreadable_model_is_one_line_not_a_traceback(tmp_path):
    bogus = tmp_path / "broken.onnx"
    bogus.write_bytes(b"garbage")
    result = subprocess.run([program("lohires-edge"), "bench", "--model", str(bogus), "--slices", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_edge_cli_starts_without_tensorflow():
    code = "import sys; from lohires_edge.cli import main; print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
