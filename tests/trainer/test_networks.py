"""The networks and losses behave as the LoHiResGAN / pix2pix formulation says."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from trainer.losses import (LossWeights, discriminator_loss, frequency_distance, generator_loss,
                            unexplained_variance)
from trainer.models import UPSAMPLING, GeneratorConfig, build_discriminator, build_generator


@pytest.fixture(scope="module")
def discriminator() -> tf.keras.Model:
    tf.keras.utils.set_random_seed(1)
    return build_discriminator(base_filters=2)


def test_patchgan_sees_70_by_70_pixels(discriminator: tf.keras.Model) -> None:
    low = tf.Variable(np.random.default_rng(0).normal(size=(1, 128, 128, 1)).astype(np.float32))
    image = tf.Variable(np.random.default_rng(1).normal(size=(1, 128, 128, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        logits = discriminator([low, image], training=False)
        centre = logits[0, logits.shape[1] // 2, logits.shape[2] // 2, 0]
    for grad in tape.gradient(centre, [low, image]):
        rows, cols = np.nonzero(np.abs(grad.numpy()[0, ..., 0]) > 0)
        assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (70, 70)


def test_discriminator_is_conditional_on_the_lowfield_input(discriminator: tf.keras.Model) -> None:
    rng = np.random.default_rng(2)
    image = rng.normal(size=(1, 64, 64, 1)).astype(np.float32)
    a = discriminator([rng.normal(size=(1, 64, 64, 1)).astype(np.float32), image]).numpy()
    b = discriminator([rng.normal(size=(1, 64, 64, 1)).astype(np.float32), image]).numpy()
    assert not np.allclose(a, b)


def test_every_discriminator_convolution_is_spectrally_normalized() -> None:
    tf.keras.utils.set_random_seed(3)
    model = build_discriminator(base_filters=2)
    wrapped = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.SpectralNormalization)]
    bare = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    assert len(wrapped) == 5 and bare == []
    x = np.ones((1, 32, 32, 1), np.float32)
    for _ in range(30):  # power iteration converges to the largest singular value
        model([x, x], training=True)
    for layer in wrapped:
        kernel = layer.layer.kernel.numpy()
        sigma = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert sigma == pytest.approx(1.0, abs=0.05)


def test_generator_is_fully_convolutional_and_bounded() -> None:
    generator = build_generator(GeneratorConfig(base_filters=2, depth=3, residual_blocks=1))
    for side in (16, 40):
        out = generator(np.random.default_rng(0).uniform(-1, 1, (2, side, side, 1)).astype(np.float32)).numpy()
        assert out.shape == (2, side, side, 1) and np.abs(out).max() <= 1.0


@pytest.mark.parametrize("upsampling, full_resolution_filters", [(u, f) for u in UPSAMPLING for f in (0, 3)])
def test_residual_generator_starts_as_the_identity_and_learns_a_correction(upsampling: str,
                                                                            full_resolution_filters: int) -> None:
    tf.keras.utils.set_random_seed(5)
    generator = build_generator(GeneratorConfig(base_filters=2, depth=3, residual_blocks=1, residual=True,
                                                upsampling=upsampling,
                                                full_resolution_filters=full_resolution_filters))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 24, 24, 1)).astype(np.float32)
    np.testing.assert_array_equal(generator(x, training=False).numpy(), x)  # nothing added before training
    _train_l1(generator, x, np.clip(x * 1.5, -1, 1), learning_rate=1e-2, steps=5)
    assert not np.array_equal(generator(x, training=False).numpy(), x)


def _train_l1(generator: tf.keras.Model, inputs: np.ndarray, target: np.ndarray, learning_rate: float,
              steps: int) -> None:
    """`steps` Adam steps of the generator on the L1 distance from `inputs` to `target`."""
    optimizer = tf.keras.optimizers.Adam(learning_rate)

    @tf.function
    def step() -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(generator(inputs, training=True) - target))
        optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables),
                                      generator.trainable_variables))
    for _ in range(steps):
        step()


def test_resize_upsampling_paints_no_checkerboard_on_a_flat_image() -> None:
    # Untrained, on a flat input: the features are flat away from the borders, so whatever varies from one
    # pixel to the next in the middle of the output is the decoder's own pattern. A stride-2 transposed
    # convolution alternates (a checkerboard); nearest-neighbour doubling and a 3x3 convolution do not.
    flat = np.full((1, 64, 64, 1), 0.3, np.float32)

    def alternation(upsampling: str) -> float:
        tf.keras.utils.set_random_seed(7)
        out = build_generator(GeneratorConfig(base_filters=4, depth=3, residual_blocks=1,
                                              upsampling=upsampling))(flat, training=False).numpy()[0, 24:40, 24:40, 0]
        return float(np.abs(np.diff(out, axis=0)).mean() + np.abs(np.diff(out, axis=1)).mean())

    assert alternation("transpose") > 1e-4
    assert alternation("resize") < 1e-6


def test_a_full_resolution_level_lets_a_residual_generator_remove_pixel_noise() -> None:
    # Trained briefly to take the noise off a flat image, then given fresh noise of the same level: without
    # pixels of its own, the decoder paints each output pixel from half-resolution features and leaves most
    # of it (about 0.06 of 0.1 measured); with the full-resolution level it removes most (about 0.02).
    def remaining_noise(full_resolution_filters: int) -> float:
        tf.keras.utils.set_random_seed(1)
        generator = build_generator(GeneratorConfig(base_filters=4, depth=3, residual_blocks=1, residual=True,
                                                    full_resolution_filters=full_resolution_filters))
        clean = np.full((4, 32, 32, 1), 0.2, np.float32)
        noisy = clean + np.random.default_rng(3).normal(0, 0.1, clean.shape).astype(np.float32)
        _train_l1(generator, noisy, clean, learning_rate=3e-3, steps=150)
        fresh = clean + np.random.default_rng(4).normal(0, 0.1, clean.shape).astype(np.float32)
        return float(np.std(generator(fresh, training=False).numpy()[:, 4:-4, 4:-4] - 0.2))

    assert remaining_noise(4) < 0.5 * remaining_noise(0)


def test_an_invalid_generator_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid generator configuration"):
        GeneratorConfig(upsampling="bilinear-ish")
    with pytest.raises(ValueError, match="invalid generator configuration"):
        GeneratorConfig(full_resolution_filters=-1)


def test_losses_follow_the_formula() -> None:
    target = tf.constant(np.random.default_rng(4).uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32))
    generated = target * 0.5
    confident_real, confident_fake = tf.fill((2, 2, 2, 1), 20.0), tf.fill((2, 2, 2, 1), -20.0)
    assert float(tf.reduce_max(discriminator_loss(confident_real, confident_fake))) < 1e-6
    assert float(tf.reduce_min(discriminator_loss(confident_fake, confident_real))) > 39.0

    terms = generator_loss(tf.zeros((2, 2, 2, 1)), generated, target, LossWeights())
    assert set(terms) == {"adversarial", "l1", "total"}
    np.testing.assert_allclose(terms["adversarial"], np.log(2.0), rtol=1e-6)
    l1 = np.mean(np.abs(target.numpy() * 0.5), axis=(1, 2, 3))
    np.testing.assert_allclose(terms["l1"], l1, rtol=1e-5)
    np.testing.assert_allclose(terms["total"], np.log(2.0) + 100 * l1, rtol=1e-5)

    extra = generator_loss(tf.zeros((2, 2, 2, 1)), generated, target, LossWeights(ssim=2.0, frequency=3.0))
    np.testing.assert_allclose(extra["total"], terms["total"] + 2.0 * extra["ssim"] + 3.0 * extra["frequency"],
                               rtol=1e-5)
    assert float(tf.reduce_min(extra["ssim"])) > 0 and float(tf.reduce_min(extra["frequency"])) > 0
    assert float(tf.reduce_max(frequency_distance(target, target))) == 0.0

    consistent = generator_loss(tf.zeros((2, 2, 2, 1)), generated, target, LossWeights(consistency=5.0),
                                source=target)
    np.testing.assert_allclose(consistent["total"], terms["total"] + 5.0 * consistent["consistency"], rtol=1e-5)
    with pytest.raises(ValueError, match="64 mT source"):
        generator_loss(tf.zeros((2, 2, 2, 1)), generated, target, LossWeights(consistency=5.0))


def _slice_with_a_disc(value: float, bands: bool = False) -> np.ndarray:
    """A 64 x 64 'head': flat white matter at 0.5 with one dark ventricle (or, with `bands`, two grey-matter bands
    at 0.3, 28 pixels apart, so that flat windows remain), plus a bright disc of `value`."""
    yy, xx = np.mgrid[:64, :64]
    image = np.full((64, 64), 0.5, np.float32)
    if bands:
        image[(xx // 4) % 8 == 0] = 0.3
    else:
        image[(yy - 20) ** 2 + (xx - 32) ** 2 < 36] = -0.2
    image[(yy - 44) ** 2 + (xx - 40) ** 2 < 16] += value
    return image[None, :, :, None]


def test_the_consistency_term_lets_contrast_and_denoising_pass_and_charges_invented_structure() -> None:
    rng = np.random.default_rng(5)
    clean = _slice_with_a_disc(0.0)
    source = tf.constant(clean + rng.normal(0, 0.1, clean.shape).astype(np.float32))
    def cost(generated: np.ndarray) -> float:
        return float(unexplained_variance(tf.constant(generated), source)[0])
    invented = cost(_slice_with_a_disc(0.5))  # a bright disc that the input does not have
    assert cost(source.numpy()) < invented / 100  # the input itself
    assert cost(2.0 * source.numpy() - 0.3) < invented / 50  # a stronger contrast (noise amplified costs a little)
    assert cost(clean) < invented / 20  # denoised
    assert invented > 5e-4


def test_the_consistency_term_takes_the_input_noise_out_before_charging_a_denoised_output() -> None:
    # Grey-matter bands about as strong as the noise, once low-passed: regressed on the noisy input, their
    # denoised version looks unexplained unless the input's noise (estimated from the flat windows between the
    # bands) is taken out of its variance. Without the correction the denoised image cost about 70 times the
    # noisy input itself; with it, under 10 times (the estimate runs a little low), and a small fraction of
    # an invented disc, noise or not.
    rng = np.random.default_rng(6)
    clean = _slice_with_a_disc(0.0, bands=True)
    noise = rng.normal(0, 0.1, clean.shape).astype(np.float32)
    source = tf.constant(clean + noise)
    def cost(generated: np.ndarray) -> float:
        return float(unexplained_variance(tf.constant(generated), source)[0])
    invented = cost(_slice_with_a_disc(0.5, bands=True))
    assert cost(clean) < 20 * cost(source.numpy())
    assert cost(clean) < invented / 10
    assert cost(_slice_with_a_disc(0.5, bands=True) + noise) > 10 * cost(clean)  # noise does not hide a disc


def test_the_consistency_term_charges_a_disc_on_a_slice_without_head() -> None:
    background = tf.fill((1, 64, 64, 1), -1.0)  # no window inside the head: no noise estimate, none removed
    disc = _slice_with_a_disc(0.5) - _slice_with_a_disc(0.0) - 1.0
    assert float(unexplained_variance(tf.constant(disc), background)[0]) > 5e-4
    assert float(unexplained_variance(background, background)[0]) < 1e-10
