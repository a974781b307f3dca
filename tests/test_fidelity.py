"""The fidelity score and the grey/white CNR gain on a simulated 64 mT T1 slab (1 mm grid, 1.6 mm source)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from skimage.transform import resize

from lohires_edge.fidelity import DEPARTURE, VolumeFidelity, departure_map, fidelity, slice_scores
from lohires_edge.image_quality import cnr_gain, lesion_contrast, white_grey_masks
from trainer.simulate import Geometry, simulate_dataset

# 20 slices of 220 x 220 one-millimetre voxels through the middle of the head.
SLAB = Geometry(fov_mm=220.0, high_matrix=220, high_slices=20)
PIXEL_MM = 1.0


@pytest.fixture(scope="module")
def slab(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    """(64 mT T1 volume, tissue labels) of one simulated subject."""
    out = tmp_path_factory.mktemp("fidelity")
    simulate_dataset(out, 1, sequences=("T1",), seed=2, size=SLAB, labels=True)
    low = np.asarray(nib.load(str(next(Path(out, "Low_field").glob("*.nii.gz")))).dataobj, dtype=np.float64)
    labels = np.asarray(nib.load(str(next(Path(out, "Labels").glob("*.nii.gz")))).dataobj)
    return low, labels


def smoothed(volume: np.ndarray, sigma_mm: float = 1.5) -> np.ndarray:
    return gaussian_filter(volume, (sigma_mm / PIXEL_MM, sigma_mm / PIXEL_MM, 0))


def lesion_disc(labels: np.ndarray, radius_mm: float = 8.0) -> np.ndarray:
    """A disc in the white matter of a slice."""
    rows, cols = np.nonzero(labels == 1)
    centre = rows[len(rows) // 2], cols[len(cols) // 2]
    yy, xx = np.indices(labels.shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= (radius_mm / PIXEL_MM) ** 2


def with_lesion(slice_: np.ndarray, labels: np.ndarray, radius_mm: float = 8.0) -> np.ndarray:
    """A bright disc in the white matter (half again the white-matter signal) that the input does not have."""
    return slice_ + 0.5 * np.median(slice_[labels == 1]) * lesion_disc(labels, radius_mm)


def test_the_input_itself_is_perfectly_faithful(slab):
    low, _ = slab
    score = fidelity(low, low.copy(), PIXEL_MM)
    assert score.r2 == pytest.approx(1.0, abs=1e-12) and score.departing == 0.0


def test_smoothing_by_1_5_mm_is_nearly_faithful(slab):
    low, _ = slab
    score = fidelity(low, smoothed(low), PIXEL_MM)
    assert 0.975 < score.r2 < 0.999
    assert 0.0 < score.departing < 0.025  # 0.2-2.2 % over simulated subjects (the scalp's edges)


def test_a_monotone_contrast_change_keeps_the_score_high(slab):
    low, _ = slab
    score = fidelity(low, 1000.0 * (low / low.max()) ** 0.6, PIXEL_MM)
    assert score.r2 > 0.99 and score.departing < 0.002


def test_an_invented_lesion_lowers_the_score_and_departs(slab):
    low, labels = slab
    k = low.shape[2] // 2
    faithful = fidelity(low[:, :, k], smoothed(low)[:, :, k], PIXEL_MM)
    invented = fidelity(low[:, :, k], with_lesion(smoothed(low)[:, :, k], labels[:, :, k]), PIXEL_MM)
    # An 8 mm disc moves R^2 little (0.009 on this subject's draw): the score catches widespread departures.
    assert invented.r2 < faithful.r2 - 0.005
    assert invented.departing > faithful.departing + 0.005


def test_the_departure_map_points_at_the_invented_lesion(slab):
    low, labels = slab
    k = low.shape[2] // 2
    departure = departure_map(low[:, :, k], with_lesion(smoothed(low)[:, :, k], labels[:, :, k]), PIXEL_MM)
    disc = lesion_disc(labels[:, :, k])
    departing = np.abs(departure.residual) > DEPARTURE
    assert departing[disc].mean() > 0.5  # most of the lesion departs...
    assert departing[departure.head & ~disc].mean() < 0.02  # ...and little else does
    assert np.all(departure.residual[~departure.head] == 0.0)


def test_an_output_on_a_finer_grid_is_compared_over_the_same_field_of_view(slab):
    low, _ = slab
    source = resize(low[:, :, 10], (125, 125), anti_aliasing=True, preserve_range=True)  # the 1.6 mm series
    finer = resize(source, (224, 224), order=3, preserve_range=True)  # the model grid, same field of view
    shifted = np.roll(finer, 12, axis=1)  # the same image 5 source pixels off: not this input's anatomy
    assert fidelity(source, finer, 1.6).r2 > 0.99
    assert fidelity(source, shifted, 1.6).r2 < 0.9


def test_a_region_judges_its_own_voxels_with_its_own_fit(slab):
    # The scalp's contrast turned upside down (as a model taught another field's contrast may do) departs over
    # the head, not over the brain; an invented lesion in the brain departs over both.
    low, labels = slab
    k = low.shape[2] // 2
    source, brain = low[:, :, k], np.isin(labels[:, :, k], (1, 2, 3, 5))  # white, grey matter, CSF, lesion
    scalp = (labels[:, :, k] == 4) | (labels[:, :, k] == 7)  # fat, muscle
    inverted_scalp = np.where(scalp, source.max() - source, source)
    assert fidelity(source, inverted_scalp, PIXEL_MM).r2 < 0.9
    assert fidelity(source, inverted_scalp, PIXEL_MM, region=brain).r2 > 0.97
    lesion = with_lesion(source, labels[:, :, k])
    assert fidelity(source, lesion, PIXEL_MM, region=brain).departing > 0.005  # 1.2 % of the brain here
    assert fidelity(source, source, PIXEL_MM, region=np.zeros_like(brain)) is None  # nothing to judge


def test_a_slice_without_anatomy_is_not_judged():
    noise = np.hypot(*np.random.default_rng(0).normal(0, 30, (2, 128, 128)))
    assert fidelity(noise, noise + 5.0, PIXEL_MM) is None
    assert fidelity(np.zeros((64, 64)), np.ones((64, 64)), PIXEL_MM) is None


def test_zero_padding_around_the_acquisition_is_not_a_head(slab):
    """A field of view padded with zeros (a volume resampled onto a larger grid): its noise-only slices are
    not judged, and a slice with a head scores as it does unpadded."""
    low, labels = slab
    noise = np.hypot(*np.random.default_rng(0).normal(0, 30, (2, 128, 128)))
    padded_noise = np.pad(noise, 40)
    assert fidelity(padded_noise, padded_noise + 5.0, PIXEL_MM) is None
    k = low.shape[2] // 2
    source = low[:, :, k]
    lesion = with_lesion(source, labels[:, :, k])
    unpadded = fidelity(source, lesion, PIXEL_MM)
    padded = fidelity(np.pad(source, 40), np.pad(lesion, 40), PIXEL_MM)
    assert padded.r2 == pytest.approx(unpadded.r2, abs=0.002) and padded.r2 < 0.995  # the lesion departs
    assert padded.departing == pytest.approx(unpadded.departing, rel=0.2)


def test_a_background_set_to_zero_still_leaves_a_head(slab):
    """Some scanners zero the background around the head: the head is still found and judged."""
    low, labels = slab
    k = low.shape[2] // 2
    source = np.where(labels[:, :, k] > 0, low[:, :, k], 0.0)
    score = fidelity(source, with_lesion(source, labels[:, :, k]), PIXEL_MM)
    assert score is not None and score.r2 < 0.995 and score.departing > 0.0


def test_nan_voxels_count_as_background(slab):
    low, _ = slab
    holed = low[:, :, 10].copy()
    holed[:5, :5] = np.nan
    score = fidelity(holed, holed, PIXEL_MM)
    assert score.r2 == pytest.approx(1.0) and score.departing == 0.0


def test_a_flat_output_keeps_nothing(slab):
    low, _ = slab
    assert fidelity(low[:, :, 10], np.full(low.shape[:2], 500.0), PIXEL_MM).r2 == 0.0


@pytest.mark.parametrize("pixel_mm", [0.0, -1.0, float("nan"), (1.0,), (1.0, 1.0, 1.0)])
def test_a_bad_pixel_size_is_refused(pixel_mm):
    with pytest.raises(ValueError, match="pixel size"):
        fidelity(np.ones((8, 8)), np.ones((8, 8)), pixel_mm)


def test_mismatched_slices_are_refused():
    with pytest.raises(ValueError, match="same slices"):
        fidelity(np.ones((8, 8, 3)), np.ones((8, 8, 2)), 1.0)


def test_slice_scores_summarize_the_slices_with_anatomy(slab):
    low, labels = slab
    sources = [low[:, :, k] for k in (5, 10, 15)] + [np.zeros((200, 200))]
    outputs = [sources[0], with_lesion(sources[1], labels[:, :, 10], radius_mm=12.0), sources[2], sources[3]]
    volume = slice_scores(sources, outputs, [PIXEL_MM] * 4)
    assert volume.scores[0] == volume.scores[2] == pytest.approx(1.0) and volume.scores[3] is None
    assert volume.minimum == volume.scores[1] < 0.99
    assert volume.median == pytest.approx(1.0)
    assert volume.below(0.99) == [1]


def test_a_volume_with_no_anatomy_has_no_summary():
    volume = VolumeFidelity((None, None))
    assert volume.minimum is None and volume.median is None and volume.below(0.9) == []


def test_cnr_gain_is_one_for_the_input_and_rises_with_smoothing_falls_with_noise(slab):
    low, labels = slab
    white, grey = labels == 1, labels == 2
    # As much noise again as white matter already varies by: the CNR falls by at least sqrt(2).
    noisy = low + np.random.default_rng(1).normal(0, np.std(low[white]), low.shape)
    assert cnr_gain(low, low, white, grey) == pytest.approx(1.0)
    assert 1.3 < cnr_gain(low, smoothed(low), white, grey) < 2.5
    assert cnr_gain(low, noisy, white, grey) < 0.8


def test_lesion_contrast_tells_a_faded_lesion_from_a_kept_one(slab):
    low, labels = slab
    k = low.shape[2] // 2
    image, tissue = low[:, :, k], labels[:, :, k]
    disc = lesion_disc(tissue)
    white = (tissue == 1) & ~disc
    lesioned = with_lesion(image, tissue)  # half again the white-matter signal
    kept = lesion_contrast(lesioned, disc, white)
    assert kept == pytest.approx(0.5, abs=0.1)
    assert lesion_contrast(3.0 * lesioned, disc, white) == pytest.approx(kept)  # no unit
    faded = image + 0.2 * (lesioned - image)
    assert lesion_contrast(faded, disc, white) < kept / 3
    assert np.isnan(lesion_contrast(lesioned, np.zeros_like(disc), white))


def test_multi_otsu_masks_find_white_and_grey_matter_of_a_t1(slab):
    low, labels = slab
    brain = (labels >= 1) & (labels <= 3)  # white and grey matter, CSF
    white, grey = white_grey_masks(smoothed(low), brain, "T1")
    assert np.mean(labels[white] == 1) > 0.55  # the rest: grey matter partial-volumed at 64 mT
    assert np.mean(labels[grey] == 2) > 0.4
    with pytest.raises(ValueError, match="unknown sequence"):
        white_grey_masks(low, brain, "PD")
