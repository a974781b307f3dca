"""`lohires-edge enhance <folder>` on an Explicit VR Big Endian series: derived in little endian, no traceback."""

from __future__ import annotations

import shutil
import subprocess

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian

from benchmarks.loopback.peers import program


def test_enhance_converts_a_big_endian_series(tiny_model, tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    shutil.copy(get_testdata_file("MR_small_bigendian.dcm"), series / "slice.dcm")
    result = subprocess.run([program("lohires-edge"), "enhance", str(series), "-o", str(tmp_path / "out"),
                             "--model", str(tiny_model)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = dcmread(tmp_path / "out" / "slice.dcm")
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert out.pixel_array.shape == (out.Rows, out.Columns) and out.pixel_array.any()
