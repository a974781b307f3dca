"""The unit's SystemCallFilter= must allow every system call the CPU inference path makes.

systemd answers a filtered call with EPERM (SystemCallErrorNumber=), which a library may swallow
silently, so the check is on the calls themselves, traced with strace. The CUDA/TensorRT path is only
verifiable on a Jetson (docs/jetson.md).
"""

from __future__ import annotations

import os
import subprocess
import sys

from lohires_edge.service.install import UNIT_NAME, source_dir
from tests.service.syscalls import allowed_calls, strace_command, traced_calls

INFERENCE = """
import sys
import numpy as np
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.inference import enhance_slices
slices = np.random.default_rng(5).integers(0, 4000, (3, 40, 36)).astype(np.uint16)
print(len(enhance_slices(OnnxRuntimeBackend(sys.argv[1]), list(slices))))
"""
# SQLite inside ONNX Runtime chowns its database to the caller only when that caller is root, as this
# test may be; the service never runs as root.
ROOT_ONLY = {"fchown"}


def test_cpu_inference_makes_only_allowed_system_calls(tiny_model, tmp_path):
    allowed = allowed_calls(source_dir() / UNIT_NAME)
    trace = tmp_path / "strace.txt"
    env = {**os.environ, "HOME": str(tmp_path)}  # the service's HOME is its state directory
    result = subprocess.run([*strace_command(trace), sys.executable, "-c", INFERENCE, str(tiny_model)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "3", result.stderr
    used = traced_calls(trace)
    assert {"openat", "mmap", "read"} <= used  # the trace saw the run
    forbidden = used - allowed - (ROOT_ONLY if os.geteuid() == 0 else set())
    assert forbidden == set()
