"""FP32 vs INT8 (Q/DQ, both quantization targets) per-slice latency on ONNX Runtime CPU, default-size model.

Until a trained model ships, the stand-in is an untrained trainer.models.EDGE_CONFIG generator exported at
256 x 256 (same graph and cost as a trained one; weights do not change latency). It is quantized with
`lohires_edge.quantization` on simulated 64 mT slices (trainer.simulate) and both models are timed with
`lohires_edge.benchmark`, the code behind `lohires-edge bench`. Prints a Markdown table, writes JSON.

    .venv/bin/python benchmarks/inference.py --out /tmp/lohires-bench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnxruntime
import tensorflow as tf

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.benchmark import BenchResult, bench_backend, markdown_table
from lohires_edge.contract import ModelContract
from lohires_edge.quantization import DEFAULT_CALIBRATION_SLICES, DEFAULT_HOLDOUT_SLICES, TARGETS, quantize_model
from lohires_edge.slice_mapping import MappingParams
from lohires_edge.volumes import sample_slices
from trainer.export import export_onnx
from trainer.models import EDGE_CONFIG, build_generator
from trainer.simulate.dataset import simulate_dataset

SIZE = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="Working folder (models, data, JSON).")
    parser.add_argument("--slices", type=int, default=64, help="Slices timed per backend and batch size.")
    parser.add_argument("--batch-sizes", default="1,4,8")
    parser.add_argument("--subjects", type=int, default=2, help="Simulated subjects for calibration.")
    parser.add_argument("--repeats", type=int, default=3,
                        help="Rounds over all models; each row keeps its round with the lowest p50 (shared CPUs).")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    fp32 = out / "edge-fp32.onnx"
    contract = ModelContract(sequence="T1", mapping=MappingParams(size=SIZE), model_name="edge-untrained",
                             model_version="0", training_data="none: untrained EDGE_CONFIG stand-in for benchmarks")
    tf.keras.utils.set_random_seed(0)
    check = np.random.default_rng(0).uniform(-1, 1, (2, SIZE, SIZE)).astype(np.float32)
    export_onnx(build_generator(EDGE_CONFIG), contract, fp32, check)

    data = out / "data"
    if not (data / "Low_field").is_dir():
        simulate_dataset(data, args.subjects, sequences=["T1"], seed=0)
    calibration, holdout = sample_slices(data, DEFAULT_CALIBRATION_SLICES, DEFAULT_HOLDOUT_SLICES, sequence="T1")
    models, agreements = [fp32], {}
    for target in TARGETS:
        models.append(out / f"edge-int8-{target}.onnx")
        # Thresholds off: the agreement of an untrained model is reported, not judged.
        agreements[target] = quantize_model(fp32, models[-1], calibration, holdout, max_ssim_drop=1.0,
                                            min_psnr=float("-inf"), target=target)

    sizes = [int(b) for b in args.batch_sizes.split(",")]
    backends = [OnnxRuntimeBackend(path) for path in models]
    best: dict[tuple[str, int], BenchResult] = {}
    for _ in range(args.repeats):  # rounds interleave the models, so load from other users hits them alike
        for path, backend in zip(models, backends):
            for result in bench_backend(backend, path.stem, args.slices, sizes):
                key = (result.model, result.batch)
                if key not in best or result.p50_ms < best[key].p50_ms:
                    best[key] = result
    results = list(best.values())

    print(markdown_table(results))
    for target, agreement in agreements.items():
        print(f"\nINT8 ({target} target) vs FP32 on {agreement.slices} held-out simulated slices: "
              f"PSNR {agreement.psnr_mean:.2f} dB, SSIM {agreement.ssim_mean:.4f}")
    record = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "repeats": args.repeats,
        "load_average": os.getloadavg(),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "onnxruntime": onnxruntime.__version__},
        "model": {"config": EDGE_CONFIG.to_dict(), "size": SIZE, "trained": False},
        "int8_vs_fp32": {target: asdict(agreement) for target, agreement in agreements.items()},
        "results": [r.to_dict() for r in results],
    }
    (out / "inference.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nJSON: {out / 'inference.json'}")


if __name__ == "__main__":
    main()
