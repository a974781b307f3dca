"""Simulated datasets shared by the simulator tests: small volumes, generated once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer.simulate import Geometry, simulate_dataset

SMALL_SEED = 11
# Full resolution over a 40 mm slab through the deep grey nuclei and ventricles: pure tissue survives the
# 64 mT voxel there, so contrast can be measured. Seed 1's subject 1 has lesions in the slab.
SLAB = Geometry(fov_mm=220.0, high_matrix=220, high_slices=40)
SLAB_SEED = 1


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("sim-small")
    records = simulate_dataset(out, 2, seed=SMALL_SEED, size="small", dicom_dir=out / "dicom", labels=True)
    return out, records


@pytest.fixture(scope="session")
def slab_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim-slab")
    simulate_dataset(out, 1, seed=SLAB_SEED, size=SLAB, dicom_dir=out / "dicom", labels=True)
    return out
