"""Faults: SIGKILL landed in each phase (receive, inference, sending), repeatedly over one series.

The scenarios (benchmarks/loopback/scenarios.py) check that each kill fell inside its phase. After the last
restart the destination must hold every expected derived SOP Instance UID and no other: nothing lost, and
no second instance for any slice. Re-sends of the same UID are allowed (delivery is at least once and the
UID is deterministic), but only for the store in flight at each kill or one the node logged as unconfirmed.
Destination down for a while: tests/node/test_delivery.py::test_destination_down_then_up_delivers_everything.
Full disk and damaged spool files: test_spool_faults.py.
"""

from __future__ import annotations

import pytest

from benchmarks.loopback.scenarios import kill_during_inference, kill_during_receive, kill_during_sending
from tests.conftest import require_dcmtk

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]

SLICES, KILLS, STEP = 30, 3, 4  # each kill comes STEP events after the previous start


def _nothing_lost_nothing_doubled(outcome) -> None:
    assert outcome.lost == 0 and outcome.unexpected == 0
    assert outcome.resends <= KILLS + outcome.unconfirmed_stores


def test_sigkill_during_receive_repeatedly_loses_and_duplicates_nothing(tiny_model, tmp_path):
    require_dcmtk("storescu")
    outcome = kill_during_receive(tiny_model, tmp_path, SLICES, KILLS, STEP)
    assert outcome.lost == 0 and outcome.unexpected == 0  # the scanner re-sent the series: re-sends expected


def test_sigkill_during_inference_repeatedly_loses_and_duplicates_nothing(tiny_model, tmp_path):
    _nothing_lost_nothing_doubled(kill_during_inference(tiny_model, tmp_path, SLICES, KILLS, STEP))


def test_sigkill_during_sending_repeatedly_loses_and_duplicates_nothing(tiny_model, tmp_path):
    _nothing_lost_nothing_doubled(kill_during_sending(tiny_model, tmp_path, SLICES, KILLS, STEP))
