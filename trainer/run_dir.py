"""The run directory: what `fit` writes and `export` / `evaluate` read, so a run is usable on its own.

    RUN/run.json            how the run was configured (generator, mapping, losses, data, subjects)
    RUN/checkpoints/        the last epochs' full training state (tf.train.CheckpointManager), for --resume
    RUN/best.weights.h5     the generator weights with the best validation SSIM so far
    RUN/best.json           that epoch and its validation metrics
    RUN/check_slices.npy    mapped validation input slices: the real slices export checks parity on
    RUN/logs/               TensorBoard scalars and sample images
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lohires_edge.atomic_file import write_atomically
from lohires_edge.errors import LohiresError
from lohires_edge.slice_mapping import MappingParams

RUN_FILE = "run.json"
BEST_WEIGHTS = "best.weights.h5"
BEST_FILE = "best.json"
CHECK_SLICES_FILE = "check_slices.npy"
CHECKPOINTS = "checkpoints"
LOGS = "logs"


class RunError(LohiresError):
    """A run directory that is missing, incomplete or inconsistent with the command."""


@dataclass(frozen=True)
class RunConfig:
    """Everything about a run that export, evaluate and --resume need to rebuild it."""

    sequence: str
    generator: dict[str, int]
    mapping: dict[str, Any]  # MappingParams.to_dict(): grid, percentiles and the training geometry
    discriminator_filters: int
    losses: dict[str, float]
    learning_rate: float
    batch_size: int
    seed: int
    data: str
    train_subjects: list[str]
    validation_subjects: list[str]
    model_name: str = "lohiresgan"
    model_version: str = "0.1.0"

    @property
    def mapping_params(self) -> MappingParams:
        return MappingParams.from_dict(self.mapping)

    def training_data(self) -> str:
        """One line for the model contract: which data, how many subjects and at what size."""
        return (f"{self.sequence} pairs from {Path(self.data).name}: {len(self.train_subjects)} training / "
                f"{len(self.validation_subjects)} validation subjects, {self.mapping['size']} px, "
                f"seed {self.seed}")


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def logs(self) -> Path:
        return self.path / LOGS

    @property
    def best_weights(self) -> Path:
        return self.path / BEST_WEIGHTS

    def write_config(self, config: RunConfig) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _write_json(self.path / RUN_FILE, asdict(config))

    def read_config(self) -> RunConfig:
        path = self.path / RUN_FILE
        if not path.is_file():
            raise RunError(f"{self.path} is not a training run (no {RUN_FILE}); pass the --out folder of "
                           "`lohires-train fit`")
        try:
            return RunConfig(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise RunError(f"{path} is malformed ({exc}); re-run `lohires-train fit`") from None

    def write_best(self, epoch: int, metrics: dict[str, float]) -> None:
        _write_json(self.path / BEST_FILE, {"epoch": epoch, **metrics})

    def read_best(self) -> dict[str, float] | None:
        path = self.path / BEST_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def require_best_weights(self) -> Path:
        if not self.best_weights.is_file():
            raise RunError(f"{self.path} has no {BEST_WEIGHTS} yet; let `lohires-train fit` finish at least "
                           "one epoch")
        return self.best_weights

    def write_check_slices(self, slices: np.ndarray) -> None:
        np.save(self.path / CHECK_SLICES_FILE, slices.astype(np.float32))

    def read_check_slices(self) -> np.ndarray:
        path = self.path / CHECK_SLICES_FILE
        if not path.is_file():
            raise RunError(f"{self.path} has no {CHECK_SLICES_FILE}; re-run `lohires-train fit`")
        return np.load(path)


def _write_json(path: Path, value: Any) -> None:
    # Whole or nothing: a crash mid-write never leaves a half file that --resume or export would trip on.
    write_atomically(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())
