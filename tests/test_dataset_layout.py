"""The dataset layout's words: what the simulator writes is what the trainer and `enhance` read back."""

from __future__ import annotations

import pytest

from lohires_edge.contract import SEQUENCES
from lohires_edge.dataset_layout import sequence_in_name, subject_id, volume_name


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_a_volume_name_says_its_sequence(sequence):
    assert volume_name(subject_id(7), sequence) == f"POCEMR007_{sequence}.nii.gz"
    assert sequence_in_name(volume_name(subject_id(7), sequence)) == sequence


@pytest.mark.parametrize("name,sequence", [("sub_t1.nii.gz", "T1"), ("scan_Flair.nii", "FLAIR"),
                                           ("sub.nii.gz", None), ("sub_T1.nii.gz.bak", None),
                                           ("sub_T1_mask.nii.gz", None), ("subT2.nii.gz", None)])
def test_the_sequence_comes_only_from_a_name_ending_in_it(name, sequence):
    assert sequence_in_name(name) == sequence
