"""The worker pipeline on a real spool and the tiny ONNX model: the model runs while the next instance is
prepared, the result is what the worker gives one instance at a time, a failure in a step neither loses
an instance nor stops the others, and a hung step shows as not moving (the watchdog's liveness)."""

from __future__ import annotations

import threading
from io import BytesIO

import numpy as np
from pydicom import dcmread

from benchmarks.loopback.synthetic_series import mr_series
from lohires_edge.backends.onnxruntime import OnnxRuntimeBackend
from lohires_edge.node import pipeline as pipeline_module
from lohires_edge.node.pipeline import Pipeline
from lohires_edge.node.spool import Spool, SpoolFull
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.node.worker import Worker

SERIES = mr_series(3)


def _spool(tmp_path, name: str, count: int = len(SERIES)) -> Spool:
    spool = Spool(tmp_path / name, 10 ** 8, ["PACS"])
    for ds in SERIES[:count]:
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        spool.store_incoming(ds.SOPInstanceUID, buffer.getvalue())
    return spool


class _Gated:
    """A backend whose `run` first calls `before_run(call number)`: the test's hook into the model step."""

    def __init__(self, inner: OnnxRuntimeBackend, before_run) -> None:
        self.inner, self.before_run, self.calls = inner, before_run, 0
        self.contract, self.max_batch = inner.contract, inner.max_batch

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.before_run(self.calls)
        return self.inner.run(batch)


def _run_pipeline(worker: Worker) -> None:
    pipeline = Pipeline(worker, threading.Event())
    pipeline.start()
    try:
        pipeline.feed()
    finally:
        pipeline.close()


def _queued(spool: Spool) -> dict[str, bytes]:
    return {path.stem: dcmread(path).PixelData for path in spool.outgoing("PACS")}


def test_the_model_runs_while_the_next_instance_is_prepared_and_the_result_is_the_workers(tiny_model, tmp_path):
    spool, serial = _spool(tmp_path, "pipelined"), _spool(tmp_path, "serial")
    second_prepared, overlapped = threading.Event(), []
    with OnnxRuntimeBackend(tiny_model) as backend:
        def first_run_waits_for_the_second_instance(call: int) -> None:
            if call == 1:  # one at a time, the second instance is prepared only after this run: never set
                overlapped.append(second_prepared.wait(60))

        worker = Worker(spool, {"T1": _Gated(backend, first_run_waits_for_the_second_instance)}, NodeMetrics())
        prepare = worker.prepare
        prepared = []

        def counting_prepare(path):
            item = prepare(path)
            prepared.append(path)
            if len(prepared) == 2:
                second_prepared.set()
            return item

        worker.prepare = counting_prepare
        _run_pipeline(worker)
        Worker(serial, {"T1": backend}, NodeMetrics()).process_pending()

    assert overlapped == [True]
    assert spool.incoming() == [] and len(_queued(spool)) == len(SERIES)
    assert _queued(spool) == _queued(serial)


def test_an_instance_the_model_fails_on_is_quarantined_and_the_others_go_on(tiny_model, tmp_path):
    spool = _spool(tmp_path, "spool")
    metrics = NodeMetrics()

    def second_run_fails(call: int) -> None:
        if call == 2:
            raise RuntimeError("the model failed on this input")

    with OnnxRuntimeBackend(tiny_model) as backend:
        _run_pipeline(Worker(spool, {"T1": _Gated(backend, second_run_fails)}, metrics))

    oldest_first = [ds.SOPInstanceUID for ds in SERIES]  # stored in this order
    assert [p.stem for p in spool.quarantine_dir.iterdir()] == [oldest_first[1]]
    assert spool.incoming() == [] and len(spool.outgoing("PACS")) == 2
    assert metrics.registry.get_sample_value("lohires_quarantined_instances_total") == 1


def test_a_refused_outgoing_write_leaves_the_instance_in_incoming_and_a_later_feed_queues_it(
        tiny_model, tmp_path, monkeypatch):
    spool = _spool(tmp_path, "spool")
    monkeypatch.setattr(pipeline_module, "SPOOL_ERROR_WAIT_S", 0)
    store_outgoing, refused = spool.store_outgoing, []

    def first_write_refused(destination, uid, data):
        if not refused:
            refused.append(uid)
            raise SpoolFull("over quota")
        return store_outgoing(destination, uid, data)

    spool.store_outgoing = first_write_refused
    with OnnxRuntimeBackend(tiny_model) as backend:
        worker = Worker(spool, {"T1": backend}, NodeMetrics())
        _run_pipeline(worker)
        assert [p.stem for p in spool.incoming()] == [SERIES[0].SOPInstanceUID]
        assert len(spool.outgoing("PACS")) == 2
        _run_pipeline(worker)

    assert spool.incoming() == [] and len(spool.outgoing("PACS")) == 3


def test_a_hung_model_step_shows_as_not_moving_until_it_goes_on(tiny_model, tmp_path):
    spool = _spool(tmp_path, "spool", count=1)
    model_released = threading.Event()
    with OnnxRuntimeBackend(tiny_model) as backend:
        worker = Worker(spool, {"T1": _Gated(backend, lambda call: model_released.wait(60))}, NodeMetrics())
        pipeline = Pipeline(worker, threading.Event())
        assert pipeline.moving()  # empty
        pipeline.start()
        try:
            pipeline.feed()
            assert not pipeline.moving()  # in flight, and the model has not finished its run
            assert not pipeline.moving()
        finally:
            model_released.set()
            pipeline.close()
        assert pipeline.moving()  # done: nothing in flight
    assert len(spool.outgoing("PACS")) == 1
