"""The 3 T contrast on the 64 mT anatomy: a reference that keeps the input's order of intensities.

The 3 T reference differs from its 64 mT input in more than contrast: its own noise, the input's residual
misregistration, and contrast changes that are not monotone (a 3 T FLAIR's bright scalp is dark at 64 mT).
A model taught it learns all of that, and the fidelity score counts all of it as departure.

`monotone_recontrast` maps the 3 T reference onto the 64 mT noise-free signal (`acquisition.low_field_signal`)
by the least-squares non-decreasing map: the most 3 T-like image whose every intensity is a function of the
input's own, so it holds no structure the input does not. `simulate_dataset(reference="monotone")` writes it
as the pair's High_field volume; `benchmarks.faithfulness_ceiling` scores it. With `brain_weights` the map
is fitted on the brain alone (`reference="monotone-brain"`): still one map of the input's intensity, but
one the scalp cannot bend.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lohires_edge.fidelity import monotone_fit
from trainer.simulate.tissues import BRAIN_TISSUES, TISSUES

BRAIN_WEIGHT_FLOOR = 1e-6  # off the brain: the fit must stay defined (positive weights) without being pulled


def monotone_recontrast(truth: np.ndarray, reference: np.ndarray, weights: np.ndarray | None = None
                        ) -> np.ndarray:
    """`reference` fitted as a non-decreasing function of `truth` (same grid), by least squares over every
    voxel (each counted by `weights`, positive, same grid; equally when None); returns the fitted values on
    that grid."""
    if truth.shape != reference.shape or (weights is not None and weights.shape != truth.shape):
        raise ValueError(f"truth {truth.shape}, reference {reference.shape} and weights must share a grid")
    flat_weights = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    return monotone_fit(np.ravel(truth), np.asarray(reference, dtype=np.float64).ravel(),
                        flat_weights).reshape(truth.shape)


def brain_weights(fractions: np.ndarray, to_fit_grid: Callable[[np.ndarray], np.ndarray] | None = None
                  ) -> np.ndarray:
    """Voxel weights that fit the map on the brain: each voxel's fraction of brain tissue (white and grey
    matter, CSF, lesions), and a negligible weight elsewhere. `fractions` is (tissues, ...) in the order of
    `tissues.TISSUES`; `to_fit_grid`, when given, takes one tissue's fractions onto the fit's grid (only the
    brain's tissues are taken there).

    A tissue whose contrast reverses between the fields (a FLAIR's scalp fat: as bright as the brain at
    64 mT, twice as bright at 3 T) would otherwise pull the brain's 3 T values towards its own; left out of
    the fit, it takes the brain's map instead of its 3 T contrast."""
    on_grid = to_fit_grid or np.asarray
    brain = sum(np.asarray(on_grid(fractions[TISSUES.index(t)]), dtype=np.float64) for t in BRAIN_TISSUES)
    return np.maximum(brain, BRAIN_WEIGHT_FLOOR)
