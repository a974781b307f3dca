"""tf.data pipelines over mapped slice pairs: shuffled, lightly augmented, batched, prefetched.

Augmentation is deliberately light (a left-right flip of both images together): MR heads are roughly
left-right symmetric, while anything that changes intensities would teach the model a different mapping
from the one the edge serves.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _as_nhwc(inputs: np.ndarray, targets: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((inputs[..., None], targets[..., None]))


def flip_pair(low: tf.Tensor, high: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Flip both images of a pair left-right, or neither, with probability 1/2."""
    flip = tf.random.stateless_uniform((), seed=seed) < 0.5
    return (tf.cond(flip, lambda: tf.reverse(low, [1]), lambda: low),
            tf.cond(flip, lambda: tf.reverse(high, [1]), lambda: high))


def training_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """An endless, reshuffled, augmented stream of (input, target) batches of `batch_size` pairs."""
    pairs = _as_nhwc(inputs, targets).shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True).repeat()
    seeds = tf.data.Dataset.random(seed=seed).batch(2)
    return (tf.data.Dataset.zip((pairs, seeds))
            .map(lambda pair, s: flip_pair(pair[0], pair[1], s), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size, drop_remainder=True)
            .prefetch(tf.data.AUTOTUNE))


def validation_dataset(inputs: np.ndarray, targets: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """One pass over the validation pairs, in order, unaugmented."""
    return _as_nhwc(inputs, targets).batch(batch_size).prefetch(tf.data.AUTOTUNE)
