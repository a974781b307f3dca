"""Domain randomization of the 64 mT acquisition, in the spirit of SynthSR: every pair draws its scanner.

A model trained on one fixed protocol learns that protocol; drawn from ranges, it has to learn what is
common to all of them, which is what carries over to scanners and protocols it never saw. Every
randomized quantity is one entry of `LOW_FIELD_RANGES` (docs/simulator.md gives each range's source);
`draw_low_field` draws all of them from the pair's generator, so a pair is deterministic per seed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from trainer.simulate.protocols import Protocol
from trainer.simulate.tissues import TISSUES


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    log: bool = False  # drawn uniformly in log space (scale-like quantities)

    def draw(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | float:
        if self.log:
            return np.exp(rng.uniform(np.log(self.low), np.log(self.high), size))
        return rng.uniform(self.low, self.high, size)


LOW_FIELD_RANGES: dict[str, Range] = {
    # Per tissue, T1 and T2 independently: the spread of 64 mT literature values around the table's.
    "relaxation_factor": Range(0.85, 1.15),
    "tr_factor": Range(0.85, 1.15),  # of the protocol's TR
    "te_factor": Range(0.85, 1.15),
    # Of the protocol's TI, or of the null at the drawn TR where the protocol nulls a tissue (FLAIR's CSF);
    # narrower: keeps T1's WM > GM order and FLAIR's CSF near its null.
    "ti_factor": Range(0.93, 1.07),
    "pixel_mm": Range(1.2, 2.2),  # in-plane resolution (in 3 T voxels at other sizes)
    "slice_mm": Range(3.0, 6.0),  # slice thickness (in 3 T voxels at other sizes)
    "snr": Range(5.0, 30.0, log=True),  # white matter, native image
    "bias_amplitude": Range(0.0, 0.3),  # largest |log| of the receive shading
    "apodization": Range(0.2, 1.0),  # Tukey window's tapered share of k-space, when apodized
    "ghost_phase_rad": Range(0.02, 0.12),  # periodic phase error of the phase-encode lines, when ghosted
    "misregistration_deg": Range(0.0, 1.0),  # residual rotation after co-registration
    "misregistration_voxels": Range(0.0, 1.0),  # residual shift, in 3 T voxels
    "intensity_scale": Range(0.5, 2.0, log=True),
    "gamma": Range(0.8, 1.25, log=True),
}
APODIZATION_PROBABILITY = 0.5  # otherwise the raw truncation: Gibbs ringing at sharp edges
GHOST_PROBABILITY = 0.3  # mild motion ghosting


@dataclass(frozen=True)
class LowFieldDraw:
    """One pair's 64 mT scanner and protocol: everything `acquisition.low_field_signal` and
    `acquisition.acquire` vary."""

    protocol: Protocol  # timing already scaled
    t1_factors: np.ndarray  # per tissue
    t2_factors: np.ndarray
    pixel_mm: float
    slice_mm: float
    snr: float
    bias_amplitude: float
    apodization: float | None  # Tukey alpha; None: no apodization
    ghost_phase_rad: float  # 0: no ghosting
    phase_encode_axis: int  # 0 (rows, anterior-posterior) or 1 (columns, left-right)
    misregistration_deg: float
    misregistration_voxels: float
    intensity_scale: float
    gamma: float


def draw_low_field(protocol: Protocol, rng: np.random.Generator) -> LowFieldDraw:
    """Draw one acquisition around `protocol` (the 64 mT protocol of the sequence)."""
    r = LOW_FIELD_RANGES
    timed = replace(protocol, tr_ms=protocol.tr_ms * r["tr_factor"].draw(rng),
                    te_ms=protocol.te_ms * r["te_factor"].draw(rng))
    ti_factor = r["ti_factor"].draw(rng)
    if protocol.ti_ms is not None:  # around the null at the drawn TR where the protocol nulls a tissue
        nominal_ti = protocol.ti_ms if protocol.nulled is None else timed.null_ti_ms()
        timed = replace(timed, ti_ms=nominal_ti * ti_factor)
    return LowFieldDraw(
        protocol=timed,
        t1_factors=r["relaxation_factor"].draw(rng, len(TISSUES)),
        t2_factors=r["relaxation_factor"].draw(rng, len(TISSUES)),
        pixel_mm=float(r["pixel_mm"].draw(rng)),
        slice_mm=float(r["slice_mm"].draw(rng)),
        snr=float(r["snr"].draw(rng)),
        bias_amplitude=float(r["bias_amplitude"].draw(rng)),
        apodization=float(r["apodization"].draw(rng)) if rng.random() < APODIZATION_PROBABILITY else None,
        ghost_phase_rad=float(r["ghost_phase_rad"].draw(rng)) if rng.random() < GHOST_PROBABILITY else 0.0,
        phase_encode_axis=int(rng.integers(2)),
        misregistration_deg=float(r["misregistration_deg"].draw(rng)),
        misregistration_voxels=float(r["misregistration_voxels"].draw(rng)),
        intensity_scale=float(r["intensity_scale"].draw(rng)),
        gamma=float(r["gamma"].draw(rng)),
    )
