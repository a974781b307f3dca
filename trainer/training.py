"""The training loop: a tf.function GAN step under a tf.distribute strategy, checkpoints, validation, logs.

One epoch = `steps_per_epoch` steps of D and G on the shuffled training slices (at the epoch's learning
rate: constant, or falling linearly over the last `decay_epochs`), then a pass over the validation slices
(the generator in inference mode) whose SSIM picks the best model, a checkpoint of the full state (for
--resume) and TensorBoard scalars and sample images.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from lohires_edge.errors import LohiresError
from lohires_edge.slice_mapping import MappingParams
from trainer.input_pipeline import training_dataset, validation_dataset
from trainer.distribution import choose_strategy, is_chief, use_mixed_precision, worker_label
from trainer.losses import LossWeights, discriminator_loss, generator_loss
from trainer.models import GeneratorConfig, build_discriminator, build_generator
from trainer.pairs import DataError, check_grids, find_pairs, split_subjects
from trainer.run_dir import RunConfig, RunDir, RunError
from trainer.slices import training_geometry, training_slices

log = logging.getLogger(__name__)

DEFAULT_LEARNING_RATE = 5e-4  # measured: docs/training.md, "Learning rate"
VALIDATION_FRACTION = 0.2
EXPORT_CHECK_SLICES = 8  # validation slices kept in the run for export's parity check
SAMPLE_IMAGES = 3
KEEP_CHECKPOINTS = 3


@dataclass(frozen=True)
class FitRequest:
    """What `lohires-train fit` was asked for (the run's own settings win on --resume)."""

    data: Path
    sequence: str
    out: Path
    generator: GeneratorConfig
    mapping: MappingParams
    epochs: int
    batch_size: int
    steps_per_epoch: int | None = None
    discriminator_filters: int = 64
    losses: LossWeights = LossWeights()
    learning_rate: float = DEFAULT_LEARNING_RATE
    decay_epochs: int = 0  # a schedule, like epochs: given per invocation, so a resumed run can be annealed
    max_subjects: int | None = None
    resume: bool = False
    seed: int = 0
    progress: bool = True


def fit(request: FitRequest) -> dict[str, float]:
    """Train (or resume) the run in `request.out`; return the best epoch's validation metrics."""
    strategy = choose_strategy()  # first: MultiWorkerMirroredStrategy must exist before any other TF op
    mixed = use_mixed_precision()
    run = RunDir(request.out)
    chief = is_chief()
    config = _resumed_config(run, request) if request.resume else _new_config(run, request, chief)
    tf.keras.utils.set_random_seed(config.seed)

    pairs = {p.subject: p for p in find_pairs(Path(config.data), config.sequence)}
    missing = [s for s in config.train_subjects + config.validation_subjects if s not in pairs]
    if missing:
        raise DataError(f"the run's subjects {', '.join(missing)} are not in {config.data} any more")
    params = config.mapping_params
    train_in, train_tg = training_slices([pairs[s] for s in config.train_subjects], params)
    val_in, val_tg = training_slices([pairs[s] for s in config.validation_subjects], params,
                                     windows=("volume",))
    if len(train_in) < config.batch_size or len(val_in) == 0:
        raise DataError(f"{len(train_in)} training and {len(val_in)} validation slices with anatomy, fewer "
                        f"than one batch of {config.batch_size}; add subjects or lower --batch-size")
    if chief:
        run.write_config(config)
        run.write_check_slices(val_in[_spread(len(val_in), EXPORT_CHECK_SLICES)])
    log.info("%d training slices, %d validation slices", len(train_in), len(val_in))

    trainer = GanTrainer(strategy, config, mixed)
    checkpoint_dir = run.checkpoints if chief else run.path / "workers" / worker_label() / "checkpoints"
    manager = tf.train.CheckpointManager(trainer.checkpoint, str(checkpoint_dir),
                                         max_to_keep=KEEP_CHECKPOINTS)
    if request.resume:
        if not manager.latest_checkpoint:
            raise RunError(f"{run.path} has no checkpoint to resume from; start it again without --resume")
        trainer.checkpoint.restore(manager.latest_checkpoint).expect_partial()
        log.info("resumed from %s (epoch %d)", manager.latest_checkpoint, int(trainer.epoch.numpy()))

    steps = request.steps_per_epoch or max(1, len(train_in) // config.batch_size)
    batches = iter(strategy.experimental_distribute_dataset(
        training_dataset(train_in, train_tg, config.batch_size, config.seed + int(trainer.epoch.numpy()))))
    validation = validation_dataset(val_in, val_tg, config.batch_size)
    writer = tf.summary.create_file_writer(str(run.logs if chief else checkpoint_dir.parent / "logs"))
    best = run.read_best() if request.resume else None

    show = request.progress and chief
    samples = _spread(len(val_in), SAMPLE_IMAGES)
    for epoch in range(int(trainer.epoch.numpy()), request.epochs):
        # A live bar on a terminal; in a log file, one line per epoch instead of thousands of bar updates.
        live = show and sys.stdout.isatty()
        bar = tf.keras.utils.Progbar(steps, verbose=1 if live else 0, unit_name="step")
        learning_rate = config.learning_rate * learning_rate_factor(epoch, request.epochs, request.decay_epochs)
        trainer.set_learning_rate(learning_rate)
        if show:
            print(f"epoch {epoch + 1}/{request.epochs}", flush=True)
        totals: dict[str, float] = {}
        for step in range(steps):
            losses = {k: float(v) for k, v in trainer.train_step(next(batches)).items()}
            for key, value in losses.items():
                totals[key] = totals.get(key, 0.0) + value / steps
            bar.update(step + 1, values=list(losses.items()))
        metrics = trainer.validate(validation)
        trainer.epoch.assign(epoch + 1)
        manager.save(checkpoint_number=epoch + 1)
        with writer.as_default(step=epoch + 1):
            for key, value in {**{f"train/{k}": v for k, v in totals.items()}, "train/learning_rate": learning_rate,
                               **{f"validation/{k}": v for k, v in metrics.items()}}.items():
                tf.summary.scalar(key, value)
            tf.summary.image("validation/input|generated|target",
                             trainer.samples(val_in[samples], val_tg[samples]), max_outputs=SAMPLE_IMAGES)
        if show:
            print(f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in totals.items())
                  + f"; validation SSIM {metrics['ssim']:.4f}, L1 {metrics['l1']:.4f}", flush=True)
        if best is None or metrics["ssim"] > best["ssim"]:
            best = {"epoch": epoch + 1, **metrics}
            if chief:
                trainer.generator.save_weights(str(run.best_weights))
                run.write_best(epoch + 1, metrics)
    writer.flush()
    return best or {}


def learning_rate_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """The share of the base learning rate in 0-based `epoch` of `epochs`: 1, then falling linearly over the
    last `decay_epochs` epochs to 1 / (decay_epochs + 1) in the last one, as pix2pix anneals. A GAN at a
    constant rate keeps jittering (validation SSIM moves by 0.03 between epochs); the decay lets it settle.
    """
    return min(1.0, (epochs - epoch) / (decay_epochs + 1))


def _spread(count: int, wanted: int) -> np.ndarray:
    """Up to `wanted` indices spread evenly over range(count)."""
    return np.linspace(0, count - 1, min(wanted, count)).astype(int)


def _new_config(run: RunDir, request: FitRequest, chief: bool) -> RunConfig:
    # Only the chief owns the run directory; other workers may find the chief's run.json already there.
    if chief and (run.path / "run.json").exists():
        raise RunError(f"{run.path} already holds a run; pass --resume to continue it or choose another "
                       "--out")
    pairs = find_pairs(request.data, request.sequence)
    if request.max_subjects:
        pairs = pairs[:request.max_subjects]
    check_grids(pairs)
    train, val = split_subjects(pairs, VALIDATION_FRACTION, request.seed)
    return RunConfig(sequence=request.sequence, generator=request.generator.to_dict(),
                     mapping=dataclasses.replace(request.mapping,
                                                 geometry=training_geometry(pairs)).to_dict(),
                     discriminator_filters=request.discriminator_filters,
                     losses=request.losses.to_dict(), learning_rate=request.learning_rate,
                     batch_size=request.batch_size, seed=request.seed, data=str(Path(request.data).resolve()),
                     train_subjects=[p.subject for p in train], validation_subjects=[p.subject for p in val])


def _resumed_config(run: RunDir, request: FitRequest) -> RunConfig:
    config = run.read_config()
    if config.sequence != request.sequence:
        raise RunError(f"{run.path} trains {config.sequence}, not {request.sequence}; resume with "
                       f"--sequence {config.sequence}")
    return config


class GanTrainer:
    """The models, optimizers and compiled steps of one run, created under the run's strategy."""

    def __init__(self, strategy: tf.distribute.Strategy, config: RunConfig, mixed: bool) -> None:
        self.strategy = strategy
        self.weights = LossWeights(**config.losses)
        self.global_batch = config.batch_size
        self.mixed = mixed
        with strategy.scope():
            self.generator = build_generator(GeneratorConfig(**config.generator),
                                             synchronized_batchnorm=strategy.num_replicas_in_sync > 1)
            self.discriminator = build_discriminator(config.discriminator_filters)
            self.g_opt = self._optimizer(config.learning_rate, self.generator)
            self.d_opt = self._optimizer(config.learning_rate, self.discriminator)
            self.epoch = tf.Variable(0, trainable=False, dtype=tf.int64, name="epoch")
        self.checkpoint = tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                              generator_optimizer=self.g_opt,
                                              discriminator_optimizer=self.d_opt, epoch=self.epoch)

    def _optimizer(self, learning_rate: float, model: tf.keras.Model) -> tf.keras.optimizers.Optimizer:
        optimizer = tf.keras.optimizers.Adam(learning_rate, beta_1=0.5)
        if self.mixed:
            optimizer = tf.keras.mixed_precision.LossScaleOptimizer(optimizer)
        optimizer.build(model.trainable_variables)  # create slots now, not inside the tf.function
        return optimizer

    def set_learning_rate(self, rate: float) -> None:
        """Both optimizers' rate for the coming steps (a variable, so the compiled step sees it)."""
        self.g_opt.learning_rate = rate
        self.d_opt.learning_rate = rate

    def _average(self, per_example: tf.Tensor) -> tf.Tensor:
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch)

    def _replica_step(self, low: tf.Tensor, high: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            generated = self.generator(low, training=True)
            real_logits = self.discriminator([low, high], training=True)
            fake_logits = self.discriminator([low, generated], training=True)
            g_terms = {k: self._average(v) for k, v in generator_loss(fake_logits, generated, high, self.weights,
                                                                       source=low).items()}
            d_loss = self._average(discriminator_loss(real_logits, fake_logits))
            g_scaled = self.g_opt.scale_loss(g_terms["total"]) if self.mixed else g_terms["total"]
            d_scaled = self.d_opt.scale_loss(d_loss) if self.mixed else d_loss
        for tape, loss, model, opt in ((g_tape, g_scaled, self.generator, self.g_opt),
                                       (d_tape, d_scaled, self.discriminator, self.d_opt)):
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
        return {"d": d_loss, **{f"g_{k}": v for k, v in g_terms.items()}}

    @tf.function
    def train_step(self, batch: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        per_replica = self.strategy.run(self._replica_step, args=batch)
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    @tf.function
    def _validate_batch(self, low: tf.Tensor, high: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        generated = tf.cast(self.generator(low, training=False), tf.float32)
        return (tf.image.ssim(generated, high, max_val=2.0),
                tf.reduce_mean(tf.abs(generated - high), axis=[1, 2, 3]))

    def validate(self, dataset: tf.data.Dataset) -> dict[str, float]:
        """Mean SSIM and L1 over the validation slices, in model space ([-1, 1], so max_val 2)."""
        ssim, l1 = [], []
        for low, high in dataset:
            s, a = self._validate_batch(low, high)
            ssim.append(s.numpy())
            l1.append(a.numpy())
        return {"ssim": float(np.mean(np.concatenate(ssim))), "l1": float(np.mean(np.concatenate(l1)))}

    def samples(self, inputs: np.ndarray, targets: np.ndarray) -> tf.Tensor:
        """Input, generated and target side by side in [0, 1], one image per slice."""
        generated = tf.cast(self.generator(inputs[..., None], training=False), tf.float32)
        row = tf.concat([inputs[..., None], generated, targets[..., None]], axis=2)
        return tf.clip_by_value((row + 1.0) / 2.0, 0.0, 1.0)


def rebuild_generator(run: RunDir) -> tuple[tf.keras.Model, RunConfig]:
    """The run's best generator, in float32, ready for export or evaluation."""
    config = run.read_config()
    weights = run.require_best_weights()
    tf.keras.mixed_precision.set_global_policy("float32")
    generator = build_generator(GeneratorConfig(**config.generator))
    try:
        generator.load_weights(str(weights))
    except (ValueError, OSError) as exc:
        raise LohiresError(f"{weights} does not fit the run's generator ({exc}); re-run "
                           "`lohires-train fit`") from None
    return generator, config
