"""tf.data pipelines over mapped slice pairs: shuffled, lightly augmented, batched, prefetched.

Augmentation is deliberately light (a left-right flip of both images together): MR heads are roughly
left-right symmetric, while anything that changes intensities would teach the model a different mapping
from the one the edge serves.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _pairs(inputs: np.ndarray, targets: np.ndarray, order: tf.data.Dataset) -> tf.data.Dataset:
    """The (input, target) pairs NHWC, in the order of the indices `order` yields.

    Each pair is read from the numpy arrays when it is needed. Copying them into TensorFlow
    (`from_tensor_slices`, or `tf.constant` and an index) held twice the arrays' size again (measured); at 40
    subjects on the 224 grid the arrays are 4.6 GB, and training needed 12.5 GB, too much for two runs side
    by side on a 24 GB machine.
    """
    shape = (*inputs.shape[1:], 1)

    def read(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return inputs[index][..., None], targets[index][..., None]

    def pair(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        low, high = tf.numpy_function(read, [index], (tf.float32, tf.float32), stateful=False)
        return tf.ensure_shape(low, shape), tf.ensure_shape(high, shape)

    return order.map(pair)


def flip_pair(low: tf.Tensor, high: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Flip both images of a pair left-right, or neither, with probability 1/2."""
    flip = tf.random.stateless_uniform((), seed=seed) < 0.5
    return (tf.cond(flip, lambda: tf.reverse(low, [1]), lambda: low),
            tf.cond(flip, lambda: tf.reverse(high, [1]), lambda: high))


def training_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """An endless, reshuffled, augmented stream of (input, target) batches of `batch_size` pairs."""
    # Shuffling indices gives the order shuffling the pairs gave (tf.data's shuffle depends on the seed
    # and the buffer size only): the same stream as before the pairs were read by index.
    order = tf.data.Dataset.range(len(inputs)).shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    pairs = _pairs(inputs, targets, order.repeat())
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return (tf.data.Dataset.zip((pairs, seeds))
            .map(lambda pair, s: flip_pair(pair[0], pair[1], s), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def validation_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """One pass over the validation pairs, in order, unaugmented."""
    return _pairs(inputs, targets, tf.data.Dataset.range(len(inputs))).batch(batch_size).prefetch(tf.data.AUTOTUNE)
