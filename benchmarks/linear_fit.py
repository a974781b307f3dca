"""The straight-line fit that shows how the round trip grows with the number of slices."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy.stats import linregress


@dataclass(frozen=True)
class LinearFit:
    slope: float  # seconds per added slice
    intercept: float  # seconds paid once per series (association, model warm-up in the pipeline)
    r_squared: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def fit_line(x: Sequence[float], y: Sequence[float]) -> LinearFit:
    """Least-squares y = slope * x + intercept (scipy.stats.linregress) and its coefficient of determination."""
    if len(x) < 2 or len(set(x)) < 2:
        raise ValueError("a line needs at least two different x values")
    result = linregress(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return LinearFit(slope=float(result.slope), intercept=float(result.intercept),
                     r_squared=float(result.rvalue) ** 2)
