"""The processing step: a spooled instance -> decode -> model -> fidelity -> derived instance in each
outgoing queue.

Each instance is processed as soon as it is spooled (no waiting for the series to end). The incoming
file is removed only after the derived instance is durably in every destination's queue, so a crash at
any point reprocesses it; derived UIDs are deterministic, so that replay gives the same instances.

The fidelity guard ([qa]): each derived slice's score (lohires_edge.fidelity) goes to the log, a histogram
and its ImageComments; below min_fidelity the slice is sent marked LOW FIDELITY ("flag") or written to
failed/<destination>/ instead of outgoing ("withhold"), where only `lohires-edge spool retry` sends it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from lohires_edge.atomic_file import write_atomically
from lohires_edge.backends.base import Backend
from lohires_edge.dicom.derive import derive_instance, fidelity_comment
from lohires_edge.dicom.geometry import read_placed_slice
from lohires_edge.fidelity import dicom_pixel_mm, fidelity
from lohires_edge.inference import run_tiles
from lohires_edge.node.config import QaConfig
from lohires_edge.node.qa import field_strength_problem
from lohires_edge.node.routing import route
from lohires_edge.node.spool import SUFFIX, Spool
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.slice_geometry import PlaneMismatch
from lohires_edge.slice_mapping import SliceImage, SliceState, from_model_batch, to_model_batch

log = logging.getLogger(__name__)

# Derived slices keep the model's pixel size (its finer matrix over the source field of view) rather
# than shrinking back to the coarse 64 mT matrix: the "PixelSpacing of the model grid".
OUTPUT_GRID = "model"
NO_MODEL = "no model for the series"  # the metrics label of every routing reason (those name sequences)
PLANE_MISMATCH = "not in the model's plane"  # the metrics label of a slice the geometry step refuses


@dataclass
class InFlight:
    """One spooled instance between the worker's steps: what `prepare` read and mapped, what `infer` ran."""
    path: Path
    started: float  # time.perf_counter() when `prepare` began, for the slice-seconds histogram
    ds: Dataset
    sequence: str
    route_reason: str
    source: SliceImage
    tiles: np.ndarray
    states: list[SliceState]
    outputs: np.ndarray | None = None
    error: Exception | None = None  # raised by `infer`; `finish` quarantines the instance


class Worker:
    """Three steps per instance: `prepare` (read, route, map to model input), `infer` (the model alone) and
    `finish` (map back, fidelity, derive, queue). `process` runs them in a row; the node's `Pipeline` runs
    each on its own thread so the model works while other slices are prepared and finished."""

    def __init__(self, spool: Spool, backends: Mapping[str, Backend], metrics: NodeMetrics,
                 qa: QaConfig = QaConfig(), on_queued: Callable[[], None] = lambda: None) -> None:
        """`on_queued` runs after each derived instance is queued: the senders start on it at once, while
        the next slice is being enhanced."""
        self.spool, self.backends, self.metrics, self.qa = spool, backends, metrics, qa
        self.on_queued = on_queued

    def process_pending(self, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Process every spooled instance (oldest first) while `keep_going()`; returns how many were handled."""
        handled = 0
        for path in self.spool.incoming():
            if not keep_going():
                break
            self.process(path)
            handled += 1
        return handled

    def process(self, path: Path) -> None:
        item = self.prepare(path)
        if item is not None:
            self.infer(item)
            self.finish(item)

    def prepare(self, path: Path) -> InFlight | None:
        """Read, check and route the instance and map it to model input; None if it was passed over or
        quarantined here (nothing more to do)."""
        started = time.perf_counter()
        try:
            ds = _read(path)
            field_problem = field_strength_problem(ds, self.qa)
            decision = route(ds, self.backends)
            if field_problem or decision.sequence is None:
                self._pass_over(path, ds, field_problem or NO_MODEL, field_problem or decision.reason)
                return None
            source = read_placed_slice(ds)
            try:
                tiles, states = to_model_batch([source], self.backends[decision.sequence].contract.mapping)
            except PlaneMismatch as exc:  # e.g. a sagittal series for an axial model: not for this model
                self._pass_over(path, ds, PLANE_MISMATCH, str(exc))
                return None
        except Exception as exc:  # noqa: BLE001 - see _quarantine
            self._quarantine(path, exc)
            return None
        return InFlight(path, started, ds, decision.sequence, decision.reason, source, tiles, states)

    def infer(self, item: InFlight) -> None:
        """Run the model on the mapped tiles; an error is kept for `finish`, which quarantines the instance."""
        try:
            item.outputs = run_tiles(self.backends[item.sequence], item.tiles)
        except Exception as exc:  # noqa: BLE001 - see _quarantine
            item.error = exc

    def finish(self, item: InFlight) -> None:
        """Map back, judge fidelity, derive and encode; then queue the derived instance durably for every
        destination and remove the incoming file. SpoolFull and OSError from the spool propagate: the
        instance stays in incoming/ for a later try."""
        path, ds, backend = item.path, item.ds, self.backends[item.sequence]
        try:
            if item.error is not None:
                raise item.error
            (enhanced,) = from_model_batch(item.outputs, item.states, OUTPUT_GRID)
            judged = fidelity(item.source.pixels, enhanced, dicom_pixel_mm(ds))
            score = None if judged is None else judged.r2
            note = fidelity_comment(score, self.qa.min_fidelity)
            derived = derive_instance(ds, enhanced, backend.contract, note)
            buffer = BytesIO()  # encoding belongs here: a dataset pydicom reads may still be unwritable
            derived.save_as(buffer, enforce_file_format=True)
        except Exception as exc:  # noqa: BLE001 - see _quarantine
            self._quarantine(path, exc)
            return
        low = score is not None and score < self.qa.min_fidelity
        withhold = low and self.qa.on_low_fidelity == "withhold"
        for destination in self.spool.destinations:
            if withhold:  # never in outgoing/, so the sender never sees it
                write_atomically(self.spool.failed_dir(destination) / (derived.SOPInstanceUID + SUFFIX),
                                 buffer.getvalue(), tmp_dir=self.spool.tmp_dir, mode=0o600)
            else:
                self.spool.store_outgoing(destination, derived.SOPInstanceUID, buffer.getvalue())
        self.spool.remove(path)
        self.on_queued()
        elapsed = time.perf_counter() - item.started
        self.metrics.enhanced.labels(sequence=item.sequence).inc()
        self.metrics.slice_seconds.observe(elapsed)
        if score is not None:
            self.metrics.fidelity.observe(score)
        if low:
            self.metrics.low_fidelity.labels(action=self.qa.on_low_fidelity).inc()
            log.warning("event=low_fidelity sop=%s fidelity=%.3f min_fidelity=%.3f action=%s",
                        ds.SOPInstanceUID, score, self.qa.min_fidelity,
                        "withheld in failed/" if withhold else "sent flagged")
        log.info("event=enhanced sop=%s series=%s route=%r seconds=%.3f fidelity=%s derived_sop=%s",
                 ds.SOPInstanceUID, ds.SeriesInstanceUID, item.route_reason, elapsed,
                 "none" if score is None else f"{score:.3f}", derived.SOPInstanceUID)

    def _quarantine(self, path: Path, exc: Exception) -> None:
        # Validated at receive time, so this is a file damaged on disk or a dataset nobody foresaw
        # (DecodeError, InvalidUID, a TypeError from a malformed attribute, a model that fails on it...).
        # Whatever it is, it must not stop the node: left in incoming/ it would stop it again at every
        # restart. Quarantine keeps the file for inspection.
        target = self.spool.quarantine(path)
        self.metrics.quarantined.inc()
        log.error("event=quarantined file=%s error=%s detail=%r", target.name, type(exc).__name__, str(exc))

    def _pass_over(self, path: Path, ds: Dataset, label: str, reason: str) -> None:
        log.warning("event=passed_over sop=%s series=%s reason=%r", ds.SOPInstanceUID, ds.SeriesInstanceUID,
                    reason)
        self.metrics.skipped.labels(reason=label).inc()
        self.spool.remove(path)


def _read(path: Path) -> Dataset:
    """The spooled file with every element parsed now: pydicom parses lazily, and a damaged file raises
    many exception types (unknown VR, odd lengths, struct errors) wherever an element is first touched."""
    try:
        ds = dcmread(path)
        for _ in ds.iterall():
            pass
    except Exception as exc:
        raise InvalidDicomError(f"{type(exc).__name__}: {exc}") from None
    return ds
