"""Issue 15: structure a model makes out of noise it was not trained on.

    .venv/bin/python -m benchmarks.noise_mottling --model ONNX [--model ONNX ...] --data DIR [--max-subjects N]

Why: a denoiser that meets more noise than it learned can turn it into faint patches a few millimetres
across, and on FLAIR a reader looks for faint bright patches. The fidelity score compares each output with
its own (noisy) input, so it cannot see this. Here each labelled subject is enhanced twice, as it is and
with the magnitude noise of benchmarks.quality's lower-SNR condition added, and the change the added noise
makes, less any change of a whole slice's brightness and gain (a least-squares line per slice), is smoothed
(σ SMOOTHING pixels, in-plane: what remains is the low-frequency part, the patches) and read over the
brain as a percentile of |change|, in units of the clean image's median over the brain. The
same figure of the input itself is the yardstick: what the noise leaves after plain smoothing. A model
above it has built patches out of the noise; a denoiser that removes noise comes out below it.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.ndimage import gaussian_filter

from benchmarks.inputs import labelled_model_arguments, tissue_labels, write_labelled_model_record
from benchmarks.quality import BRAIN_LABELS, HELDOUT_SEED, enhanced_volume, with_rician_noise
from benchmarks.report import markdown_table, run_script
from trainer.pairs import find_pairs, load_pair

log = logging.getLogger(__name__)

SMOOTHING = 1.5  # pixels (1 mm): keeps patches of a few millimetres, averages single-voxel noise away
PERCENTILE = 99.9  # of |change| over the brain: the strongest patches, not one voxel
INPUT = "64 mT input"


def mottling(clean: np.ndarray, noisy: np.ndarray, brain: np.ndarray) -> float:
    """The PERCENTILE-th |smoothed change| over `brain`, over the median of `clean` there. The change is
    `noisy` less its least-squares line on `clean`, slice by slice over the brain: a slice made brighter or
    darker as a whole (the slice window moves with the noise) is not a patch."""
    clean, noisy = np.asarray(clean, np.float64), np.asarray(noisy, np.float64)
    change = np.zeros_like(clean)
    for k in range(clean.shape[2]):
        inside = brain[:, :, k]
        if inside.sum() < 2:
            continue
        design = np.stack([clean[:, :, k][inside], np.ones(int(inside.sum()))], axis=1)
        slope, offset = np.linalg.lstsq(design, noisy[:, :, k][inside], rcond=None)[0]
        change[:, :, k] = noisy[:, :, k] - (slope * clean[:, :, k] + offset)
    change = gaussian_filter(change, (SMOOTHING, SMOOTHING, 0))
    return float(np.percentile(np.abs(change[brain]), PERCENTILE) / np.median(clean[brain]))


def main(argv: list[str] | None = None) -> int:
    args, sequence, backends = labelled_model_arguments(__doc__.splitlines()[0], argv)
    per_subject, rows = [], []
    for index, pair in enumerate(find_pairs(args.data, sequence)[:args.max_subjects]):
        labels = tissue_labels(args.data, pair.subject)
        brain = np.isin(labels, BRAIN_LABELS)
        low = load_pair(pair)[0].astype(np.float64)
        noisy = with_rician_noise(low, labels, np.random.default_rng([HELDOUT_SEED, index]))
        scores = {INPUT: mottling(low, noisy, brain),
                  **{name: mottling(enhanced_volume(backend, low), enhanced_volume(backend, noisy), brain)
                     for name, backend in backends.items()}}
        per_subject.append({"subject": pair.subject, **scores})
        rows.append([pair.subject, *(f"{value:.3f}" for value in scores.values())])
        log.info("%s %s scored", sequence, pair.subject)
    names = [INPUT, *backends]
    print(f"\n{sequence}: what added noise leaves after smoothing, {PERCENTILE:g}th percentile over the brain "
          "(of the clean image's median)\n")
    print(markdown_table(["subject", *names], rows))
    for name in backends:
        ratios = [s[name] / s[INPUT] for s in per_subject]
        print(f"\n{name}: {np.mean(ratios):.1f} x its input's on average "
              f"({min(ratios):.1f}-{max(ratios):.1f} over {len(ratios)} subjects)")
    write_labelled_model_record("noise_mottling", args, sequence, backends, per_subject)
    return 0


if __name__ == "__main__":
    run_script(main, "noise_mottling")
