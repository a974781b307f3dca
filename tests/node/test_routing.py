"""Routing: names decide, timing confirms; anything unclear is passed over, never guessed."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from lohires_edge.node.routing import route

ALL = ("T1", "T2", "FLAIR")


def _series(description="", protocol="", tr=None, te=None, ti=None):
    ds = Dataset()
    ds.SeriesDescription, ds.ProtocolName = description, protocol
    for keyword, value in (("RepetitionTime", tr), ("EchoTime", te), ("InversionTime", ti)):
        if value is not None:
            setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize("ds, expected", [
    (_series("AX T1 SE"), "T1"),
    (_series("", "t2_tse_axial"), "T2"),
    (_series("AX T2 FLAIR"), "FLAIR"),
    (_series("T1 AX 64mT", tr=1500, te=6, ti=400), "T1"),  # IR-prepared T1 (the simulator's, Hyperfine's)
    (_series("localizer", tr=450, te=12), "T1"),
    (_series("", tr=4000, te=100), "T2"),
    (_series("", tr=9000, te=120, ti=2500), "FLAIR"),
])
def test_routes_clear_series(ds, expected):
    assert route(ds, ALL).sequence == expected


@pytest.mark.parametrize("ds, reason", [
    (_series("T2* GRE"), "neither"),
    (_series("SWI", tr=30, te=20), "neither"),  # short TR/TE, but not named: gradient echo, not T1
    (_series("T1 then T2"), "mention T1 and T2"),
    (_series("AX T1", tr=4000, te=100), "TR/TE/TI say T2"),
    (_series("STIR", tr=3000, te=40, ti=150), "neither"),
])
def test_unclear_series_are_passed_over(ds, reason):
    decision = route(ds, ALL)
    assert decision.sequence is None and reason in decision.reason


def test_a_series_without_a_configured_model_is_passed_over():
    decision = route(_series("AX FLAIR"), ("T1",))
    assert decision.sequence is None and "no model is configured for FLAIR" in decision.reason
