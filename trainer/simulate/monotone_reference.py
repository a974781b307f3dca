"""The 3 T contrast on the 64 mT anatomy: a reference that keeps the input's order of intensities.

The 3 T reference differs from its 64 mT input in more than contrast: its own noise, the input's residual
misregistration, and contrast changes that are not monotone (a 3 T FLAIR's bright scalp is dark at 64 mT).
A model taught it learns all of that, and the fidelity score counts all of it as departure.

`monotone_recontrast` maps the 3 T reference onto the 64 mT noise-free signal (`acquisition.low_field_signal`)
by the least-squares non-decreasing map: the most 3 T-like image whose every intensity is a function of the
input's own, so it holds no structure the input does not. `simulate_dataset(reference="monotone")` writes it
as the pair's High_field volume; `benchmarks.faithfulness_ceiling` scores it.
"""

from __future__ import annotations

import numpy as np

from lohires_edge.fidelity import monotone_fit


def monotone_recontrast(truth: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`reference` fitted as a non-decreasing function of `truth` (same grid), by least squares over every
    voxel; returns the fitted values on that grid."""
    if truth.shape != reference.shape:
        raise ValueError(f"truth {truth.shape} and reference {reference.shape} must share a grid")
    return monotone_fit(np.ravel(truth), np.asarray(reference, dtype=np.float64).ravel()).reshape(truth.shape)
