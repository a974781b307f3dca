"""Two `lohires-train fit` workers on 127.0.0.1 train one model with MultiWorkerMirroredStrategy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from benchmarks.loopback.peers import program
from tests.trainer.conftest import write_pairs


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def generator_weights(checkpoint_dir: Path) -> dict[str, np.ndarray]:
    reader = tf.train.load_checkpoint(str(checkpoint_dir))
    return {key: reader.get_tensor(key) for key in reader.get_variable_to_shape_map()
            if key.startswith("generator/") and "OPTIMIZER_SLOT" not in key}


@pytest.mark.slow
def test_two_workers_train_one_model(tmp_path: Path) -> None:
    data = write_pairs(tmp_path / "data", 4)
    out = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    args = [program("lohires-train"), "fit", str(data), "--sequence", "T1", "--out", str(out), "--epochs", "1",
            "--steps-per-epoch", "2", "--size", "32", "--base-filters", "4", "--disc-filters", "4",
            "--batch-size", "4", "--quiet"]
    processes = []
    try:
        for index in range(2):
            env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                          "task": {"type": "worker", "index": index}}),
                   "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
            processes.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                              text=True))
        outputs = [p.communicate(timeout=300)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]

    chief = generator_weights(out / "checkpoints")
    other = generator_weights(out / "workers" / "worker-1" / "checkpoints")
    assert chief.keys() == other.keys() and len(chief) > 10
    for key in chief:
        np.testing.assert_array_equal(chief[key], other[key], err_msg=key)
    # ...and they did train: two steps moved the weights away from the seeded initialization.
    reader = tf.train.load_checkpoint(str(out / "checkpoints"))
    assert reader.get_tensor("generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE") == 2


def test_a_malformed_tf_config_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from lohires_edge.errors import LohiresError
    from trainer.distribution import cluster_spec, is_chief

    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(LohiresError, match="TF_CONFIG is not valid JSON"):
        cluster_spec()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert not is_chief()  # with a chief task, worker 0 is not the chief
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief()
