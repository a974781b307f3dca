"""The data side of training: pairing, grid checks, the subject-level split and the anatomy slices."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from lohires_edge.slice_geometry import volume_slicing
from lohires_edge.slice_mapping import MappingParams, intensity_window, to_model, volume_slices
from tests.trainer.conftest import SHAPE, write_pairs
from trainer.pairs import DataError, check_grids, find_pairs, load_pair, split_subjects
from trainer.slices import anatomy_slices, training_geometry, training_slices


def test_pairs_are_matched_by_subject_and_sequence(pairs_dir: Path) -> None:
    write_pairs(pairs_dir, 2, sequence="FLAIR")
    pairs = find_pairs(pairs_dir, "T1")
    assert [p.subject for p in pairs] == ["POCEMR000", "POCEMR001", "POCEMR002", "POCEMR003"]
    assert all(p.low.parent.name == "Low_field" and p.high.parent.name == "High_field" for p in pairs)
    assert [p.subject for p in find_pairs(pairs_dir, "FLAIR")] == ["POCEMR000", "POCEMR001"]


def test_unpaired_subjects_are_refused_and_listed(pairs_dir: Path) -> None:
    (pairs_dir / "High_field" / "POCEMR001_T1.nii.gz").unlink()
    shutil.copy(pairs_dir / "High_field" / "POCEMR002_T1.nii.gz", pairs_dir / "High_field" / "POCEMR777_T1.nii.gz")
    with pytest.raises(DataError) as error:
        find_pairs(pairs_dir, "T1")
    message = str(error.value)
    assert "POCEMR001 (only in Low_field)" in message and "POCEMR777 (only in High_field)" in message
    assert "\n" not in message


def test_mismatched_grids_are_refused_and_listed(pairs_dir: Path) -> None:
    low = np.zeros((32, 30, 10), np.float32)
    nib.save(nib.Nifti1Image(low, np.eye(4)), pairs_dir / "Low_field" / "POCEMR002_T1.nii.gz")
    high_path = pairs_dir / "High_field" / "POCEMR003_T1.nii.gz"
    shifted = nib.load(high_path)
    nib.save(nib.Nifti1Image(np.asarray(shifted.dataobj), shifted.affine + np.eye(4) * 0.5), high_path)
    with pytest.raises(DataError) as error:
        check_grids(find_pairs(pairs_dir, "T1"))
    message = str(error.value)
    assert "POCEMR002 (shape (32, 30, 10) vs (32, 32, 10))" in message
    assert "POCEMR003 (affines differ)" in message
    assert "POCEMR000" not in message and "POCEMR001" not in message


def test_missing_folder_says_what_layout_is_expected(tmp_path: Path) -> None:
    (tmp_path / "Low_field").mkdir()
    with pytest.raises(DataError, match="High_field"):
        find_pairs(tmp_path, "T1")


def test_split_is_by_subject_disjoint_and_seeded(tmp_path: Path) -> None:
    pairs = find_pairs(write_pairs(tmp_path, 10), "T1")
    train, val = split_subjects(pairs, 0.2, seed=3)
    assert len(val) == 2 and len(train) == 8
    assert not {p.subject for p in train} & {p.subject for p in val}
    assert split_subjects(pairs, 0.2, seed=3) == (train, val)
    with pytest.raises(DataError, match="at least 2"):
        split_subjects(pairs[:1], 0.2, seed=0)


def test_every_slice_with_anatomy_is_used_and_empty_ones_are_not(pairs_dir: Path) -> None:
    low, high, _ = load_pair(find_pairs(pairs_dir, "T1")[0])
    assert list(anatomy_slices(high, axis=2)) == list(range(1, SHAPE[2] - 1))
    assert len(anatomy_slices(np.zeros(SHAPE), axis=2)) == 0


def test_training_slices_go_through_the_shared_mapping(pairs_dir: Path) -> None:
    pairs = find_pairs(pairs_dir, "T1")[:2]
    params = MappingParams(size=32, geometry=training_geometry(pairs))
    inputs, targets = training_slices(pairs, params, windows=("volume",))
    assert inputs.shape == targets.shape == (2 * (SHAPE[2] - 2), 32, 32)
    low, high, image = load_pair(pairs[1])
    slicing = volume_slicing(image.affine, params.geometry)
    keep = anatomy_slices(high, slicing.axis)
    first = SHAPE[2] - 2  # the second subject's slices follow the first's
    # Each slice with its geometry, windowed on its own volume, as `enhance` maps a volume.
    for volume, mapped, k in ((low, inputs, 0), (high, targets, 3)):
        window = intensity_window(volume, params)
        expected, _ = to_model(volume_slices(volume, slicing, keep)[k], params, window)
        np.testing.assert_array_equal(mapped[first + k], expected[0])


def test_training_slices_come_under_both_window_rules_by_default(pairs_dir: Path) -> None:
    pairs = find_pairs(pairs_dir, "T1")[:1]
    params = MappingParams(size=32, geometry=training_geometry(pairs))
    inputs, _ = training_slices(pairs, params)
    count = SHAPE[2] - 2
    assert len(inputs) == 2 * count  # the volume's window, then each slice's own (as the node maps)
    low, high, image = load_pair(pairs[0])
    slicing = volume_slicing(image.affine, params.geometry)
    own, _ = to_model(volume_slices(low, slicing, anatomy_slices(high, slicing.axis))[2], params)
    np.testing.assert_array_equal(inputs[count + 2], own[0])
    assert not np.array_equal(inputs[2], inputs[count + 2])


def test_the_training_geometry_is_read_from_the_affine(pairs_dir: Path) -> None:
    geometry = training_geometry(find_pairs(pairs_dir, "T1"))  # RAS diagonal affine, 1.5 x 1.5 x 5 mm
    assert geometry.pixel_spacing == (1.5, 1.5) and geometry.plane == "axial"
    # Rows run along the first voxel axis (right in RAS, -x in LPS), columns along the second (-y).
    assert geometry.orientation == (0.0, -1.0, 0.0, -1.0, 0.0, 0.0)


def test_an_unreadable_volume_is_named(pairs_dir: Path) -> None:
    broken = pairs_dir / "Low_field" / "POCEMR001_T1.nii.gz"
    broken.write_bytes(b"not a nifti file")
    with pytest.raises(DataError, match="POCEMR001_T1.nii.gz") as error:
        load_pair(find_pairs(pairs_dir, "T1")[1])
    assert "\n" not in str(error.value)
