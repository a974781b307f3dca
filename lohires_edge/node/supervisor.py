"""`serve`: start the node's parts in order, run the processing loop, stop cleanly on SIGTERM.

Start: process-wide settings (pydicom's, and warnings as log lines: `keep_values_out_of_logs`, before
any thread runs) -> spool -> models -> metrics/health endpoint -> senders -> worker pipeline -> listener,
then READY=1. The processing loop runs in the main thread, feeds the pipeline (lohires_edge.node.pipeline)
and pings the systemd watchdog while the pipeline is empty or moving; a hung model or finishing step
stops the pings (and, once the pipeline's short queues are full, blocks the loop), and systemd restarts
the node. SIGTERM/SIGINT: stop accepting associations, finish the slices already fed (QUEUE_DEPTH per
step at most), leave everything else in the spool (it resumes on restart), exit.
"""

from __future__ import annotations

import logging
import signal
import threading

from lohires_edge.backends.base import Backend
from lohires_edge.backends.selection import open_backend
from lohires_edge.dicom import keep_values_out_of_logs
from lohires_edge.node.config import ConfigError, NodeConfig
from lohires_edge.node.health import Health, start_endpoint
from lohires_edge.node.listener import Listener
from lohires_edge.node.sender import Sender
from lohires_edge.node.pipeline import Pipeline
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics
from lohires_edge.node.worker import Worker
from lohires_edge.service.notify import Notifier

log = logging.getLogger(__name__)

LOOP_WAIT_S = 0.5  # longest idle wait of the processing loop; bounds watchdog and stop latency


def open_spool(config: NodeConfig) -> Spool:
    return Spool(config.spool_dir, config.spool_quota_bytes, [d.name for d in config.destinations])


def load_backends(config: NodeConfig) -> dict[str, Backend]:
    """One backend per configured sequence; a model whose contract names another sequence is a config error."""
    backends = {}
    for index, entry in enumerate(config.models):
        backend = open_backend(model=entry.path, engine=entry.engine, backend=config.backend,
                               engines_dir=config.engines_dir, sequence=entry.sequence)
        if backend.contract.sequence != entry.sequence:
            raise ConfigError(f"{config.source}: models[{index}]: the model is for {backend.contract.sequence}, "
                              f"the entry says {entry.sequence}")
        log.info("event=model_loaded sequence=%s model=%s backend=%s", entry.sequence, backend.contract.model_id,
                 backend.name)
        backends[entry.sequence] = backend
    return backends


def serve(config: NodeConfig, notifier: Notifier | None = None) -> None:
    keep_values_out_of_logs()
    notifier = notifier or Notifier()
    stop = threading.Event()
    wake = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: (stop.set(), wake.set()))

    spool = open_spool(config)
    spool.clear_partial_writes()
    notifier.status("loading models")
    backends = load_backends(config)
    metrics, health = NodeMetrics(), Health()
    _track_queues(metrics, spool)
    endpoint = (start_endpoint(config.telemetry_host, config.telemetry_port, health, metrics)
                if config.telemetry_port else None)
    senders = [Sender(config, d, spool, metrics, stop) for d in config.destinations]
    for sender in senders:
        sender.start()
    listener = Listener(config, spool, metrics, on_stored=wake.set)
    worker = Worker(spool, backends, metrics, config.qa, on_queued=lambda: _wake(senders))
    pipeline = Pipeline(worker, stop)
    pipeline.start()
    try:
        listener.start()
        health.listening = True
        notifier.status(f"serving as {config.ae_title} on port {config.port}")
        notifier.ready()
        _processing_loop(pipeline, notifier, health, stop, wake)
    finally:
        notifier.stopping()
        health.listening = False
        listener.stop()
        stop.set()
        pipeline.close()
        for sender in senders:
            sender.join(timeout=config.network_timeout)
        if endpoint is not None:
            endpoint.shutdown()
            endpoint.server_close()
        for backend in backends.values():
            backend.close()
        log.info("event=stopped incoming_left=%d note='the spool resumes on restart'", spool.counts().incoming)
        notifier.close()


def _wake(senders: list[Sender]) -> None:
    for sender in senders:
        sender.wake.set()


def _processing_loop(pipeline: Pipeline, notifier: Notifier, health: Health, stop: threading.Event,
                     wake: threading.Event) -> None:
    def alive() -> bool:
        if pipeline.moving():
            notifier.watchdog()
            health.beat()
        return not stop.is_set()

    while alive():
        wake.clear()
        try:
            handled = pipeline.feed(keep_going=alive)
        except OSError as exc:  # the spool's disk itself (permissions, I/O errors): keep serving, retry later
            log.error("event=spool_error stage=processing error=%s detail=%r", type(exc).__name__, str(exc))
            handled = 0
            stop.wait(5 * LOOP_WAIT_S)
        if not handled:
            wake.wait(LOOP_WAIT_S)


def _track_queues(metrics: NodeMetrics, spool: Spool) -> None:
    metrics.track_queue("incoming", lambda: len(spool.incoming()))
    for name in spool.destinations:
        metrics.track_queue(f"outgoing/{name}", lambda name=name: len(spool.outgoing(name)))
        metrics.track_queue(f"failed/{name}", lambda name=name: len(list(spool.failed_dir(name).glob("*.dcm"))))
