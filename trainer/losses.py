"""The GAN's losses: L_cGAN as binary cross-entropy on logits, plus lambda * L1 and optional extra terms.

Every function returns per-example losses (shape (N,)), so a tf.distribute step can average them over the
global batch with `tf.nn.compute_average_loss`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import tensorflow as tf


@dataclass(frozen=True)
class LossWeights:
    l1: float = 100.0  # the pix2pix / LoHiResGAN lambda
    ssim: float = 0.0  # weight of (1 - SSIM); 0 turns the term off
    frequency: float = 0.0  # weight of the L1 distance between log FFT magnitudes; 0 turns it off

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _bce(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    per_patch = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(per_patch, axis=[1, 2, 3])


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """-(log D(x, y) + log(1 - D(x, G(x)))), per example."""
    return _bce(tf.ones_like(real_logits), real_logits) + _bce(tf.zeros_like(fake_logits), fake_logits)


def generator_loss(fake_logits: tf.Tensor, generated: tf.Tensor, target: tf.Tensor,
                   weights: LossWeights) -> dict[str, tf.Tensor]:
    """Per-example terms and their weighted 'total': adversarial, l1, and ssim / frequency when weighted."""
    generated = tf.cast(generated, tf.float32)
    terms = {
        "adversarial": _bce(tf.ones_like(fake_logits), fake_logits),
        "l1": tf.reduce_mean(tf.abs(target - generated), axis=[1, 2, 3]),
    }
    total = terms["adversarial"] + weights.l1 * terms["l1"]
    if weights.ssim:
        terms["ssim"] = 1.0 - tf.image.ssim(generated, target, max_val=2.0)
        total += weights.ssim * terms["ssim"]
    if weights.frequency:
        terms["frequency"] = frequency_distance(generated, target)
        total += weights.frequency * terms["frequency"]
    terms["total"] = total
    return terms


def frequency_distance(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Mean |log(1 + |FFT a|) - log(1 + |FFT b|)| per example: penalizes the fine detail L1 blurs away."""
    def spectrum(x: tf.Tensor) -> tf.Tensor:
        return tf.math.log1p(tf.abs(tf.signal.fft2d(tf.cast(x[..., 0], tf.complex64))))
    return tf.reduce_mean(tf.abs(spectrum(a) - spectrum(b)), axis=[1, 2])
