"""Whether the node may enhance a series at all: the models map 64 mT input, nothing else.

A series acquired above `[qa] max_field_strength` (MagneticFieldStrength, tesla) is passed over: a 1.5 T
image "enhanced" by a 64 mT model comes back coarser than it went in. A series without
MagneticFieldStrength is enhanced, because portable low-field scanners do not always write it; one with a
value that is not a number is passed over, since nothing then shows it is low-field.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from lohires_edge.node.config import QaConfig

ABOVE_FIELD_STRENGTH = "field strength above qa.max_field_strength"
UNREADABLE_FIELD_STRENGTH = "MagneticFieldStrength is not a number"


def field_strength_problem(ds: Dataset, qa: QaConfig) -> str | None:
    """Why `ds` must not be enhanced on account of its field strength (a metrics label), or None."""
    value = ds.get("MagneticFieldStrength")
    if value is None or str(value).strip() == "":
        return None
    try:
        tesla = float(value)
    except (TypeError, ValueError):
        return UNREADABLE_FIELD_STRENGTH
    return ABOVE_FIELD_STRENGTH if tesla > qa.max_field_strength else None
