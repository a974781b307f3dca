import numpy as np

from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.inference import enhance_slices
from lohires_edge.slice_mapping import from_model, to_model


def test_enhanced_slices_keep_shape_and_dtype_and_equal_the_model_output(tiny_model):
    backend = OnnxRuntimeBackend(tiny_model)
    rng = np.random.default_rng(0)
    slices = [rng.integers(0, 4000, (48, 40), dtype=np.uint16), rng.uniform(0, 1, (32, 32)).astype(np.float32),
              np.zeros((10, 70), np.int16)]
    enhanced = enhance_slices(backend, slices, batch_size=2)
    for src, out in zip(slices, enhanced):
        assert out.shape == src.shape and out.dtype == src.dtype
        mapped, state = to_model(src, backend.contract.mapping)
        expected = from_model(backend.run(mapped), state)  # mapped: the slice's tiles (one here)
        np.testing.assert_allclose(out.astype(float), expected.astype(float), atol=1)


def test_batching_does_not_change_results(tiny_model):
    backend = OnnxRuntimeBackend(tiny_model)
    slices = [np.random.default_rng(i).uniform(0, 500, (32, 32)).astype(np.float32) for i in range(5)]
    counts = []
    one = enhance_slices(backend, slices, batch_size=1)
    three = enhance_slices(backend, slices, batch_size=3, on_batch=counts.append)
    assert counts == [3, 2]
    for a, b in zip(one, three):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_a_model_trained_with_headroom_returns_what_lies_above_the_window(tmp_path):
    """An untrained residual generator is the identity; exported with headroom 2 it hands a lesion 1.4 times
    the window's top back through the contract and the mapping, where headroom 1 clips it to that top."""
    import dataclasses

    import tensorflow as tf

    from lohires_edge.slice_mapping import intensity_window
    from tests.conftest import TINY_SIZE, tiny_contract
    from trainer.export import export_onnx
    from trainer.models import GeneratorConfig, build_generator

    tf.keras.utils.set_random_seed(7)
    generator = build_generator(GeneratorConfig(base_filters=4, depth=3, residual_blocks=1, residual=True))
    check = np.random.default_rng(0).uniform(-1, 1, (2, TINY_SIZE, TINY_SIZE)).astype(np.float32)
    slice_ = np.random.default_rng(1).uniform(100, 200, (TINY_SIZE, TINY_SIZE)).astype(np.float32)
    slice_[14:16, 14:16] = 280.0  # 4 of 1024 pixels: above the 99.5th percentile (about 200)
    outputs = {}
    for headroom in (1.0, 2.0):
        contract = tiny_contract()
        contract = dataclasses.replace(contract, mapping=dataclasses.replace(contract.mapping, headroom=headroom))
        path = tmp_path / f"identity-h{headroom:g}.onnx"
        export_onnx(generator, contract, path, check)
        with OnnxRuntimeBackend(path) as backend:
            outputs[headroom] = enhance_slices(backend, [slice_])[0]
    _, top = intensity_window(slice_, tiny_contract().mapping)
    assert top < 201
    np.testing.assert_allclose(outputs[1.0][14:16, 14:16], top, rtol=1e-5)  # clipped to the window's top
    np.testing.assert_allclose(outputs[2.0][14:16, 14:16], 280.0, rtol=1e-4)
