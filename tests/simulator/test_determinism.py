"""Same seed, identical files; another seed, other subjects; a subject does not depend on the run's size."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from trainer.simulate import simulate_dataset


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(tmp_path):
    for name in ("a", "b"):
        simulate_dataset(tmp_path / name, 1, sequences=("T1", "FLAIR"), seed=42, size="small",
                         dicom_dir=tmp_path / name / "dicom", workers=1 if name == "a" else 2)
    first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    nifti = [name for name in first if name.endswith(".nii.gz")]
    assert len(nifti) == 2 * 2 and len(first) > len(nifti)  # two NIfTI pairs, and the two series' slices
    assert first == second


def test_another_seed_gives_other_subjects(tmp_path):
    for seed in (1, 2):
        simulate_dataset(tmp_path / str(seed), 1, sequences=("T2",), seed=seed, size="small")
    a, b = tree_bytes(tmp_path / "1"), tree_bytes(tmp_path / "2")
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a)


def test_a_subject_is_the_same_in_a_smaller_run_and_with_fewer_sequences(tmp_path):
    simulate_dataset(tmp_path / "big", 2, sequences=("T1", "T2"), seed=7, size="small")
    simulate_dataset(tmp_path / "one", 1, sequences=("T2",), seed=7, size="small")
    for field in ("Low_field", "High_field"):
        name = f"{field}/POCEMR001_T2.nii.gz"
        assert (tmp_path / "big" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_the_noise_free_volumes_are_extra_files_that_change_no_other(tmp_path):
    for name, noise_free in (("plain", False), ("noise-free", True)):
        simulate_dataset(tmp_path / name, 1, sequences=("T2",), seed=3, size="small", noise_free=noise_free)
    plain, extra = tree_bytes(tmp_path / "plain"), tree_bytes(tmp_path / "noise-free")
    assert sorted(set(extra) - set(plain)) == ["Noise_free/POCEMR001_T2.nii.gz"]
    assert all(extra[name] == content for name, content in plain.items())
    noise_free, high = (nib.load(tmp_path / "noise-free" / f"{field}/POCEMR001_T2.nii.gz")
                        for field in ("Noise_free", "High_field"))
    assert noise_free.shape == high.shape and np.array_equal(noise_free.affine, high.affine)
