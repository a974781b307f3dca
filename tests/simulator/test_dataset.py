"""simulate_dataset and `lohires-train simulate`: the layout the trainer reads, records, errors."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from click.testing import CliRunner

from benchmarks.loopback.peers import program
from lohires_edge.errors import LohiresError
from lohires_edge.image_quality import lesion_contrast
from trainer.cli import main as train_main
from trainer.simulate import SMALL, simulate_dataset
from trainer.simulate.dataset import MONOTONE_REFERENCES, NOISE_FREE_REFERENCE, tissue_label
from trainer.simulate.monotone_reference import monotone_recontrast
from trainer.simulate.tissues import BRAIN_TISSUES, LESION, WHITE_MATTER


def test_layout_is_exactly_what_the_trainer_reads(small_run):
    out, records = small_run
    names = {f"POCEMR00{n}_{s}.nii.gz" for n in (1, 2) for s in ("T1", "T2", "FLAIR")}
    assert {p.name for p in (out / "Low_field").iterdir()} == names
    assert {p.name for p in (out / "High_field").iterdir()} == names
    assert [(r.subject, r.sequence) for r in records] == [(f"POCEMR00{n}", s) for n in (1, 2)
                                                          for s in ("T1", "T2", "FLAIR")]
    assert {p.name for p in (out / "dicom").iterdir()} == {n.removesuffix(".nii.gz") for n in names}


def test_pairs_share_the_3t_grid_and_affine(small_run):
    out, records = small_run
    for record in records:
        low, high = nib.load(record.low_field), nib.load(record.high_field)
        assert low.shape == high.shape == SMALL.high_shape
        np.testing.assert_allclose(low.affine, SMALL.high_affine(), atol=1e-5)
        np.testing.assert_allclose(high.affine, SMALL.high_affine(), atol=1e-5)
        assert low.get_data_dtype() == high.get_data_dtype() == np.int16
        assert nib.aff2axcodes(high.affine) == ("P", "L", "S")  # rows A->P, columns R->L: DICOM's axial view


def test_progress_is_called_once_per_subject_and_sequence(tmp_path):
    calls = []
    simulate_dataset(tmp_path, 2, sequences=("T2",), size="small", progress=calls.append)
    assert calls == [1, 1]


@pytest.mark.parametrize("kwargs,message", [
    ({"sequences": ("T1", "DWI")}, "unknown sequence"),
    ({"sequences": ()}, "unknown sequence"),
    ({"size": "huge"}, "unknown simulation size"),
    ({"subjects": 0}, "between 1 and 999"),
    ({"reference": "7t"}, "unknown reference"),
])
def test_bad_arguments_are_expected_failures(tmp_path, kwargs, message):
    arguments = {"subjects": 1, **kwargs}
    with pytest.raises(LohiresError, match=message):
        simulate_dataset(tmp_path, **arguments)


def test_lesions_can_be_switched_off(tmp_path):
    # Seed 1's first subject has white-matter lesions (label 5) unless they are switched off.
    for lesions in (True, False):
        simulate_dataset(tmp_path / str(lesions), 1, sequences=("FLAIR",), seed=1, size="small", labels=True,
                         lesions=lesions)
    with_lesions, without = (np.asarray(nib.load(tmp_path / str(flag) / "Labels" / "POCEMR001_labels.nii.gz")
                                        .dataobj) for flag in (True, False))
    assert (with_lesions == 5).sum() > 0 and (without == 5).sum() == 0


def flair_under_references(out: Path, references: tuple[str, ...], seed: int, labels: bool = False
                           ) -> Callable[..., np.ndarray]:
    """One small FLAIR subject simulated once per reference (with its noise-free signal); returns
    volume(reference, folder="High_field")."""
    for reference in references:
        simulate_dataset(out / reference, 1, sequences=("FLAIR",), seed=seed, size="small", noise_free=True,
                         labels=labels, reference=reference)

    def volume(reference: str, folder: str = "High_field") -> np.ndarray:
        return np.asarray(nib.load(out / reference / folder / "POCEMR001_FLAIR.nii.gz").dataobj, float)
    return volume


def test_a_monotone_reference_is_3t_contrast_as_a_function_of_the_64mt_signal(tmp_path):
    # FLAIR reverses the scalp between the fields, so its 3 T reference is far from any non-decreasing
    # function of the 64 mT noise-free signal; the monotone reference is one (up to resampling onto the
    # 3 T grid), and nearer the 3 T reference than the noise-free signal itself is. Only the High_field
    # volume differs between the two.
    volume = flair_under_references(tmp_path, ("3t", "monotone"), seed=5)

    truth = volume("monotone", "Noise_free")

    def explained(high: np.ndarray) -> float:  # R^2 of the best non-decreasing function of the truth
        fitted = monotone_recontrast(truth, high)
        return 1.0 - float(np.sum((high - fitted) ** 2) / np.sum((high - high.mean()) ** 2))

    monotone, reference = volume("monotone", "High_field"), volume("3t", "High_field")
    assert explained(monotone) > 0.98
    assert explained(reference) < 0.95
    assert np.corrcoef(monotone.ravel(), reference.ravel())[0, 1] > np.corrcoef(truth.ravel(),
                                                                              reference.ravel())[0, 1] + 0.05
    for folder in ("Low_field", "Noise_free"):
        assert np.array_equal(volume("3t", folder), volume("monotone", folder))


def test_a_brain_fitted_reference_takes_3t_contrast_from_the_brain_and_its_lesions_stand_out(tmp_path):
    # A FLAIR's scalp fat is about as bright as the brain at 64 mT and twice as bright at 3 T: a map fitted
    # over the whole head pulls the brain's values towards the fat's and fades the lesions against white
    # matter. Fitted on the brain, the reference is still a non-decreasing function of the 64 mT signal,
    # is nearer 3 T over the brain, and its lesions stand out more (here more than at 3 T: the small
    # grid's lesions are partial volumes). Seed 1's first subject has lesions.
    volume = flair_under_references(tmp_path, ("3t", *MONOTONE_REFERENCES), seed=1, labels=True)

    labels = np.asarray(nib.load(tmp_path / "3t" / "Labels" / "POCEMR001_labels.nii.gz").dataobj)
    brain = np.isin(labels, [tissue_label(t) for t in BRAIN_TISSUES])
    white, lesion = labels == tissue_label(WHITE_MATTER), labels == tissue_label(LESION)
    truth, reference = volume("monotone", "Noise_free"), volume("3t")
    whole_head, brain_fitted = volume("monotone"), volume("monotone-brain")
    fitted = monotone_recontrast(truth, brain_fitted)
    assert 1.0 - np.sum((brain_fitted - fitted) ** 2) / np.sum((brain_fitted - brain_fitted.mean()) ** 2) > 0.98
    assert (np.abs(brain_fitted - reference)[brain].mean()
            < 0.8 * np.abs(whole_head - reference)[brain].mean())
    assert lesion_contrast(brain_fitted, lesion, white) > lesion_contrast(whole_head, lesion, white) + 0.05
    for folder in ("Low_field", "Noise_free"):
        assert np.array_equal(volume("monotone-brain", folder), volume("monotone", folder))


def test_a_noise_free_reference_is_the_inputs_own_signal_and_leaves_the_input_alone(tmp_path):
    # The denoising target: High_field is what Noise_free holds, which has the input's contrast (it tracks
    # the input far better than the 3 T reference does), and the 64 mT volume is the same file as with a
    # 3 T reference.
    volume = flair_under_references(tmp_path, ("3t", NOISE_FREE_REFERENCE), seed=2)

    target, low = volume("noise-free", "High_field"), volume("noise-free", "Low_field")
    assert np.array_equal(target, volume("noise-free", "Noise_free"))
    assert np.array_equal(low, volume("3t", "Low_field"))
    assert (np.corrcoef(target.ravel(), low.ravel())[0, 1]
            > np.corrcoef(volume("3t", "High_field").ravel(), low.ravel())[0, 1] + 0.05)


def test_cli_writes_pairs_and_dicom(tmp_path):
    result = CliRunner().invoke(train_main, [
        "simulate", str(tmp_path / "out"), "--subjects", "1", "--sequences", "flair,T1", "--seed", "3",
        "--dicom-dir", str(tmp_path / "dcm"), "--size", "small"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out" / "Low_field").iterdir()) == [
        "POCEMR001_FLAIR.nii.gz", "POCEMR001_T1.nii.gz"]
    files = sorted((tmp_path / "dcm" / "POCEMR001_FLAIR").glob("*.dcm"))
    thickness = float(pydicom.dcmread(files[0]).SliceThickness)  # drawn per pair
    assert len(files) == int(SMALL.extent_mm // thickness) > 0  # every whole slice that fits the extent


def test_cli_writes_the_monotone_reference_when_asked(tmp_path):
    result = CliRunner().invoke(train_main, [
        "simulate", str(tmp_path), "--subjects", "1", "--sequences", "T2", "--size", "small",
        "--reference", "monotone"])
    assert result.exit_code == 0, result.output
    header = nib.load(tmp_path / "High_field" / "POCEMR001_T2.nii.gz").header
    assert header["descrip"].tobytes().rstrip(b"\0").endswith(b"monotone")


def test_cli_unknown_sequence_is_one_line_exit_1(tmp_path):
    result = subprocess.run([program("lohires-train"), "simulate", str(tmp_path), "--subjects", "1",
                             "--sequences", "T1,PD"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown sequence(s) PD" in lines[0]


def test_cli_unwritable_output_is_one_line_exit_1(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = subprocess.run([program("lohires-train"), "simulate", str(blocker / "out"), "--subjects", "1",
                             "--sequences", "T1", "--size", "small"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "a-file" in result.stderr
