"""Fixtures shared across the suite: a real trainer-exported tiny model, and real DICOM peers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lohires_edge.contract import ModelContract
from lohires_edge.dicom.dcmtk import dcmtk_program
from lohires_edge.slice_mapping import MappingParams

TINY_SIZE = 32


def tiny_contract(sequence: str = "T1") -> ModelContract:
    return ModelContract(sequence=sequence, mapping=MappingParams(size=TINY_SIZE), model_name="tiny",
                         model_version="0.0.1", training_data="untrained test model")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny generator exported by the trainer's own export (real TF -> tf2onnx -> ONNX)."""
    import tensorflow as tf

    from trainer.export import export_onnx
    from trainer.models import GeneratorConfig, build_generator

    tf.keras.utils.set_random_seed(7)
    generator = build_generator(GeneratorConfig(base_filters=4, depth=3, residual_blocks=1))
    path = tmp_path_factory.mktemp("models") / "tiny-t1.onnx"
    check = np.random.default_rng(0).uniform(-1, 1, (2, TINY_SIZE, TINY_SIZE)).astype(np.float32)
    export_onnx(generator, tiny_contract(), path, check)
    return path


def require_programs(*names: str) -> None:
    """Skip the calling test, naming what is missing and how `make test` gets it."""
    missing = [n for n in names if shutil.which(n) is None and not Path("/usr/sbin", n).exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian packages dcmtk/orthanc; "
                    "`make test` installs them when run as root)")


def require_dcmtk(*names: str) -> None:
    """Skip the calling test, before it starts anything, unless dcmtk provides every program in `names`.

    dcmtk's, never pynetdicom's console scripts of the same names (lohires_edge.dicom.dcmtk tells them apart).
    """
    for name in names:
        if dcmtk_program(name) is None:
            pytest.skip(f"dcmtk's {name} is not installed (Debian package dcmtk; `make test` installs it)")
