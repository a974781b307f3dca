"""The worker's steps on three threads, so that the model is the bottleneck and not the Python around it.

    processing loop (the caller's thread): prepare ─► queue ─► model thread ─► queue ─► finishing thread

`prepare` reads, routes and maps a spooled instance; `infer` runs the model (ONNX Runtime and TensorRT
release the GIL, so it overlaps the Python of the other two); `finish` maps back, derives, queues the
derived instance durably and only then removes the incoming file. The queues are short (QUEUE_DEPTH), so
a few instances at most are between steps, and each of them is still in incoming/: a crash loses
nothing, and a restart processes them again (derived UIDs are deterministic). An instance is fed once:
the ones between steps are skipped when the loop lists incoming/ again.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Callable

from lohires_edge.node.spool import SpoolFull
from lohires_edge.node.worker import InFlight, Worker

log = logging.getLogger(__name__)

QUEUE_DEPTH = 2  # instances waiting for each of the model and finishing threads
SPOOL_ERROR_WAIT_S = 2.5  # the finishing thread's pause after the spool refused a derived instance

_END = None  # put on a queue: the thread that takes it passes it on and ends


class Pipeline:
    def __init__(self, worker: Worker, stop: threading.Event) -> None:
        self.worker, self.stop_event = worker, stop
        self._to_model: queue.Queue[InFlight | None] = queue.Queue(QUEUE_DEPTH)
        self._to_finish: queue.Queue[InFlight | None] = queue.Queue(QUEUE_DEPTH)
        self._in_flight: set[Path] = set()
        self._steps_done = self._steps_seen = 0  # model runs and finishes, for `moving`
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._model_loop, name="model", daemon=True),
                         threading.Thread(target=self._finish_loop, name="finish", daemon=True)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def feed(self, keep_going: Callable[[], bool] = lambda: True) -> int:
        """Prepare every spooled instance not yet fed (oldest first) while `keep_going()`, handing each to
        the model thread (waiting while its queue is full); returns how many were handled."""
        handled = 0
        for path in self.worker.spool.incoming():
            with self._lock:  # not fed yet, and not finished since the listing (finish removes, then discards)
                if path in self._in_flight or not path.exists():
                    continue
            if not keep_going():
                break
            handled += 1
            item = self.worker.prepare(path)
            if item is not None:
                with self._lock:
                    self._in_flight.add(path)
                self._to_model.put(item)
        return handled

    def moving(self) -> bool:
        """True when nothing is in flight, or a step has been done since the last call: the liveness the
        processing loop pings the watchdog on, so a hung model or finishing step stops the pings even when
        no new instance arrives to fill the queues."""
        with self._lock:
            moved = not self._in_flight or self._steps_done != self._steps_seen
            self._steps_seen = self._steps_done
            return moved

    def close(self) -> None:
        """Let the instances already fed finish, then end the threads."""
        self._to_model.put(_END)
        for thread in self._threads:
            thread.join()

    def _model_loop(self) -> None:
        while (item := self._to_model.get()) is not _END:
            self.worker.infer(item)
            self._step_done()
            self._to_finish.put(item)
        self._to_finish.put(_END)

    def _finish_loop(self) -> None:
        while (item := self._to_finish.get()) is not _END:
            try:
                self.worker.finish(item)
            except SpoolFull as exc:
                log.error("event=spool_full stage=outgoing reason=%r", str(exc))
                self.stop_event.wait(SPOOL_ERROR_WAIT_S)
            except OSError as exc:  # the spool's disk itself (permissions, I/O errors): keep serving, retry later
                log.error("event=spool_error stage=processing error=%s detail=%r", type(exc).__name__, str(exc))
                self.stop_event.wait(SPOOL_ERROR_WAIT_S)
            finally:  # done, or left in incoming/ for the loop to feed again
                with self._lock:
                    self._in_flight.discard(item.path)
                self._step_done()

    def _step_done(self) -> None:
        with self._lock:
            self._steps_done += 1
