"""The paired dataset's layout on disk, as the seed data has it: one definition for simulator, trainer and edge.

    DATA/Low_field/POCEMR001_T1.nii.gz    the 64 mT acquisition
    DATA/High_field/POCEMR001_T1.nii.gz   the 3 T reference on the same grid

The simulator writes it, the trainer pairs subjects in it, and calibration samples its 64 mT side.
"""

from __future__ import annotations

import re

from lohires_edge.contract import SEQUENCES

LOW_FIELD_DIR = "Low_field"
HIGH_FIELD_DIR = "High_field"
SUBJECT_PREFIX = "POCEMR"  # subject IDs: POCEMR followed by a number
_SEQUENCE_SUFFIX = re.compile(rf"_({'|'.join(SEQUENCES)})\.nii(\.gz)?$", flags=re.IGNORECASE)


def subject_id(number: int) -> str:
    """The ID of subject `number` (1-999), as the simulator names them: POCEMR001."""
    return f"{SUBJECT_PREFIX}{number:03d}"


def volume_name(subject: str, sequence: str) -> str:
    """The file name of one subject's volume of one sequence, in either folder."""
    return f"{subject}_{sequence}.nii.gz"


def sequence_in_name(name: str) -> str | None:
    """The sequence a NIfTI file's name ends with, in any case (sub_t1.nii.gz: T1); None if it names none."""
    match = _SEQUENCE_SUFFIX.search(name)
    return match.group(1).upper() if match else None

