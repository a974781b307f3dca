"""DICOM for the edge: read an MR slice, build the derived (enhanced) instance, check UIDs."""

from __future__ import annotations

import pydicom.config


def keep_values_out_of_logs() -> None:
    """Stop pydicom's read-time value validation, which warns and logs the offending value itself.

    A non-conforming PatientName, PatientID or BirthDate would otherwise reach stderr and the journal as
    "Invalid value for VR ...: '<value>'". Our own checks (decode, UIDs) do the validation that matters.
    """
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
