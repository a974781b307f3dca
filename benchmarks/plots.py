"""Item 6: PNG plots of the round trip (per-slice time against N) and of the quality table, drawn from the
JSON that benchmarks/round_trip.py and benchmarks/quality.py wrote.

    .venv/bin/python -m benchmarks.plots [--results benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.report import RESULTS_DIR  # noqa: E402

METRIC_LABELS = {"psnr": "PSNR (dB), higher is better", "ssim": "SSIM, higher is better",
                 "nrmse": "NRMSE, lower is better"}


def plot_round_trip(record: dict, out: Path) -> Path:
    rows = sorted(record["rows"], key=lambda r: r["slices"])
    n = [r["slices"] for r in rows]
    figure, (per_slice, total) = plt.subplots(1, 2, figsize=(11, 5))
    per_slice.plot(n, [r["per_slice_s"] * 1e3 for r in rows], "o-", label="round trip (storescu -> node -> storescp)")
    per_slice.plot(n, [r["inference_per_slice_s"] * 1e3 for r in rows], "s--", label="raw inference, same slices")
    if all(r.get("worker_per_slice_s") for r in rows):
        per_slice.plot(n, [r["worker_per_slice_s"] * 1e3 for r in rows], "^:", label="node worker (decode to spool)")
    per_slice.axhline(record["budget_s_per_slice"] * 1e3, color="red", linestyle=":", label="budget 1 s/slice")
    per_slice.set(xlabel="slices in the series (N)", ylabel="ms per slice (log scale)", yscale="log",
                  title="Per-slice time against series length")
    per_slice.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    total.plot(n, [r["total_s"] for r in rows], "o", label="measured total")
    fit = record.get("fit")
    if fit:
        total.plot(n, [fit["slope"] * x + fit["intercept"] for x in n], "-",
                   label=f"fit {fit['slope'] * 1e3:.0f} ms x N + {fit['intercept']:.1f} s (R² {fit['r_squared']:.3f})")
    total.plot(n, [record["budget_s_per_slice"] * x for x in n], "r:", label="budget 1 s x N")
    total.set(xlabel="slices in the series (N)", ylabel="seconds, first C-STORE to last derived ack",
              title="Total time against N, with its linear fit")
    total.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    figure.suptitle(f"{record['model']['id']} on {record['machine']['cpus']} CPU cores "
                    f"(load {record['machine']['load_average'][0]:.1f})", fontsize=9)
    figure.tight_layout()
    path = out / "round_trip.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_quality(record: dict, out: Path) -> Path:
    sequences = list(record["sequences"])
    images = list(record["sequences"][sequences[0]]["summary"])
    figure, axes = plt.subplots(1, len(record["metrics"]), figsize=(4.2 * len(record["metrics"]), 4.2))
    width = 0.8 / len(images)
    for axis, metric in zip(axes, record["metrics"]):
        for i, image in enumerate(images):
            summaries = [record["sequences"][s]["summary"][image] for s in sequences]
            axis.bar([k + (i - (len(images) - 1) / 2) * width for k in range(len(sequences))],
                     [s[metric] for s in summaries], width, yerr=[s[f"{metric}_sd"] for s in summaries],
                     capsize=3, label=image)
        axis.set_xticks(range(len(sequences)), sequences)
        axis.set_title(METRIC_LABELS[metric], fontsize=10)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(images), fontsize=8)
    subjects = len(record["sequences"][sequences[0]]["subjects"])
    models = ", ".join(r["model"] for r in record["sequences"].values())
    figure.suptitle(f"{models}: held-out simulated subjects vs the 3 T reference, mean ± sd over {subjects} "
                    f"subjects (INT8: {record['int8_target']} Q/DQ target)", fontsize=9)
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    path = out / "quality.png"
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder holding the JSON records")
    args = parser.parse_args(argv)
    drawn = 0
    for name, plot in (("round_trip", plot_round_trip), ("quality", plot_quality)):
        source = args.results / f"{name}.json"
        if not source.is_file():
            print(f"plots: no {source}; run `python -m benchmarks.{name}` first", file=sys.stderr)
            continue
        print(f"plot: {plot(json.loads(source.read_text()), args.results)}")
        drawn += 1
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
