"""dcmtk's programs are found with the virtualenv first on PATH, where pynetdicom's same-named scripts are."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.loopback.peers import DEST_AE, dcmtk, free_port, storescp
from lohires_edge.dicom.dcmtk import dcmtk_program
from tests.conftest import require_dcmtk

PEER_PROGRAMS = ("storescu", "storescp", "echoscu")


@pytest.mark.dcmtk
def test_dcmtk_is_found_behind_the_virtualenvs_same_named_scripts(monkeypatch, tmp_path):
    require_dcmtk(*PEER_PROGRAMS)
    venv_bin = Path(sys.executable).parent
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in PEER_PROGRAMS:
        assert shutil.which(name) == str(venv_bin / name), "pynetdicom's script should shadow dcmtk here"
        found = dcmtk(name)
        assert Path(found).parent != venv_bin
    port = free_port()
    with storescp(port, tmp_path / "received"):  # started through the resolver too
        echo = subprocess.run([dcmtk("echoscu"), "-aec", DEST_AE, "127.0.0.1", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert echo.returncode == 0, echo.stderr


def test_a_path_without_dcmtk_resolves_to_nothing():
    assert dcmtk_program("storescu", path=str(Path(sys.executable).parent)) is None
