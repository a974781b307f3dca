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
