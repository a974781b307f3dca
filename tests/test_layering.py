"""The layers of DESIGN.md: lohires_edge imports neither TensorFlow nor trainer; benchmarks never import tests."""

import ast
import subprocess
import sys
from pathlib import Path

import lohires_edge

ROOT = Path(__file__).parents[1]

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


def imported_modules(source: Path) -> set[str]:
    """Every module a Python file imports, at any depth of its code."""
    tree = ast.parse(source.read_text(), filename=str(source))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_benchmark_imports_tests():
    sources = sorted((ROOT / "benchmarks").rglob("*.py"))
    assert len(sources) >= 10, "the walk found too few benchmark modules to mean anything"
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "tests")
                 for p in sources}
    assert {path: found for path, found in offenders.items() if found} == {}
