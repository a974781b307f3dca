"""Which model enhances a series: by sequence, read from the series' names and its acquisition timing.

Names (SeriesDescription, ProtocolName) decide; timing (TR, TE, TI) only confirms or, when the names say
nothing, decides on clear-cut values. Names that disagree with each other or with the timing mean no
route: a series is never enhanced by a guessed model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from pydicom.dataset import Dataset

_NAME_PATTERNS = {
    "FLAIR": re.compile(r"FLAIR"),
    "T2": re.compile(r"(?<![A-Z0-9])T2(?![0-9*]|STAR)"),  # not T2* (gradient echo), a different contrast
    "T1": re.compile(r"(?<![A-Z0-9])T1(?![0-9])"),
}


@dataclass(frozen=True)
class Route:
    sequence: str | None  # None: pass the series over
    reason: str  # for the log line


def sequence_from_names(ds: Dataset) -> set[str]:
    """Sequences named in SeriesDescription/ProtocolName; a FLAIR named "T2 FLAIR" counts as FLAIR only."""
    text = " ".join(str(ds.get(k, "")) for k in ("SeriesDescription", "ProtocolName")).upper()
    found = {sequence for sequence, pattern in _NAME_PATTERNS.items() if pattern.search(text)}
    if "FLAIR" in found:
        found.discard("T2")
    return found


def sequence_from_timing(ds: Dataset) -> str | None:
    """A sequence only for unambiguous timing (milliseconds); None otherwise."""
    tr, te, ti = (_ms(ds, k) for k in ("RepetitionTime", "EchoTime", "InversionTime"))
    if ti is not None and ti >= 1500 and te is not None and te >= 70:
        return "FLAIR"
    if ti:  # other inversion recovery (STIR, IR-prepared T1): the names must say which
        return None
    if tr is not None and te is not None:
        if 300 <= tr <= 1000 and te <= 30:  # short-TR gradient echo (TR < 300) is not called T1 here
            return "T1"
        if tr >= 2000 and te >= 70:
            return "T2"
    return None


def route(ds: Dataset, sequences: Iterable[str]) -> Route:
    """The sequence whose model should enhance `ds`, among the configured `sequences`."""
    named, timed = sequence_from_names(ds), sequence_from_timing(ds)
    if len(named) > 1:
        return Route(None, f"series names mention {' and '.join(sorted(named))}")
    name = next(iter(named), None)
    if name and timed and name != timed:
        return Route(None, f"series name says {name} but TR/TE/TI say {timed}")
    sequence = name or timed
    if sequence is None:
        return Route(None, "neither the series names nor TR/TE/TI identify T1, T2 or FLAIR")
    if sequence not in set(sequences):
        return Route(None, f"series is {sequence} and no model is configured for {sequence}")
    return Route(sequence, f"{sequence} by {'name' if name else 'TR/TE/TI'}")


def _ms(ds: Dataset, keyword: str) -> float | None:
    try:
        value = ds.get(keyword)
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
