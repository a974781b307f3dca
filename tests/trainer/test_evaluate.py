"""evaluate: the seed's CSV per subject, the 64 mT baseline, medical metrics, NIfTI outputs; run dir or ONNX."""

from __future__ import annotations

import csv
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from click.testing import CliRunner

from lohires_edge.image_quality import IMAGE_METRICS, MEDICAL_METRICS, image_metrics
from lohires_edge.slice_mapping import MappingParams
from tests.trainer.conftest import write_pairs
from trainer.cli import main
from trainer.evaluation import to_reference_scale
from trainer.simulate.dataset import simulate_dataset

TINY = ["--size", "32", "--base-filters", "4", "--disc-filters", "4", "--batch-size", "8", "--quiet"]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(simulated data, run directory, exported ONNX) from the real simulator, fit and export."""
    root = tmp_path_factory.mktemp("evaluate")
    data = root / "sim"
    simulate_dataset(data, 3, ["T1"], seed=5, size="small")
    run, onnx_path = root / "run", root / "t1.onnx"
    runner = CliRunner()
    fitted = runner.invoke(main, ["fit", str(data), "--sequence", "T1", "--out", str(run), "--epochs", "1", *TINY])
    assert fitted.exit_code == 0, fitted.output
    exported = runner.invoke(main, ["export", str(run), "--onnx", str(onnx_path)])
    assert exported.exit_code == 0, exported.output
    return data, run, onnx_path


def test_run_and_onnx_give_the_same_per_subject_csvs(trained: tuple[Path, Path, Path], tmp_path: Path) -> None:
    data, run, onnx_path = trained
    results = {}
    for name, model in (("run", run), ("onnx", onnx_path)):
        out = tmp_path / name / "metrics.csv"
        result = CliRunner().invoke(main, ["evaluate", str(model), str(data), "--sequence", "T1", "--csv", str(out),
                                           "--outputs", str(tmp_path / name / "nifti")])
        assert result.exit_code == 0, result.output
        assert "| ssim |" in result.output
        main_rows = rows(out)
        assert list(main_rows[0]) == ["filename", *IMAGE_METRICS]
        assert [r["filename"] for r in main_rows] == [f"POCEMR00{i}_T1.nii.gz" for i in (1, 2, 3)]
        assert list(rows(out.with_name("metrics_input.csv"))[0]) == ["filename", *IMAGE_METRICS]
        medical = rows(out.with_name("metrics_medical.csv"))
        assert list(medical[0]) == ["filename", "image", *MEDICAL_METRICS]
        assert [r["image"] for r in medical[:3]] == ["enhanced", "input", "reference"]
        results[name] = main_rows
    for from_run, from_onnx in zip(results["run"], results["onnx"]):
        for metric in IMAGE_METRICS:
            assert float(from_run[metric]) == pytest.approx(float(from_onnx[metric]), rel=1e-3, abs=1e-3)


def test_outputs_are_the_volumes_the_csv_describes(trained: tuple[Path, Path, Path], tmp_path: Path) -> None:
    data, _, onnx_path = trained
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(main, ["evaluate", str(onnx_path), str(data), "--sequence", "T1", "--csv", str(out),
                                       "--outputs", str(tmp_path / "nifti")])
    assert result.exit_code == 0, result.output
    reference = nib.load(data / "High_field" / "POCEMR002_T1.nii.gz")
    written = nib.load(tmp_path / "nifti" / "POCEMR002_T1.nii.gz")
    assert written.shape == reference.shape and np.allclose(written.affine, reference.affine)
    expected = image_metrics(np.asarray(reference.dataobj, np.float64), np.asarray(written.dataobj, np.float64))
    row = rows(out)[1]
    assert float(row["ssim"]) == pytest.approx(expected["ssim"], rel=1e-4)
    assert float(row["mae"]) == pytest.approx(expected["mae"], rel=1e-4)


def test_the_input_baseline_is_judged_on_the_reference_scale(tmp_path: Path) -> None:
    """A 64 mT volume that is an exact linear copy of the 3 T one scores perfectly once rescaled."""
    data = write_pairs(tmp_path / "data", 1)
    high = nib.load(data / "High_field" / "POCEMR000_T1.nii.gz")
    volume = np.asarray(high.dataobj, np.float64)
    rescaled = to_reference_scale(0.3 * volume + 7.0, volume, MappingParams())
    scores = image_metrics(volume, rescaled)
    assert scores["mae"] < 1e-9 and scores["ssim"] == pytest.approx(1.0) and scores["corr"] == pytest.approx(1.0)


def test_a_model_for_another_sequence_is_refused(trained: tuple[Path, Path, Path], tmp_path: Path) -> None:
    data, _, onnx_path = trained
    result = CliRunner().invoke(main, ["evaluate", str(onnx_path), str(data), "--sequence", "FLAIR",
                                       "--csv", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "is a T1 model, not FLAIR" in result.output
    assert "Traceback" not in result.output
