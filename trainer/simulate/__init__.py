"""Paired 64 mT / 3 T head MRI from real anatomy and MR physics: training data, test data and scanner series
without patients.

    from trainer.simulate import simulate_dataset
    simulate_dataset(out, subjects=2, size="small", dicom_dir=out / "dicom")   # tests: about 1 s a subject

See docs/simulator.md for the anatomy, physics, every number and its source.
"""

from __future__ import annotations

from trainer.simulate.dataset import (HIGH_FIELD_DIR, LABELS_DIR, LOW_FIELD_DIR, SimulatedSeries,
                                      simulate_dataset, subject_id)
from trainer.simulate.geometry import FULL, SMALL, Geometry
from lohires_edge.contract import SEQUENCES

__all__ = ["simulate_dataset", "SimulatedSeries", "subject_id", "Geometry", "FULL", "SMALL", "SEQUENCES",
           "LOW_FIELD_DIR", "HIGH_FIELD_DIR", "LABELS_DIR"]
