"""What each generator configuration costs on this machine: GFLOP per slice, train-step and inference time.

    .venv/bin/python benchmarks/model_cost.py [--size 256] [--batch-size 8] [--repeats 3] [--json FILE]

GFLOP per slice is TensorFlow's profiler count of the generator's float operations on one size x size
slice (a multiply-add counts 2). The train step is one full GAN step (G and D forward and backward, both
Adam updates) on a batch of random slices, median of --repeats after one warm-up step. Inference is the
exported ONNX model under ONNX Runtime on the CPU (what the edge runs without a GPU), batch 1, median
per slice. Weights are untrained: cost does not depend on their values.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import ModelContract
from lohires_edge.slice_mapping import MappingParams
from trainer.export import export_onnx
from trainer.losses import LossWeights
from trainer.models import EDGE_CONFIG, SEED_CONFIG, GeneratorConfig, build_generator
from trainer.run_dir import RunConfig
from trainer.training import DEFAULT_LEARNING_RATE, GanTrainer

CONFIGS = {"seed": SEED_CONFIG, "edge": EDGE_CONFIG}


def gflop_per_slice(config: GeneratorConfig, size: int) -> float:
    model = build_generator(config)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(
        tf.TensorSpec((1, size, size, 1), tf.float32))
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                            options=options)
    return profile.total_float_ops / 1e9


def train_step_seconds(config: GeneratorConfig, size: int, batch: int, disc_filters: int, repeats: int) -> float:
    run = RunConfig(sequence="T1", generator=config.to_dict(), mapping={"size": size},
                    discriminator_filters=disc_filters, losses=LossWeights().to_dict(),
                    learning_rate=DEFAULT_LEARNING_RATE, batch_size=batch, seed=0, data="", train_subjects=[],
                    validation_subjects=[])
    trainer = GanTrainer(tf.distribute.get_strategy(), run, mixed=False)
    rng = np.random.default_rng(0)
    data = tuple(tf.constant(rng.uniform(-1, 1, (batch, size, size, 1)).astype(np.float32)) for _ in range(2))
    trainer.train_step(data)  # trace and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        float(trainer.train_step(data)["g_total"])
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference_seconds(config: GeneratorConfig, size: int, repeats: int) -> float:
    contract = ModelContract(sequence="T1", mapping=MappingParams(size=size), model_name="benchmark",
                             model_version="0")
    slices = np.random.default_rng(0).uniform(-1, 1, (1, size, size)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(build_generator(config), contract, path, slices)
        backend = OnnxRuntimeBackend(path)
        backend.run(slices)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            backend.run(slices)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--disc-filters", type=int, help="PatchGAN filters [each generator's base filters, as fit]")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", default="seed,edge")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/model_cost.json"))
    args = parser.parse_args(argv)

    rows = []
    for name in args.configs.split(","):
        config = CONFIGS[name]
        rows.append({
            "config": name, **config.to_dict(), "size": args.size,
            "parameters": int(build_generator(config).count_params()),
            "gflop_per_slice": gflop_per_slice(config, args.size),
            "disc_filters": args.disc_filters or config.base_filters,
            "train_step_s": train_step_seconds(config, args.size, args.batch_size,
                                               args.disc_filters or config.base_filters, args.repeats),
            "inference_s_per_slice": inference_seconds(config, args.size, max(args.repeats, 10)),
        })
    environment = {"cpus": len(os.sched_getaffinity(0)), "tensorflow": tf.__version__,
                   "batch_size": args.batch_size, "repeats": args.repeats}
    print(f"Generator cost at {args.size} x {args.size} on this CPU ({environment['cpus']} cores); "
          f"train step: batch {args.batch_size}")
    print()
    print("| config | base filters | depth | res blocks | parameters | GFLOP/slice | PatchGAN filters | "
          "train step (s) | ONNX Runtime CPU (ms/slice) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['config']} | {r['base_filters']} | {r['depth']} | {r['residual_blocks']} | "
              f"{r['parameters']:,} | {r['gflop_per_slice']:.2f} | {r['disc_filters']} | {r['train_step_s']:.2f} | "
              f"{r['inference_s_per_slice'] * 1e3:.1f} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"environment": environment, "rows": rows}, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
