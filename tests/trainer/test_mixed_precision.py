"""The mixed-precision training path (used only on GPUs) works: float16 compute, float32 weights, loss scaling.

This machine has no GPU, so this runs the same code on the CPU: it checks the API wiring, not the speed.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from trainer.losses import LossWeights
from trainer.run_dir import RunConfig
from trainer.training import GanTrainer


def test_mixed_precision_step_scales_losses_and_keeps_float32_weights() -> None:
    config = RunConfig(sequence="T1", generator={"base_filters": 4, "depth": 3, "residual_blocks": 1},
                       mapping={"size": 32}, discriminator_filters=4, losses=LossWeights().to_dict(),
                       learning_rate=1e-3, batch_size=2, seed=0, data="", train_subjects=[], validation_subjects=[])
    tf.keras.utils.set_random_seed(0)
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        trainer = GanTrainer(tf.distribute.get_strategy(), config, mixed=True)
        x = tf.constant(np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32))
        before = [w.numpy().copy() for w in trainer.generator.trainable_weights]
        first = float(trainer.train_step((x, x))["g_l1"])
        for _ in range(30):
            last = float(trainer.train_step((x, x))["g_l1"])
        assert trainer.generator(x).dtype == tf.float16
        assert all(w.dtype == "float32" for w in trainer.generator.trainable_weights)
        # Dynamic loss scaling skipped the overflowing first steps and lowered its scale, then trained.
        assert float(trainer.g_opt.dynamic_scale) < 32768.0
        assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, trainer.generator.trainable_weights))
        assert last < first
    finally:
        tf.keras.mixed_precision.set_global_policy("float32")
