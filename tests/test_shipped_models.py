"""The models shipped in the package: one per sequence, self-describing, runnable, documented, small, and
closer to 3 T than the 64 mT input, and faithful to it, on a subject no model has seen.

Nothing here names a particular model or version: the shipped files may be replaced by retrained ones of
the same names, and these tests then say whether the new ones still deserve to be the defaults.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import SEQUENCES, read_contract
from lohires_edge.fidelity import DEFAULT_MIN_FIDELITY, fidelity
from lohires_edge.inference import enhance_slices
from lohires_edge.models import MODELS_DIR, default_model_path
from trainer.simulate import HIGH_FIELD_DIR, LOW_FIELD_DIR, subject_id

MAX_BYTES = 30 * 1024 ** 2
SHIPPED_SEQUENCES = ("T1", "T2", "FLAIR")
SHIPPED = [default_model_path(sequence) for sequence in SHIPPED_SEQUENCES]
SIMULATED_PIXEL_MM = 1.0  # the simulator's volumes lie on the 1 mm 3 T grid


def test_the_shipped_models_are_named_by_sequence_and_nothing_else_is_shipped():
    assert sorted(MODELS_DIR.glob("*.onnx")) == sorted(SHIPPED)
    assert set(SHIPPED_SEQUENCES) <= set(SEQUENCES)


@pytest.mark.parametrize("sequence", SHIPPED_SEQUENCES)
def test_each_model_names_its_sequence_and_has_a_card(sequence):
    model = default_model_path(sequence)
    contract = read_contract(model)
    assert contract.sequence == sequence and model.stem == sequence.lower()
    assert model.stat().st_size <= MAX_BYTES
    card = model.with_suffix(".md")
    assert card.is_file(), f"{model.name} has no model card"
    assert contract.model_id in card.read_text(), "the model card describes another model than the one shipped"


@pytest.mark.parametrize("sequence", SHIPPED_SEQUENCES)
def test_each_model_runs_in_onnx_runtime_on_its_own_grid(sequence):
    with OnnxRuntimeBackend(default_model_path(sequence)) as backend:
        size = backend.contract.input_size
        batch = np.random.default_rng(0).uniform(-1, 1, (2, size, size)).astype(np.float32)
        out = backend.run(batch)
    assert out.shape == batch.shape and out.dtype == np.float32
    assert np.isfinite(out).all()  # residual models are unbounded: the slice mapping clips to the window
    assert not np.allclose(out[0], out[1])  # the output depends on the input


@pytest.fixture(scope="module")
def unseen_subject(tmp_path_factory):
    """One full-size simulated subject with a seed no shipped model was trained or validated on."""
    from trainer.simulate import simulate_dataset
    out = tmp_path_factory.mktemp("unseen")
    simulate_dataset(out, subjects=1, sequences=SEQUENCES, seed=4242)
    return out


@pytest.mark.parametrize("sequence", SHIPPED_SEQUENCES)
def test_each_model_brings_the_64mT_input_closer_to_3T_and_the_guard_passes_it(sequence, unseen_subject):
    # Closer to 3 T, but never at the price of faithfulness: a default model whose slices the node's
    # fidelity guard would flag is no default. The PSNR bar is low because a model may keep the 64 mT
    # contrast (the T1 and FLAIR models denoise only, their cards) and then gain on structure, not on intensities.
    from trainer.reference import compare

    name = f"{subject_id(1)}_{sequence}.nii.gz"
    low = np.asarray(nib.load(unseen_subject / LOW_FIELD_DIR / name).dataobj)
    high = np.asarray(nib.load(unseen_subject / HIGH_FIELD_DIR / name).dataobj)
    middle = low.shape[2] // 2
    picks = range(middle - 20, middle + 21, 8)
    with OnnxRuntimeBackend(default_model_path(sequence)) as backend:
        enhanced = enhance_slices(backend, [low[:, :, k] for k in picks])
    gains, scores = [], []
    for k, out in zip(picks, enhanced):
        metrics = compare(high[:, :, k], {"input": low[:, :, k], "model": out})
        gains.append([metrics["model"][m] - metrics["input"][m] for m in ("ssim", "psnr")])
        scores.append(fidelity(low[:, :, k].astype(np.float64), out.astype(np.float64), SIMULATED_PIXEL_MM).r2)
    ssim_gains, psnr_gains = np.array(gains).T
    # Closer on average by a clear margin, and on most slices: one lucky slice cannot carry a bad model.
    assert ssim_gains.mean() > 0.1, f"SSIM gain {ssim_gains.mean():.3f}"
    assert psnr_gains.mean() > 0.1, f"PSNR gain {psnr_gains.mean():.2f} dB"
    assert (ssim_gains > 0).sum() >= len(picks) - 1, f"SSIM gains per slice {np.round(ssim_gains, 3)}"
    assert (np.array(scores) >= DEFAULT_MIN_FIDELITY).sum() >= len(picks) - 1, f"fidelity {np.round(scores, 3)}"
