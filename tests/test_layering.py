"""The edge box has no TensorFlow: lohires_edge and every module in it must import without it."""

import subprocess
import sys
from pathlib import Path

import lohires_edge

CHECK = """
import importlib, pkgutil, sys
import lohires_edge
names = [m.name for m in pkgutil.walk_packages(lohires_edge.__path__, "lohires_edge.")]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "trainer"))
print(len(names), " ".join(bad))
"""


def test_lohires_edge_never_imports_tensorflow_or_trainer():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    count, _, bad = result.stdout.strip().partition(" ")
    assert int(count) >= 10, "the walk found too few modules to mean anything"
    assert bad == "", f"lohires_edge pulled in: {bad}"


def test_no_source_in_lohires_edge_mentions_trainer_imports():
    root = Path(lohires_edge.__file__).parent
    offenders = [str(p) for p in root.rglob("*.py")
                 if any(line.lstrip().startswith(("import trainer", "from trainer", "import tensorflow",
                                                   "from tensorflow"))
                        for line in p.read_text().splitlines())]
    assert offenders == []
