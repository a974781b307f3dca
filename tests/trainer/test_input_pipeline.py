"""The tf.data pipeline: endless shuffled batches whose input and target stay aligned through augmentation."""

from __future__ import annotations

import numpy as np

from trainer.input_pipeline import training_dataset, validation_dataset


def test_training_batches_keep_pairs_aligned_and_flip_both_images() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.uniform(-1, 1, (6, 8, 8)).astype(np.float32)
    targets = -inputs  # any pixel-wise relation: it must survive augmentation
    originals = {x.tobytes(): i for i, x in enumerate(inputs)}
    flipped = {x[:, ::-1].tobytes(): i for i, x in enumerate(inputs)}
    seen_plain, seen_flipped, order = 0, 0, []
    for low, high in training_dataset(inputs, targets, batch_size=4, seed=1).take(12):
        assert low.shape == high.shape == (4, 8, 8, 1)
        np.testing.assert_array_equal(high.numpy(), -low.numpy())
        for image in low.numpy()[..., 0]:
            key = image.tobytes()
            assert key in originals or key in flipped
            seen_plain += key in originals
            seen_flipped += key in flipped
            order.append(originals.get(key, flipped.get(key)))
    assert seen_plain > 5 and seen_flipped > 5
    assert order[:6] != sorted(order[:6])  # shuffled
    assert sorted(order[:6]) == list(range(6))  # each epoch is a permutation of all pairs


def test_validation_is_one_ordered_unaugmented_pass() -> None:
    inputs = np.arange(5 * 4 * 4, dtype=np.float32).reshape(5, 4, 4)
    batches = list(validation_dataset(inputs, inputs + 1, batch_size=2))
    assert [len(b[0]) for b in batches] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches])[..., 0], inputs)


def test_pairs_are_read_from_the_arrays_not_copied_into_tensorflow() -> None:
    """The pipeline holds no copy of the slices (a copy doubled training memory): a change to the arrays
    after the datasets were made shows in what they yield."""
    inputs = np.zeros((3, 4, 4), np.float32)
    training = training_dataset(inputs, inputs.copy(), batch_size=3, seed=0)
    validation = validation_dataset(inputs, inputs.copy(), batch_size=3)
    inputs[:] = 7.0
    low, _ = next(iter(training))
    np.testing.assert_array_equal(low.numpy(), 7.0)
    np.testing.assert_array_equal(next(iter(validation))[0].numpy(), 7.0)
