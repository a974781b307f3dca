"""One vocabulary: each shared word of issue 17 is defined in one file of the shipped code, and used by name.

Scanned: every module of lohires_edge and trainer, as tokens (string literals, assignment targets, imports),
so prose in docstrings and comments does not count.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SOURCES = sorted(p for package in ("lohires_edge", "trainer") for p in (ROOT / package).rglob("*.py"))

# word -> the one file that may spell it out
LITERALS = {"Low_field": "lohires_edge/dataset_layout.py", "High_field": "lohires_edge/dataset_layout.py",
            "POCEMR": "lohires_edge/dataset_layout.py", "engines": "lohires_edge/engine_store.py",
            "check_slices.npy": "trainer/run_dir.py"}
DEFINITIONS = {"SEQUENCES": "lohires_edge/contract.py", "BACKENDS": "lohires_edge/backends/names.py",
               "SUBJECT_PREFIX": "lohires_edge/dataset_layout.py", "DEFAULT_STORE": "lohires_edge/engine_store.py"}
IMPORTS = {"tomli": "lohires_edge/toml_file.py", "tomllib": "lohires_edge/toml_file.py"}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def string_literals(path: Path) -> set[str]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    found = set()
    for token in tokens:
        if token.type == tokenize.STRING:
            try:
                found.add(ast.literal_eval(token.string))
            except (ValueError, SyntaxError):  # f-strings
                continue
    return found


def assigned_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {target.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)}


def imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
            for alias in node.names}


def test_the_scan_sees_the_code():
    assert len(SOURCES) >= 50


@pytest.mark.parametrize("word,home", LITERALS.items())
def test_a_shared_string_is_spelt_out_in_one_file(word, home):
    assert [relative(p) for p in SOURCES if word in string_literals(p)] == [home]


@pytest.mark.parametrize("name,home", DEFINITIONS.items())
def test_a_shared_constant_is_defined_in_one_file(name, home):
    assert [relative(p) for p in SOURCES if name in assigned_names(p)] == [home]


@pytest.mark.parametrize("module,home", IMPORTS.items())
def test_the_toml_shim_is_the_one_place_that_picks_a_parser(module, home):
    assert [relative(p) for p in SOURCES if module in imported_top_modules(p)] == [home]
