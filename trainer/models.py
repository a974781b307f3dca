"""LoHiResGAN networks, read top to bottom like the pix2pix tutorial.

Generator: a U-Net. The encoder halves the image `depth` times (4x4 convolutions, stride 2, batch norm,
LeakyReLU), residual blocks refine the bottleneck, and the decoder doubles it back (transposed
convolutions, batch norm, ReLU), each level concatenated with its encoder twin, ending in tanh.
It is fully convolutional, so the same weights run on any size divisible by 2**depth.

Upsampling is either the seed's transposed convolution or, with `upsampling="resize"`, a nearest-neighbour
doubling followed by a 3x3 convolution (Odena et al., "Deconvolution and Checkerboard Artifacts", 2016): a
stride-2 transposed convolution covers the output's pixels unevenly and can paint a fine checkerboard, which
on a brain image is texture that the scan does not have.

The residual variant (the edge preset) adds the decoder's output to its input instead of ending in tanh:
the network learns a correction to the 64 mT image, as SynthSR's low-field model does. It starts as the
identity (the last layer is zero-initialized), so what it adds must be earned against the 3 T target, and
structure the input does not have is never its starting point.

A full-resolution level (`full_resolution_filters` > 0) gives the decoder pixels of its own: the first
stride-2 convolution leaves nothing at the input's resolution, so without it the last doubling must paint
each output pixel from half-resolution features, and a residual generator can then neither remove the
input's pixel-scale noise nor keep from adding a 2 x 2 texture of its own. With it, the last doubling makes
that many channels, a 3x3 convolution of the input (same width) is concatenated, and two 3x3 convolutions
at full resolution end the network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import tensorflow as tf

layers = tf.keras.layers

UPSAMPLING = ("transpose", "resize")


@dataclass(frozen=True)
class GeneratorConfig:
    base_filters: int = 64
    depth: int = 6  # number of stride-2 levels; input sides must be divisible by 2**depth
    residual_blocks: int = 4
    max_filter_multiplier: int = 8  # filters stop growing at base_filters * this
    residual: bool = False  # output = input + learned correction (see the module docstring)
    upsampling: str = "transpose"  # one of UPSAMPLING (see the module docstring)
    full_resolution_filters: int = 0  # 0: none (the seed's U-Net); see the module docstring

    def __post_init__(self) -> None:
        if (self.base_filters < 1 or self.depth < 1 or self.residual_blocks < 0 or self.upsampling not in UPSAMPLING
                or self.full_resolution_filters < 0):
            raise ValueError(f"invalid generator configuration {self}")

    def filters(self, level: int) -> int:
        return self.base_filters * min(2 ** level, self.max_filter_multiplier)

    def to_dict(self) -> dict[str, int | bool | str]:
        return asdict(self)


# The seed's configuration (256 x 256, 64 base filters) and one sized for the edge box.
SEED_CONFIG = GeneratorConfig(base_filters=64, depth=6, residual_blocks=4)
EDGE_CONFIG = GeneratorConfig(base_filters=16, depth=5, residual_blocks=2, residual=True)

_INIT = tf.random_normal_initializer(0.0, 0.02)


def doubling(filters: int, upsampling: str, name: str | None = None, **conv) -> list[layers.Layer]:
    """The layers that double the image's sides into `filters` channels: a 4x4 stride-2 transposed
    convolution, or a nearest-neighbour doubling and a 3x3 convolution."""
    if upsampling == "transpose":
        return [layers.Conv2DTranspose(filters, 4, strides=2, padding="same", name=name, **conv)]
    return [layers.UpSampling2D(2, interpolation="nearest"), layers.Conv2D(filters, 3, padding="same", name=name,
                                                                              **conv)]


def downsample(filters: int, batchnorm: bool = True, synchronized: bool = False) -> tf.keras.Sequential:
    block = tf.keras.Sequential()
    block.add(layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=_INIT, use_bias=False))
    if batchnorm:
        block.add(layers.BatchNormalization(synchronized=synchronized))
    block.add(layers.LeakyReLU(0.2))
    return block


def upsample(filters: int, upsampling: str = "transpose", synchronized: bool = False) -> tf.keras.Sequential:
    block = tf.keras.Sequential()
    for layer in doubling(filters, upsampling, kernel_initializer=_INIT, use_bias=False):
        block.add(layer)
    block.add(layers.BatchNormalization(synchronized=synchronized))
    block.add(layers.ReLU())
    return block


def residual_block(x: tf.Tensor, filters: int, synchronized: bool = False) -> tf.Tensor:
    y = layers.Conv2D(filters, 3, padding="same", kernel_initializer=_INIT, use_bias=False)(x)
    y = layers.BatchNormalization(synchronized=synchronized)(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", kernel_initializer=_INIT, use_bias=False)(y)
    y = layers.BatchNormalization(synchronized=synchronized)(y)
    return layers.ReLU()(layers.Add()([x, y]))


def build_generator(config: GeneratorConfig = SEED_CONFIG,
                    synchronized_batchnorm: bool = False) -> tf.keras.Model:
    """The U-Net generator: (N, H, W, 1) in [-1, 1] -> (N, H, W, 1) in [-1, 1].

    `synchronized_batchnorm` computes batch statistics over the global batch of all replicas, so the
    moving statistics stay identical on every worker; the weights are the same either way.
    """
    sync = synchronized_batchnorm
    inputs = layers.Input(shape=(None, None, 1), name="lowfield")
    x = inputs
    skips = []
    for level in range(config.depth):
        x = downsample(config.filters(level), batchnorm=level > 0, synchronized=sync)(x)
        skips.append(x)

    for _ in range(config.residual_blocks):
        x = residual_block(x, config.filters(config.depth - 1), synchronized=sync)

    for level, skip in reversed(list(enumerate(skips[:-1]))):
        x = upsample(config.filters(level), config.upsampling, synchronized=sync)(x)
        x = layers.Concatenate()([x, skip])

    # The last layer writes the image: a correction that starts at zero, or the seed's tanh output.
    last = (dict(name="correction", kernel_initializer="zeros") if config.residual
            else dict(name="highfield", kernel_initializer=_INIT, activation="tanh"))
    if config.full_resolution_filters:
        width = config.full_resolution_filters
        for layer in doubling(width, config.upsampling, kernel_initializer=_INIT):
            x = layer(x)
        stem = layers.Conv2D(width, 3, padding="same", kernel_initializer=_INIT)(inputs)
        x = layers.Concatenate()([layers.LeakyReLU(0.2)(x), layers.LeakyReLU(0.2)(stem)])
        x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 3, padding="same", kernel_initializer=_INIT)(x))
        x = layers.Conv2D(1, 3, padding="same", **last)(x)
    else:
        for layer in doubling(1, config.upsampling, **last):
            x = layer(x)
    outputs = layers.Add(name="highfield")([inputs, x]) if config.residual else x
    return tf.keras.Model(inputs=inputs, outputs=outputs, name="lohiresgan_generator")


def build_discriminator(base_filters: int = 64) -> tf.keras.Model:
    """Conditional 70x70 PatchGAN: D(x, y) sees the 64 mT input x beside the real or generated image y.

    pix2pix's C64-C128-C256-C512 with 4x4 kernels (receptive field 70 x 70), one logit per patch.
    Spectral normalization on every convolution bounds D's Lipschitz constant (it stands in for
    batch norm), which keeps the adversarial term from swamping L1 early on.
    """
    def conv(filters: int, strides: int, padding: str) -> layers.Layer:
        return layers.SpectralNormalization(
            layers.Conv2D(filters, 4, strides=strides, padding=padding, kernel_initializer=_INIT))

    lowfield = layers.Input(shape=(None, None, 1), name="lowfield")
    image = layers.Input(shape=(None, None, 1), name="image")
    x = layers.Concatenate()([lowfield, image])
    for multiplier in (1, 2, 4):
        x = layers.LeakyReLU(0.2)(conv(base_filters * multiplier, 2, "same")(x))
    x = layers.ZeroPadding2D()(x)
    x = layers.LeakyReLU(0.2)(conv(base_filters * 8, 1, "valid")(x))
    x = layers.ZeroPadding2D()(x)
    logits = layers.Activation("linear", dtype="float32", name="patch_logits")(conv(1, 1, "valid")(x))
    return tf.keras.Model(inputs=[lowfield, image], outputs=logits, name="patchgan_discriminator")
