"""The randomized 64 mT acquisition: every documented range is covered, and nothing falls outside it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lohires_edge.contract import SEQUENCES
from trainer.simulate.anatomy import ANATOMY_RANGES, draw_anatomy
from trainer.simulate.protocols import LOW_FIELD_T, protocol
from trainer.simulate.randomization import (APODIZATION_PROBABILITY, GHOST_PROBABILITY, LOW_FIELD_RANGES,
                                            draw_low_field)

DRAWS = 2000


@pytest.fixture(scope="module")
def draws():
    return {sequence: [draw_low_field(protocol(sequence, LOW_FIELD_T), np.random.default_rng([3, n]))
                       for n in range(DRAWS)] for sequence in SEQUENCES}


def _values(draws, name: str, sequence: str = "T1") -> np.ndarray:
    items = draws[sequence]
    nominal = protocol(sequence, LOW_FIELD_T)
    if name == "relaxation_factor":
        return np.concatenate([np.concatenate([d.t1_factors, d.t2_factors]) for d in items])
    if name == "ti_factor" and nominal.nulled is not None:  # of the null at the drawn TR
        return np.array([d.protocol.ti_ms / replace(nominal, tr_ms=d.protocol.tr_ms).null_ti_ms() for d in items])
    if name in ("tr_factor", "te_factor", "ti_factor"):
        field = {"tr_factor": "tr_ms", "te_factor": "te_ms", "ti_factor": "ti_ms"}[name]
        return np.array([getattr(d.protocol, field) / getattr(nominal, field) for d in items])
    if name == "apodization":
        return np.array([d.apodization for d in items if d.apodization is not None])
    values = np.array([getattr(d, name) for d in items], dtype=float)
    if name == "ghost_phase_rad":
        return values[values > 0]
    return values


@pytest.mark.parametrize("name", sorted(LOW_FIELD_RANGES))
def test_each_randomized_parameter_covers_its_documented_range(draws, name):
    documented = LOW_FIELD_RANGES[name]
    values = _values(draws, name, "FLAIR" if name == "ti_factor" else "T1")
    assert values.min() >= documented.low - 1e-9 and values.max() <= documented.high + 1e-9, name
    span = documented.high - documented.low
    # Both ends are reached: within 2 % of the span over this many draws.
    assert values.min() < documented.low + 0.02 * span and values.max() > documented.high - 0.02 * span, name
    if documented.log:  # log-uniform: the geometric middle splits the draws in half
        below = np.mean(values < np.sqrt(documented.low * documented.high))
    else:
        below = np.mean(values < (documented.low + documented.high) / 2)
    assert 0.45 < below < 0.55, (name, below)


def test_flair_inversion_time_follows_the_drawn_tr_to_keep_csf_near_its_null(draws):
    # TR is drawn within 15 % of the protocol's. With TI left at the protocol's, a short TR put CSF as bright
    # as white matter (up to 1.16 of it with nominal relaxation): a FLAIR no scanner would run. With TI
    # drawn around the null at the drawn TR, what is left is TI's own 7 % and TE's weighting (up to 0.46).
    nominal = protocol("FLAIR", LOW_FIELD_T)

    def csf_over_white(draw) -> float:
        signals = replace(nominal, tr_ms=draw.protocol.tr_ms, te_ms=draw.protocol.te_ms,
                          ti_ms=draw.protocol.ti_ms).tissue_signals()
        return float(signals[2] / signals[0])

    assert max(csf_over_white(d) for d in draws["FLAIR"]) < 0.5
    trs, tis = (np.array([getattr(d.protocol, f) for d in draws["FLAIR"]]) for f in ("tr_ms", "ti_ms"))
    assert np.corrcoef(trs, tis)[0, 1] > 0.5  # a longer TR, a longer TI


def test_apodization_and_ghosting_happen_at_their_documented_rates(draws):
    items = draws["T2"]
    apodized = np.mean([d.apodization is not None for d in items])
    ghosted = np.mean([d.ghost_phase_rad > 0 for d in items])
    assert apodized == pytest.approx(APODIZATION_PROBABILITY, abs=0.04)
    assert ghosted == pytest.approx(GHOST_PROBABILITY, abs=0.04)
    assert {d.phase_encode_axis for d in items} == {0, 1}


def test_a_draw_is_deterministic_per_generator_seed():
    first, second, other = (draw_low_field(protocol("T2", LOW_FIELD_T), np.random.default_rng(seed))
                            for seed in (8, 8, 9))
    assert repr(first) == repr(second)
    assert first.snr != other.snr and first.pixel_mm != other.pixel_mm


def test_anatomy_draws_cover_their_documented_ranges():
    anatomies = [draw_anatomy(np.random.default_rng([5, n])) for n in range(500)]
    for name in ("subarachnoid_mm", "skull_mm", "marrow_share", "scalp_mm", "muscle_share"):
        low, high = ANATOMY_RANGES[name]
        values = np.array([a.layers_mm[name] for a in anatomies])
        margin = 0.05 * (high - low)
        assert low <= values.min() < low + margin and high - margin < values.max() <= high
    growth = np.array([a.ventricle_growth_mm for a in anatomies])
    assert growth.min() < 0.1 and growth.max() > 2.3
    flipped = np.mean([np.linalg.det(a.to_template[:3, :3]) < 0 for a in anatomies])
    assert 0.4 < flipped < 0.6  # left-right flips in about half the subjects
    with_lesions = np.mean([len(a.lesions) > 0 for a in anatomies])
    assert 0.4 < with_lesions < 0.6
    radii = np.concatenate([a.lesions[:, 3] for a in anatomies])
    low, high = ANATOMY_RANGES["lesion_radius_mm"]
    assert low <= radii.min() and radii.max() <= high
