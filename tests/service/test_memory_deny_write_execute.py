"""The unit sets MemoryDenyWriteExecute=yes: the CPU inference path must run under it.

systemd enforces it with a seccomp filter; here the kernel's own PR_SET_MDWE (Linux 6.3+) stands in for
it, which refuses the same writable-and-executable mappings (it is slightly more lenient about mprotect
on mappings that are already executable). CUDA and TensorRT under it are verified only on a Jetson.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.inference import enhance_slices

CHILD = """
import ctypes, mmap, sys
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    print("unsupported"); sys.exit(0)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("not enforced"); sys.exit(0)
except PermissionError:
    pass
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.inference import enhance_slices
slices = np.load(sys.argv[2])
out = enhance_slices(OnnxRuntimeBackend(sys.argv[1]), list(slices))
np.save(sys.argv[3], np.stack(out))
print("ran")
"""


def test_onnxruntime_inference_runs_under_memory_deny_write_execute(tiny_model, tmp_path):
    slices = np.random.default_rng(3).integers(0, 4000, (3, 40, 36)).astype(np.uint16)
    np.save(tmp_path / "in.npy", slices)
    result = subprocess.run([sys.executable, "-c", CHILD, str(tiny_model), str(tmp_path / "in.npy"),
                             str(tmp_path / "out.npy")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    if result.stdout.strip() != "ran":
        pytest.skip(f"PR_SET_MDWE {result.stdout.strip()} by this kernel (needs Linux 6.3+)")
    expected = np.stack(enhance_slices(OnnxRuntimeBackend(tiny_model), list(slices)))
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
