"""Item 1: per-slice latency (p50/p95) of the default model per backend, precision and batch size, its GFLOP
per slice and the fraction of this CPU's measured float32 matmul peak it reaches.

    .venv/bin/python -m benchmarks.latency [--model ONNX] [--batch-sizes 1,4,8] [--slices 64]

Timing is lohires_edge.backend_timing (the code behind `lohires-edge bench`): phantom slices through the slice
mapping, one timed backend run per batch. Precisions: the FP32 model and its INT8 Q/DQ versions
(lohires_edge.quantization, calibrated on simulated slices; --int8-targets). Backends: ONNX Runtime on the
CPU always, ONNX Runtime CUDA and TensorRT where this machine has them (else listed as skipped, with why).
GFLOP per slice is TensorFlow's profiler count of the generator the contract names (benchmarks/model_cost.py).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lohires_edge.backends.base import Backend
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend, cuda_available
from lohires_edge.backends.selection import open_backend
from lohires_edge.backend_timing import bench_backend
from lohires_edge.contract import read_contract
from lohires_edge.errors import LohiresError

from benchmarks.inputs import add_model_argument, generator_config, int8_model, model_path
from benchmarks.matmul_peak import matmul_peak_gflops
from benchmarks.report import add_output_arguments, markdown_table, run_script, write_record


def backends_for(path: Path, precision: str) -> tuple[list[Backend], list[str]]:
    """Every backend this machine can run `path` on, and why the others were skipped."""
    backends: list[Backend] = [OnnxRuntimeBackend(path, "cpu")]
    skipped = []
    if cuda_available():
        backends.append(OnnxRuntimeBackend(path, "cuda"))
    else:
        skipped.append(f"{precision} onnxruntime-cuda: no CUDA execution provider here")
    try:
        backends.append(open_backend(model=path, backend="tensorrt"))
    except LohiresError as exc:
        skipped.append(f"{precision} tensorrt: {exc}")
    return backends, skipped


def gflop_per_slice(model: Path) -> float | None:
    config = generator_config(model)
    if config is None:
        return None
    from benchmarks.model_cost import gflop_per_slice as profiled  # TensorFlow, only when needed
    from trainer.models import GeneratorConfig

    return profiled(GeneratorConfig(**config), read_contract(model).input_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_argument(parser)
    parser.add_argument("--batch-sizes", default="1,4,8")
    parser.add_argument("--slices", type=int, default=64, help="slices timed per backend and batch size")
    parser.add_argument("--int8-targets", default="onnxruntime",
                        help="quantization targets to time (onnxruntime,tensorrt); empty: FP32 only")
    parser.add_argument("--matmul-size", type=int, default=2048)
    add_output_arguments(parser, "INT8 models, calibration data")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    fp32 = model_path(args.model)
    contract = read_contract(fp32)
    models = {"fp32": fp32}
    for target in filter(None, args.int8_targets.split(",")):
        models[f"int8 ({target})"] = int8_model(fp32, args.work, target)
    gflop = gflop_per_slice(fp32)
    peak = matmul_peak_gflops(args.matmul_size)

    rows, skipped = [], []
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    for precision, path in models.items():
        backends, why = backends_for(path, precision)
        skipped += why
        for backend in backends:
            for result in bench_backend(backend, precision, args.slices, sizes):
                achieved = gflop * result.throughput if gflop is not None else None
                rows.append({**result.to_dict(), "precision": precision, "gflops_achieved": achieved,
                             "fraction_of_cpu_peak": achieved / peak
                             if achieved is not None and backend.name.endswith("cpu") else None})
            backend.close()

    print(f"Model {contract.model_id}, {contract.input_size} x {contract.input_size}; "
          f"GFLOP/slice: {'unknown' if gflop is None else f'{gflop:.2f}'}; "
          f"float32 matmul peak of this CPU ({args.matmul_size}^2, numpy): {peak:.1f} GFLOP/s\n")
    print(markdown_table(
        ["precision", "backend", "batch", "p50 ms/slice", "p95 ms/slice", "slices/s", "GFLOP/s", "of CPU peak"],
        [[r["precision"], r["backend"], r["batch"], f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}",
          f"{r['throughput']:.1f}", "n/a" if r["gflops_achieved"] is None else f"{r['gflops_achieved']:.1f}",
          "n/a" if r["fraction_of_cpu_peak"] is None else f"{r['fraction_of_cpu_peak']:.0%}"] for r in rows]))
    if skipped:
        print("\nskipped:\n" + "\n".join(f"- {line}" for line in skipped))
    path = write_record("latency", {
        "model": {"id": contract.model_id, "path": str(fp32), "size": contract.input_size,
                  "generator": generator_config(fp32), "gflop_per_slice": gflop},
        "int8_models": {name: str(p) for name, p in models.items() if name != "fp32"},
        "matmul_peak_gflops": peak, "matmul_size": args.matmul_size, "rows": rows, "skipped": skipped},
        results_dir=args.results)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    run_script(main, "latency")
