"""Delivery of derived instances: a C-STORE SCU per destination, with retries and exponential backoff.

An instance leaves `outgoing/<destination>` only when the destination answered Success (or a warning,
which PS3.4 defines as stored); after `retries` failed attempts it moves to `failed/<destination>`.

One association per destination stays open while work flows: rounds reuse it, and it is released after
IDLE_RELEASE_S without work, after a failed round (the backoff may be long) and at stop. Only this
thread sends on it, so its send_* calls never overlap, and before each one the association's reactor is
held (lohires_edge.node.reactor), so it never takes the response that the send waits for.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from pathlib import Path

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE, Association, evt
from pynetdicom.status import STATUS_SUCCESS, STATUS_WARNING, code_to_category

from lohires_edge.node.config import Destination, NodeConfig
from lohires_edge.node.reactor import hold_reactor, install_checkpoint
from lohires_edge.node.spool import Spool
from lohires_edge.node.telemetry import NodeMetrics

log = logging.getLogger(__name__)

# Seconds without work before the open association is released: well under the idle timeouts with which
# PACS close associations (Orthanc: 30 s), so the node never sends on one the peer is about to drop.
IDLE_RELEASE_S = 2.0


def backoff_seconds(failures: int, initial: float, maximum: float) -> float:
    """Wait before the next attempt after `failures` consecutive failures: initial * 2^(failures-1), capped."""
    return min(maximum, initial * 2 ** max(0, failures - 1))


def delivered(status: int) -> bool:
    """Success, or a warning (0xB000, 0xB006, 0xB007: stored with coercion or elements discarded)."""
    return status >= 0 and code_to_category(status) in (STATUS_SUCCESS, STATUS_WARNING)


class Sender(threading.Thread):
    def __init__(self, config: NodeConfig, destination: Destination, spool: Spool, metrics: NodeMetrics,
                 stop: threading.Event) -> None:
        super().__init__(name=f"sender-{destination.name}", daemon=True)
        self.config, self.destination, self.spool, self.metrics, self.stop_event = (
            config, destination, spool, metrics, stop)
        self.wake = threading.Event()
        self.attempts: dict[str, int] = {}  # file name -> failed attempts since start
        self.failures = 0  # consecutive failed rounds, for the backoff
        self.ae = AE(ae_title=config.ae_title)
        self.ae.acse_timeout = config.acse_timeout
        self.ae.dimse_timeout = config.dimse_timeout
        self.ae.network_timeout = config.network_timeout
        self.ae.add_requested_context(MRImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        self._assoc: Association | None = None
        self._last_used = 0.0  # time.monotonic() of the last send on `_assoc`

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                pending = self.spool.outgoing(self.destination.name)
                if not pending:
                    if time.monotonic() - self._last_used > IDLE_RELEASE_S:
                        self.release()
                    self.wake.wait(0.5)
                    self.wake.clear()
                    continue
                try:
                    ok = self.send_round(pending)
                except Exception:  # a bug or an odd peer must not end deliveries: log, back off, go on
                    log.exception("event=send_error destination=%s", self.destination.name)
                    ok = False
                if ok:
                    self.failures = 0
                else:
                    self.release()
                    self.failures += 1
                    config = self.config
                    delay = backoff_seconds(self.failures, config.backoff_initial, config.backoff_max)
                    log.info("event=retry_scheduled destination=%s in_s=%.1f", self.destination.name, delay)
                    self.stop_event.wait(delay)
        finally:
            self.release()

    def release(self) -> None:
        """Release the open association, if any (its peer may already have ended it)."""
        if self._assoc is not None and self._assoc.is_established:
            hold_reactor(self._assoc)
            self._assoc.release()
        self._assoc = None

    def _association(self) -> Association | None:
        """The open association to the destination, opened now if there is none; None if it cannot be."""
        if self._assoc is not None and self._assoc.is_established:
            return self._assoc
        dest = self.destination
        tls = None
        if dest.tls_ca is not None:
            tls = (ssl.create_default_context(cafile=str(dest.tls_ca)), dest.host)
        assoc = self.ae.associate(dest.host, dest.port, ae_title=dest.ae_title, tls_args=tls,
                                  evt_handlers=[(evt.EVT_ESTABLISHED, install_checkpoint)])
        if not assoc.is_established:
            log.warning("event=association_failed destination=%s ae=%s address=%s:%d", dest.name, dest.ae_title,
                        dest.host, dest.port)
            return None
        self._assoc = assoc
        return assoc

    def send_round(self, pending: list[Path]) -> bool:
        """Send `pending` over the open association; True if every instance was delivered."""
        dest = self.destination
        assoc = self._association()
        if assoc is None:
            for path in pending:
                self._failed_attempt(path)
            return False
        all_delivered = True
        try:
            for path in pending:
                if self.stop_event.is_set() or not assoc.is_established:
                    all_delivered = False
                    break
                try:
                    ds = dcmread(path)
                except FileNotFoundError:  # `spool retry` or another process moved it
                    continue
                except Exception as exc:  # damaged on disk (pydicom raises many types): sending cannot help
                    log.error("event=unreadable_outgoing file=%s destination=%s error=%r action=moved_to_failed",
                              path.name, dest.name, f"{type(exc).__name__}: {exc}")
                    self.spool.move_to_failed(dest.name, path)
                    continue
                sent = time.monotonic()
                try:
                    hold_reactor(assoc)
                    response = assoc.send_c_store(ds)
                except Exception as exc:  # e.g. no accepted context, or a dataset pynetdicom cannot encode
                    log.warning("event=send_failed sop=%s destination=%s error=%r", path.stem, dest.name,
                                f"{type(exc).__name__}: {exc}")
                    response = None
                wait = time.monotonic() - sent  # the send and its response: long only with a slow peer
                status = int(response.Status) if response is not None and "Status" in response else -1
                if delivered(status):
                    self.spool.remove(path)
                    self.attempts.pop(path.name, None)
                    self.metrics.sent.labels(destination=dest.name).inc()
                    log.info("event=delivered sop=%s destination=%s status=0x%04X wait_s=%.3f", path.stem,
                             dest.name, status, wait)
                else:
                    all_delivered = False
                    log.warning("event=delivery_refused sop=%s destination=%s status=%s wait_s=%.3f", path.stem,
                                dest.name, f"0x{status:04X}" if status >= 0 else "none", wait)
                    self._failed_attempt(path)
        finally:
            self._last_used = time.monotonic()
        return all_delivered

    def _failed_attempt(self, path: Path) -> None:
        count = self.attempts.get(path.name, 0) + 1
        self.attempts[path.name] = count
        if count > self.config.retries and path.exists():
            self.spool.move_to_failed(self.destination.name, path)
            self.attempts.pop(path.name, None)
            self.metrics.failed.labels(destination=self.destination.name).inc()
            log.error("event=gave_up sop=%s destination=%s attempts=%d action=moved_to_failed "
                      "hint='lohires-edge spool retry re-sends'", path.stem, self.destination.name, count)
