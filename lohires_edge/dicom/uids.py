"""UID checks and the deterministic UIDs of derived instances.

A UID is the only dataset value the node ever uses in a file name, and only after `require_valid_uid`
has checked it against the DICOM UID syntax (digits and dots, at most 64 characters), so a value such as
"../../x" can never become a path.
"""

from __future__ import annotations

from pydicom.uid import RE_VALID_UID, UID, generate_uid

from lohires_edge.errors import LohiresError


class InvalidUID(LohiresError):
    """A dataset carries a missing or malformed UID."""


def require_valid_uid(value: object, what: str) -> UID:
    """`value` as a UID if it is a valid one; InvalidUID naming `what` otherwise."""
    text = "" if value is None else str(value)
    if len(text) > 64 or not RE_VALID_UID.match(text):  # checked before UID(), which warns on bad values
        shown = repr(text[:70]) if value is not None else "missing"
        raise InvalidUID(f"{what} {shown} is not a valid DICOM UID (digits and dots, at most 64 characters)")
    return UID(text)


def derived_uid(source_uid: str, model_id: str, kind: str) -> UID:
    """The UID of a derived `kind` ("series", "instance") as a pure function of the source UID and model.

    pydicom hashes the entropy sources under its UID root, so a re-send or a replay after a crash
    yields the same UID and the destination sees the same instance again, never a duplicate.
    """
    return generate_uid(entropy_srcs=[str(source_uid), model_id, kind])
