"""The arithmetic and formatting the benchmark scripts report: line fit, summaries, tables, peak memory."""

from __future__ import annotations

import os
import resource
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.flip_disagreement import suggested_threshold, texture_correlation, white_matter_texture
from benchmarks.linear_fit import fit_line
from benchmarks.matmul_peak import matmul_flops
from benchmarks.quality import main as quality_main
from benchmarks.quality import out_of_range_cases, summarize
from benchmarks.report import markdown_table, write_record
from benchmarks.round_trip import peak_rss_mib
from lohires_edge.models import default_model_path

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(slope=finite, intercept=finite, xs=st.lists(st.integers(1, 500), min_size=2, max_size=8, unique=True))
def test_fit_recovers_an_exact_line(slope: float, intercept: float, xs: list[int]) -> None:
    fit = fit_line(xs, [slope * x + intercept for x in xs])
    assert fit.slope == pytest.approx(slope, abs=1e-6)
    assert fit.intercept == pytest.approx(intercept, abs=1e-4)
    if abs(slope) > 1e-3:  # a flat line explains no variance; r^2 is 0 by convention
        assert fit.r_squared == pytest.approx(1.0)


def test_fit_of_scattered_points_has_r_squared_below_one() -> None:
    xs = [20, 50, 100, 200]
    ys = [0.1 * x + (1.0 if i % 2 else -1.0) for i, x in enumerate(xs)]
    fit = fit_line(xs, ys)
    assert 0.9 < fit.r_squared < 1.0
    assert fit.slope == pytest.approx(np.polyfit(xs, ys, 1)[0])


def test_fit_refuses_a_single_x() -> None:
    with pytest.raises(ValueError, match="two different x"):
        fit_line([50, 50], [1.0, 2.0])


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=6))
def test_summary_is_mean_and_sample_sd_per_image(values: list[float]) -> None:
    per_subject = [{"a": {"psnr": v, "ssim": v / 100, "nrmse": 1 - v / 100}} for v in values]
    summary = summarize(per_subject)["a"]
    assert summary["psnr"] == pytest.approx(statistics.fmean(values))
    assert summary["psnr_sd"] == pytest.approx(statistics.stdev(values), abs=1e-9)
    assert summary["ssim"] == pytest.approx(statistics.fmean(values) / 100)


def test_summary_leaves_out_subjects_without_the_metric() -> None:
    # Lesion contrast is NaN for a subject drawn without lesions: it must not make the mean NaN.
    nan = float("nan")
    per_subject = [{"a": {"lesion_contrast": v}} for v in (0.5, nan, 0.7)]
    summary = summarize(per_subject, ("lesion_contrast",))["a"]
    assert summary["lesion_contrast"] == pytest.approx(0.6)
    assert summary["lesion_contrast_sd"] == pytest.approx(0.1414, abs=1e-4)
    assert np.isnan(summarize([{"a": {"lesion_contrast": nan}}], ("lesion_contrast",))["a"]["lesion_contrast"])


def test_no_out_of_range_subjects_means_no_cases_and_nothing_simulated(tmp_path) -> None:
    assert list(out_of_range_cases(tmp_path, "T1", 0)) == []
    assert list(tmp_path.iterdir()) == []


def test_quality_refuses_two_models_of_one_sequence_before_scoring_either(tmp_path, capsys) -> None:
    """Its record is keyed by sequence: a second T1 would silently overwrite the first's scores."""
    t1 = str(default_model_path("T1"))
    with pytest.raises(SystemExit) as exit_:
        quality_main(["--model", t1, "--model", t1, "--work", str(tmp_path / "work"),
                      "--results", str(tmp_path / "results")])
    assert exit_.value.code == 2
    assert "one --model per sequence: T1" in capsys.readouterr().err
    assert not (tmp_path / "work").exists() and not (tmp_path / "results").exists()


def test_markdown_table_has_a_header_rule_and_one_line_per_row() -> None:
    table = markdown_table(["N", "ratio"], [[20, 1.23456], [200, "x"]]).splitlines()
    assert table == ["| N | ratio |", "| --- | --- |", "| 20 | 1.235 |", "| 200 | x |"]


def test_record_carries_the_command_and_machine(tmp_path) -> None:
    path = write_record("example", {"rows": [1, 2]}, results_dir=tmp_path / "results")
    record = __import__("json").loads(path.read_text())
    assert path == tmp_path / "results" / "example.json"
    assert record["rows"] == [1, 2] and record["machine"]["cpus"] == len(os.sched_getaffinity(0))
    assert "command" in record


def test_peak_rss_agrees_with_getrusage() -> None:
    # Both are the kernel's high-water mark of this process's resident set (ru_maxrss in KiB on Linux).
    np.ones(32 * 1024 * 1024 // 8)  # touch 32 MiB so the mark is well above the interpreter's own
    assert peak_rss_mib(os.getpid()) == pytest.approx(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                                      rel=0.05)


def test_matmul_flops_counts_a_multiply_add_as_two() -> None:
    a, b = np.ones((3, 3)), np.ones((3, 3))
    assert matmul_flops(3) == 2 * (a @ b).sum()  # 9 outputs, each a sum of 3 products


def test_flip_threshold_is_the_next_step_above_every_score() -> None:
    assert suggested_threshold([0.01, 0.0649]) == 0.065
    assert suggested_threshold([0.065]) == 0.07  # strictly above, although 0.065 / 0.005 is 12.999... in floats
    assert suggested_threshold([0.0]) == 0.005


def test_white_matter_texture_is_relative_spread_in_the_eroded_white_matter() -> None:
    labels = np.zeros((80, 80), np.int16)
    labels[10:70, 10:70] = 1  # 3600 mm2 of white matter at 1 mm
    output = np.full((80, 80), 100.0)
    output[::2, :] += 10.0  # stripes: std 5 around a mean of 105
    output[10:12, :] = 1000.0  # the outer rows of the white matter are eroded away
    assert white_matter_texture(output, labels, (1.0, 1.0)) == pytest.approx(5.0 / 105.0)
    assert white_matter_texture(output, labels, (0.5, 0.5)) is None  # 900 mm2: too little to judge


def test_texture_correlation_uses_only_slices_with_a_texture() -> None:
    rows = [(0.01, 0.1), (0.02, None), (0.03, 0.3), (0.05, 0.5)]
    assert texture_correlation(rows) == pytest.approx(1.0)
    assert texture_correlation([(0.01, 0.1), (0.02, None), (0.03, 0.2)]) is None  # two pairs say nothing
