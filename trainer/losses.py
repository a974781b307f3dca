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
    consistency: float = 0.0  # weight of `unexplained_variance` (output against its own input); 0 turns it off

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _bce(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    per_patch = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(per_patch, axis=[1, 2, 3])


def discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """-(log D(x, y) + log(1 - D(x, G(x)))), per example."""
    return _bce(tf.ones_like(real_logits), real_logits) + _bce(tf.zeros_like(fake_logits), fake_logits)


def generator_loss(fake_logits: tf.Tensor, generated: tf.Tensor, target: tf.Tensor, weights: LossWeights,
                   source: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
    """Per-example terms and their weighted 'total': adversarial, l1, and ssim / frequency / consistency
    (which needs the 64 mT `source`) when weighted."""
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
    if weights.consistency:
        if source is None:
            raise ValueError("the consistency term needs the 64 mT source slices")
        terms["consistency"] = unexplained_variance(generated, tf.cast(source, tf.float32))
        total += weights.consistency * terms["consistency"]
    terms["total"] = total
    return terms


def frequency_distance(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Mean |log(1 + |FFT a|) - log(1 + |FFT b|)| per example: penalizes the fine detail L1 blurs away."""
    def spectrum(x: tf.Tensor) -> tf.Tensor:
        return tf.math.log1p(tf.abs(tf.signal.fft2d(tf.cast(x[..., 0], tf.complex64))))
    return tf.reduce_mean(tf.abs(spectrum(a) - spectrum(b)), axis=[1, 2])


CONSISTENCY_SIGMA_PX = 1.5  # low-pass to about the 64 mT in-plane resolution on the 1 mm model grid
CONSISTENCY_WINDOW_PX = 9  # the neighbourhood in which the output must follow its input linearly
HEAD_LEVEL = -0.5  # windows whose mean source lies above this, in model space [-1, 1], are inside the head
# (a quarter up the intensity window; half-way with fit --headroom 2, which still takes in the brain)
NOISE_FLOOR_PERCENTILE = 10  # of the source's local variances inside the head: its flattest windows, noise alone


def unexplained_variance(generated: tf.Tensor, source: tf.Tensor) -> tf.Tensor:
    """Mean local variance of the low-passed output that no linear function of the low-passed input's signal
    explains, per example: var(out) - cov(out, in)^2 / (var(in) - noise) in each window.

    A data-consistency term: a contrast change or a steeper edge is linear in each window and costs nothing;
    structure the input lacks, a blob in flat white matter, is unexplained. The input's own noise is taken
    out of its variance (errors in variables): regressed on a noisy input, a denoised output would look
    unexplained, and the term would pay the generator to pass the noise through. `noise` is the variance of
    the input's flattest windows inside the head; var(in) - noise is kept at least that large, so that a
    window of noise alone cannot explain anything. It charges only what the output adds: structure the output
    takes away (a faded lesion) leaves it flat, with nothing to explain.
    """
    radius = int(3 * CONSISTENCY_SIGMA_PX)
    gaussian = tf.exp(-0.5 * (tf.range(-radius, radius + 1, dtype=tf.float32) / CONSISTENCY_SIGMA_PX) ** 2)
    box = tf.ones(CONSISTENCY_WINDOW_PX)

    def low_pass(x: tf.Tensor) -> tf.Tensor:
        return _separable_filter(x, gaussian)

    def local_mean(x: tf.Tensor) -> tf.Tensor:
        return _separable_filter(x, box)

    out, src = low_pass(generated), low_pass(source)
    mean_out, mean_src = local_mean(out), local_mean(src)
    var_out = local_mean(out * out) - mean_out ** 2
    var_src = local_mean(src * src) - mean_src ** 2
    cov = local_mean(out * src) - mean_out * mean_src
    # Every 4th window is enough for a percentile of windows 9 pixels wide, at a 16th of the sort's time.
    noise = tf.stop_gradient(_noise_floor(var_src[:, ::4, ::4], mean_src[:, ::4, ::4] > HEAD_LEVEL))
    signal = tf.maximum(var_src - noise[:, None, None, None], noise[:, None, None, None])
    unexplained = tf.nn.relu(var_out - cov ** 2 / (signal + 1e-6))
    return tf.reduce_mean(unexplained, axis=[1, 2, 3])


def _noise_floor(local_variance: tf.Tensor, inside: tf.Tensor) -> tf.Tensor:
    """The NOISE_FLOOR_PERCENTILE-th percentile of each example's local variances inside the head (0 without a
    head): the variance of windows with no structure, which is the noise's."""
    batch = tf.shape(local_variance)[0]
    inside = tf.reshape(inside, (batch, -1))
    values = tf.where(inside, tf.reshape(local_variance, (batch, -1)), float("inf"))
    count = tf.reduce_sum(tf.cast(inside, tf.int32), axis=1)
    rank = count * NOISE_FLOOR_PERCENTILE // 100
    floor = tf.gather(tf.sort(values, axis=1), rank, axis=1, batch_dims=1)
    return tf.where(count > 0, floor, 0.0)


def _separable_filter(x: tf.Tensor, taps: tf.Tensor) -> tf.Tensor:
    """`x` filtered by the normalized 1D `taps` along rows and columns, same size.

    Mirrored edges: zero padding would darken the borders and make an edge the input does not have. (Two 1D
    convolutions, not avg_pool2d: on this CPU its gradient alone was about 50 times slower, and made the
    whole term 13 times slower.)
    """
    taps = taps / tf.reduce_sum(taps)
    before = (taps.shape[0] - 1) // 2
    after = taps.shape[0] - 1 - before
    x = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]], mode="SYMMETRIC")
    x = tf.nn.conv2d(x, tf.reshape(taps, (-1, 1, 1, 1)), 1, "VALID")
    return tf.nn.conv2d(x, tf.reshape(taps, (1, -1, 1, 1)), 1, "VALID")
