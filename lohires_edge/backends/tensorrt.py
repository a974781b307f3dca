"""TensorRT backend: a serialized engine from the engine store, run with pycuda buffers on one CUDA stream.

tensorrt and pycuda are imported only when this backend is used: they exist on the Jetson (JetPack's
python3-libnvinfer, and pycuda from the `trt` extra), not on every box. I/O goes through the tensor-name
API (num_io_tensors, set_input_shape, set_tensor_address, execute_async_v3), which TensorRT 8.5+ and 10.x
share, so JetPack 6.0 (TensorRT 8.6) and 6.1+ (TensorRT 10.3) run the same code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lohires_edge.backends.base import Backend, BackendUnavailable
from lohires_edge.contract import ModelContract
from lohires_edge.engine_store import Platform, check_platform, read_manifest

log = logging.getLogger(__name__)

TENSORRT_HINT = "install JetPack's python3-libnvinfer (TensorRT's Python bindings)"
PYCUDA_HINT = "install pycuda with `pip install .[trt]`"
WITHOUT = "on a box without it, run models with --backend onnxruntime"


def import_tensorrt() -> ModuleType:
    try:
        import tensorrt
    except ImportError:
        raise BackendUnavailable(f"TensorRT is not installed here: {TENSORRT_HINT}; {WITHOUT}") from None
    return tensorrt


def import_pycuda() -> Any:
    """pycuda's driver module, initialized; BackendUnavailable without pycuda or without a GPU."""
    try:
        import pycuda.driver as cuda
    except ImportError:
        raise BackendUnavailable(f"pycuda is not installed here: {PYCUDA_HINT}; {WITHOUT}") from None
    try:
        cuda.init()
        count = cuda.Device.count()
    except cuda.Error as exc:
        raise BackendUnavailable(f"no usable CUDA driver here ({exc}): TensorRT needs an NVIDIA GPU; {WITHOUT}") \
            from None
    if count == 0:
        raise BackendUnavailable(f"no NVIDIA GPU here: TensorRT needs one; {WITHOUT}")
    return cuda


def detect_platform() -> Platform:
    """This box's TensorRT version and GPU (device 0); BackendUnavailable where either is missing."""
    trt = import_tensorrt()
    cuda = import_pycuda()
    device = cuda.Device(0)
    major, minor = device.compute_capability()
    driver = cuda.get_driver_version()  # e.g. 12020 for CUDA 12.2
    return Platform(tensorrt_version=trt.__version__, gpu_name=device.name(), compute_capability=f"{major}.{minor}",
                    cuda_version=f"{driver // 1000}.{driver % 1000 // 10}")


class TensorRTBackend(Backend):
    """Runs a serialized engine; batches up to the engine's optimization-profile maximum."""

    def __init__(self, plan: bytes, contract: ModelContract, max_batch: int, label: str = "engine") -> None:
        trt = import_tensorrt()
        cuda = import_pycuda()
        self._cuda = cuda
        self._context_handle = cuda.Device(0).retain_primary_context()
        self._context_handle.push()
        try:
            self._logger = trt.Logger(trt.Logger.WARNING)
            self._runtime = trt.Runtime(self._logger)
            self._engine = self._runtime.deserialize_cuda_engine(plan)
            if self._engine is None:
                raise BackendUnavailable(f"TensorRT could not load {label} (see its log above); rebuild it here "
                                         "with `lohires-edge build-engine`")
            self._execution = self._engine.create_execution_context()
            names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
            inputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
            outputs = [n for n in names if self._engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
            if len(inputs) != 1 or len(outputs) != 1:
                raise BackendUnavailable(f"{label} has {len(inputs)} inputs and {len(outputs)} outputs, expected "
                                         "one of each; rebuild it from a lohires model")
            self._input, self._output = inputs[0], outputs[0]
            self.contract = contract
            self.max_batch = max_batch
            self.name = "tensorrt"
            size = contract.input_size
            full = (max_batch, 1, size, size) if contract.layout == "NCHW" else (max_batch, size, size, 1)
            self._host_in = cuda.pagelocked_empty(full, trt.nptype(self._engine.get_tensor_dtype(self._input)))
            self._host_out = cuda.pagelocked_empty(full, trt.nptype(self._engine.get_tensor_dtype(self._output)))
            self._device_in = cuda.mem_alloc(self._host_in.nbytes)
            self._device_out = cuda.mem_alloc(self._host_out.nbytes)
            self._stream = cuda.Stream()
            self._execution.set_tensor_address(self._input, int(self._device_in))
            self._execution.set_tensor_address(self._output, int(self._device_out))
        finally:
            self._context_handle.pop()

    @classmethod
    def from_file(cls, plan_path: Path) -> TensorRTBackend:
        """Load an engine from the store, refusing one built for another TensorRT version or GPU."""
        plan_path = Path(plan_path)
        manifest = read_manifest(plan_path)
        check_platform(manifest, detect_platform(), plan_path)
        log.info("loading TensorRT engine %s (%s, max batch %d)", plan_path.name, manifest.precision,
                 manifest.max_batch)
        return cls(plan_path.read_bytes(), manifest.contract, manifest.max_batch, label=str(plan_path))

    def run(self, batch: np.ndarray) -> np.ndarray:
        n = len(batch)
        if not 1 <= n <= self.max_batch:
            raise ValueError(f"batch of {n} slices; this engine takes 1..{self.max_batch}")
        cuda = self._cuda
        self._context_handle.push()
        try:
            host_in = self._host_in[:n]
            host_in[...] = self.to_model_layout(batch)
            if not self._execution.set_input_shape(self._input, host_in.shape):
                raise ValueError(f"the engine rejected input shape {host_in.shape}")
            out_shape = tuple(self._execution.get_tensor_shape(self._output))
            host_out = self._host_out[:n]
            cuda.memcpy_htod_async(self._device_in, host_in, self._stream)
            if not self._execution.execute_async_v3(self._stream.handle):
                raise RuntimeError("TensorRT failed to run the engine (see its log)")
            cuda.memcpy_dtoh_async(host_out, self._device_out, self._stream)
            self._stream.synchronize()
            output = np.array(host_out, dtype=np.float32).reshape(out_shape)
        finally:
            self._context_handle.pop()
        return self.from_model_layout(output)

    def close(self) -> None:
        if self._engine is None:
            return
        self._context_handle.push()
        try:
            self._device_in.free()
            self._device_out.free()
            self._execution = self._engine = None
        finally:
            self._context_handle.pop()
