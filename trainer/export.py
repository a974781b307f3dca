"""Generator -> self-describing ONNX model for the edge, checked against TensorFlow before it is written.

tf2onnx converts with a dynamic batch and a fixed H x W, NCHW at both ends (what TensorRT prefers:
no boundary transposes), at opset 17, which TensorRT 8.6 and 10.x both parse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from lohires_edge.atomic_file import atomic_path
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import ModelContract, write_contract
from lohires_edge.errors import LohiresError

OPSET = 17
PARITY_TOLERANCE = 1e-3


class ExportError(LohiresError):
    """The exported model does not reproduce the TensorFlow generator."""


def export_onnx(generator: tf.keras.Model, contract: ModelContract, path: Path,
                check_slices: np.ndarray) -> float:
    """Write `generator` to `path` with `contract` in its metadata; return the max |ONNX - TF| difference.

    `check_slices` are mapped slices, float32 (N, size, size); the file is written only if ONNX Runtime
    reproduces TensorFlow on them within PARITY_TOLERANCE.
    """
    size = contract.input_size
    if check_slices.ndim != 3 or check_slices.shape[1:] != (size, size) or len(check_slices) == 0:
        raise ValueError(f"check_slices must be (N, {size}, {size}), got {check_slices.shape}")
    contract = dataclasses.replace(contract, layout="NCHW")
    signature = (tf.TensorSpec((None, size, size, 1), tf.float32, name="lowfield"),)
    proto, _ = tf2onnx.convert.from_keras(generator, input_signature=signature, opset=OPSET,
                                          inputs_as_nchw=["lowfield"],
                                          outputs_as_nchw=[generator.output_names[0]])
    write_contract(proto, contract)
    onnx.checker.check_model(proto)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".onnx") as tmp:
        onnx.save(proto, str(tmp))
        expected = generator(check_slices[..., None], training=False).numpy()[..., 0]
        actual = OnnxRuntimeBackend(tmp).run(check_slices)
        difference = float(np.max(np.abs(actual - expected)))
        if difference > PARITY_TOLERANCE:
            raise ExportError(f"ONNX export differs from TensorFlow by {difference:.2e} (> {PARITY_TOLERANCE}); "
                              "the model was not written")
    return difference


def export_run(run: Path, path: Path, name: str | None = None, version: str | None = None) -> float:
    """Export a run's best generator with its contract; return the parity difference on its validation slices.

    The default version ends in a digest of the weights: derived DICOM UIDs and engine names hang on the
    model id, so two different trainings must never share one.
    """
    from trainer.run_dir import RunDir
    from trainer.training import rebuild_generator

    run_dir = RunDir(run)
    generator, config = rebuild_generator(run_dir)
    if version is None:
        digest = hashlib.sha256(run_dir.best_weights.read_bytes()).hexdigest()[:10]
        version = f"{config.model_version}+{digest}"
    contract = ModelContract(sequence=config.sequence, mapping=config.mapping_params,
                             model_name=name or config.model_name, model_version=version,
                             training_data=config.training_data(),
                             extra={"generator": json.dumps(config.generator, sort_keys=True)})
    return export_onnx(generator, contract, path, run_dir.read_check_slices())
