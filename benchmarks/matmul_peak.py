"""This CPU's measured float32 matrix-multiply rate: the yardstick for how well a model uses the CPU.

numpy's matmul calls the BLAS it was built with (OpenBLAS in the wheels) on all the cores this process
may use; the best of several runs of an n x n product, at 2 n^3 floating-point operations each, is the
practical peak a convolution network on the same cores could approach.
"""

from __future__ import annotations

import time

import numpy as np


def matmul_flops(n: int) -> float:
    """Floating-point operations of one n x n by n x n product (a multiply-add counts 2)."""
    return 2.0 * n ** 3


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of `repeats` float32 n x n matmuls after one warm-up."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    out = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return matmul_flops(n) / best / 1e9
