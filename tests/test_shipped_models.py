"""The models shipped in the package: self-describing, documented, small, and better than the 64 mT input."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.contract import read_contract
from lohires_edge.inference import enhance_slices
from lohires_edge.models import MODELS_DIR, default_model_path

SHIPPED = sorted(MODELS_DIR.glob("*.onnx"))
MAX_BYTES = 30 * 1024 ** 2


def test_t1_is_shipped():
    assert default_model_path("T1") in SHIPPED


@pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.name)
def test_each_model_names_its_sequence_and_has_a_card(model):
    contract = read_contract(model)
    assert contract.sequence == model.stem.upper()
    assert model.stat().st_size <= MAX_BYTES
    card = model.with_suffix(".md")
    assert card.is_file(), f"{model.name} has no model card"
    assert contract.model_id in card.read_text(), "the model card describes another model than the one shipped"


@pytest.fixture(scope="module")
def unseen_subject(tmp_path_factory):
    """One full-size simulated subject with a seed no shipped model was trained or validated on."""
    from trainer.simulate import simulate_dataset
    out = tmp_path_factory.mktemp("unseen")
    simulate_dataset(out, subjects=1, sequences=tuple(read_contract(m).sequence for m in SHIPPED), seed=4242)
    return out


@pytest.mark.parametrize("model", SHIPPED, ids=lambda p: p.name)
def test_each_model_brings_the_64mT_input_closer_to_3T(model, unseen_subject):
    from trainer.reference import compare

    sequence = read_contract(model).sequence
    low = np.asarray(nib.load(unseen_subject / "Low_field" / f"POCEMR001_{sequence}.nii.gz").dataobj)
    high = np.asarray(nib.load(unseen_subject / "High_field" / f"POCEMR001_{sequence}.nii.gz").dataobj)
    middle = low.shape[2] // 2
    picks = range(middle - 20, middle + 21, 8)
    with OnnxRuntimeBackend(model) as backend:
        enhanced = enhance_slices(backend, [low[:, :, k] for k in picks])
    gains = []
    for k, out in zip(picks, enhanced):
        scores = compare(high[:, :, k], {"input": low[:, :, k], "model": out})
        gains.append((scores["model"]["ssim"] - scores["input"]["ssim"], scores["model"]["psnr"] - scores["input"]["psnr"]))
    ssim_gain, psnr_gain = np.mean(gains, axis=0)
    assert ssim_gain > 0.15, f"SSIM gain {ssim_gain:.3f}"
    assert psnr_gain > 0.5, f"PSNR gain {psnr_gain:.2f} dB"
