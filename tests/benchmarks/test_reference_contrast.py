"""benchmarks.reference_contrast: the contrasts it reports of a volume over its tissue labels."""

from __future__ import annotations

import math

import numpy as np

from benchmarks.quality import MIN_LESION_VOXELS
from benchmarks.reference_contrast import contrasts
from trainer.simulate.dataset import tissue_label
from trainer.simulate.tissues import GREY_MATTER, LESION, WHITE_MATTER


def volume_and_labels(lesion_voxels: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros(200, dtype=np.int16)
    labels[:80], labels[80:160] = tissue_label(WHITE_MATTER), tissue_label(GREY_MATTER)
    labels[160:160 + lesion_voxels] = tissue_label(LESION)
    image = np.select([labels == tissue_label(t) for t in (WHITE_MATTER, GREY_MATTER, LESION)],
                      [1000.0, 750.0, 1300.0], default=0.0)
    return image, labels


def test_grey_white_and_lesion_contrast_are_relative_to_white_matter():
    scores = contrasts(*volume_and_labels(MIN_LESION_VOXELS))
    assert math.isclose(scores["grey_white"], 0.25) and math.isclose(scores["lesion"], 0.30)


def test_too_few_lesion_voxels_give_no_lesion_contrast():
    scores = contrasts(*volume_and_labels(MIN_LESION_VOXELS - 1))
    assert math.isclose(scores["grey_white"], 0.25) and math.isnan(scores["lesion"])
