"""Which tf.distribute strategy a run uses; TensorFlow's own engines, no home-made distribution.

TF_CONFIG set (one entry per machine)  -> MultiWorkerMirroredStrategy (all-reduce across workers)
more than one GPU                      -> MirroredStrategy (all-reduce across local GPUs)
otherwise                              -> the default strategy (one device)
Mixed precision (float16 compute, float32 weights) is turned on only where a GPU runs it fast.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from lohires_edge.errors import LohiresError


def cluster_spec() -> dict | None:
    """The parsed TF_CONFIG, or None when this process is not part of a cluster."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise LohiresError(f"TF_CONFIG is not valid JSON ({exc}); set it as TensorFlow documents or "
                           "unset it") from None


def choose_strategy() -> tf.distribute.Strategy:
    if cluster_spec():
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief() -> bool:
    """Whether this process writes the run directory (the chief, or worker 0 when there is no chief)."""
    spec = cluster_spec()
    if not spec:
        return True
    task = spec.get("task", {})
    if task.get("type") == "chief":
        return True
    has_chief = "chief" in spec.get("cluster", {})
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and not has_chief


def worker_label() -> str:
    spec = cluster_spec() or {}
    task = spec.get("task", {})
    return f"{task.get('type', 'worker')}-{task.get('index', 0)}"


def use_mixed_precision() -> bool:
    """float16 compute on GPU only: on a CPU it is slower and changes results for nothing."""
    enabled = bool(tf.config.list_physical_devices("GPU"))
    tf.keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
    return enabled
