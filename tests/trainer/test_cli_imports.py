"""`lohires-train --help` and `simulate` must not pay for importing TensorFlow."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import trainer.cli
from click.testing import CliRunner
for verb in ("fit", "evaluate", "export"):
    assert CliRunner().invoke(trainer.cli.main, [verb, "--help"]).exit_code == 0
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx")))
"""


def test_the_cli_loads_without_tensorflow() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
