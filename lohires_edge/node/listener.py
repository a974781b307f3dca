"""The C-STORE / C-ECHO service class provider: access control, validation, and the durable acknowledgement.

An instance is answered Success only after the spool holds it on disk (fsync'd); everything else gets a
failure status naming why, and the listener keeps serving. Statuses (PS3.4 Annex B / PS3.7 C):
0x0122 SOP class not supported (not single-frame MR, e.g. Enhanced MR), 0xA700 out of resources (spool
quota or disk), 0xA900 dataset does not match the request, 0xC000 cannot understand (corrupt or
undecodable), 0xC001 invalid UID.

Association requests: pynetdicom itself rejects an unknown calling AE title (`AE.require_calling_aet`), a
wrong called AE title (`require_called_aet`) and one association too many; `_on_requested` adds what it
does not cover (a caller bound to a host, and no allowed caller at all). Every rejection is one
`event=association_rejected` line and counts in `lohires_rejected_associations_total{reason}`.
"""

from __future__ import annotations

import logging
import socket
import ssl
from typing import Callable

from pydicom.pixels import get_decoder
from pydicom.uid import (AllTransferSyntaxes, DeflatedExplicitVRLittleEndian, EnhancedMRImageStorage,
                         ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, MRImageStorage, UID)
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.presentation import StoragePresentationContexts
from pynetdicom.sop_class import Verification
from pynetdicom.status import STORAGE_SERVICE_CLASS_STATUS, Status
from pynetdicom.transport import ThreadedAssociationServer

from lohires_edge.dicom.decode import DecodeError, read_mr_slice
from lohires_edge.dicom.uids import InvalidUID, require_valid_uid
from lohires_edge.node.config import Caller, NodeConfig
from lohires_edge.node.spool import Spool, SpoolFull
from lohires_edge.node.telemetry import NodeMetrics

log = logging.getLogger(__name__)

# Storage failure statuses (PS3.4 B.2.3, pynetdicom's STORAGE_SERVICE_CLASS_STATUS); pynetdicom's Status
# enum names only the general ones such as SUCCESS.
NOT_SUPPORTED, OUT_OF_RESOURCES, MISMATCH, CANNOT_UNDERSTAND, INVALID_UID = (
    0x0122, 0xA700, 0xA900, 0xC000, 0xC001)
# A-ASSOCIATE-RJ (source, diagnostic) -> reason, PS3.8 9.3.4
_REJECTIONS = {(0x01, 0x03): "calling AE title not recognised",
               (0x01, 0x07): "called AE title not recognised",
               (0x03, 0x01): "temporary congestion", (0x03, 0x02): "too many associations"}
_UNCOMPRESSED = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian)


def accepted_transfer_syntaxes() -> list[UID]:
    """Uncompressed syntaxes, plus every compressed one pydicom can decode here (its pixel handlers)."""
    compressed = []
    for syntax in AllTransferSyntaxes:
        if syntax in _UNCOMPRESSED or not syntax.is_compressed:
            continue
        try:
            if get_decoder(syntax).is_available:
                compressed.append(syntax)
        except NotImplementedError:  # video and other syntaxes with no pixel decoder at all
            pass
    return [*_UNCOMPRESSED, *compressed]


class CallerCheck:
    """Allowed calling AE titles, each optionally bound to a host (resolved to its addresses at start).

    pynetdicom checks the titles (`titles` goes to `AE.require_calling_aet`); `refusal` covers the rest.
    """

    def __init__(self, callers: tuple[Caller, ...]) -> None:
        self._allowed = [(c.ae_title.strip(), _addresses(c.host) if c.host else None) for c in callers]
        self.titles = sorted({title for title, _ in self._allowed})

    def refusal(self, ae_title: str, address: str) -> str | None:
        """Why a caller pynetdicom lets through must be rejected, or None."""
        if not self._allowed:
            return "no node.allowed_callers entry: nobody may connect"
        bindings = [hosts for title, hosts in self._allowed if title == ae_title.strip()]
        if not bindings or any(hosts is None or address in hosts for hosts in bindings):
            return None  # allowed, or an unknown title that pynetdicom rejects
        return "calling AE title not allowed from this address"


def _addresses(host: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        log.warning("event=caller_host_unresolved host=%s note='nobody will match it'", host)
        return set()


def server_tls_context(config: NodeConfig) -> ssl.SSLContext | None:
    if config.tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(config.tls.cert), str(config.tls.key))
    if config.tls.ca:
        context.load_verify_locations(cafile=str(config.tls.ca))
    context.verify_mode = ssl.CERT_REQUIRED if config.tls.verify_client else ssl.CERT_NONE
    return context


class Listener:
    def __init__(self, config: NodeConfig, spool: Spool, metrics: NodeMetrics, on_stored: Callable[[], None]) -> None:
        self.config, self.spool, self.metrics, self.on_stored = config, spool, metrics, on_stored
        self.callers = CallerCheck(config.allowed_callers)
        self.ae = AE(ae_title=config.ae_title)
        self.ae.maximum_associations = config.max_associations
        self.ae.acse_timeout = config.acse_timeout
        self.ae.dimse_timeout = config.dimse_timeout
        self.ae.network_timeout = config.network_timeout
        self.ae.require_called_aet = True
        self.ae.require_calling_aet = self.callers.titles
        syntaxes = accepted_transfer_syntaxes()
        self.ae.add_supported_context(Verification)
        # Every storage SOP class is accepted at association, so a study with other objects in it does
        # not fail negotiation; each non-MR instance then gets 0x0122 and a log line.
        for context in StoragePresentationContexts:
            self.ae.add_supported_context(context.abstract_syntax, syntaxes)
        self._server: ThreadedAssociationServer | None = None

    def start(self) -> None:
        handlers = [(evt.EVT_REQUESTED, self._on_requested), (evt.EVT_REJECTED, self._on_rejected),
                    (evt.EVT_C_STORE, self._on_store), (evt.EVT_C_ECHO, lambda event: Status.SUCCESS)]
        self._server = self.ae.start_server((self.config.host, self.config.port), block=False,
                                            evt_handlers=handlers, ssl_context=server_tls_context(self.config))
        log.info("event=listening ae=%s host=%s port=%d tls=%s", self.config.ae_title, self.config.host,
                 self.config.port, "yes" if self.config.tls else "no")

    def stop(self) -> None:
        """Stop accepting associations and end the ones in progress (their unacknowledged stores are resent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _on_requested(self, event: evt.Event) -> None:
        assoc = event.assoc
        calling = str(assoc.requestor.primitive.calling_ae_title)
        reason = self.callers.refusal(calling, str(assoc.requestor.address))
        if reason is None:
            return
        self._log_rejection(assoc, reason)
        assoc.acse.send_reject(0x01, 0x01, 0x03)  # rejected permanent, service user, calling AE not recognised
        assoc.kill()

    def _on_rejected(self, event: evt.Event) -> None:
        """pynetdicom rejected the request (its own checks); name the reason, which it does not log."""
        answer = event.assoc.acceptor.primitive
        key = (answer.result_source, answer.diagnostic) if answer is not None else None
        self._log_rejection(event.assoc, _REJECTIONS.get(key, "rejected by pynetdicom"))

    def _log_rejection(self, assoc: Association, reason: str) -> None:
        request = assoc.requestor.primitive
        log.warning("event=association_rejected calling_ae=%r called_ae=%r address=%s reason=%r",
                    str(request.calling_ae_title).strip(), str(request.called_ae_title).strip(),
                    assoc.requestor.address, reason)
        self.metrics.rejected.labels(reason=reason).inc()

    def _on_store(self, event: evt.Event) -> int:
        status, reason = self._store(event)
        if status != Status.SUCCESS:
            self.metrics.refused.labels(reason=reason.split(":")[0]).inc()
            log.warning("event=store_refused status=0x%04X meaning=%r calling_ae=%r reason=%r",
                        status, STORAGE_SERVICE_CLASS_STATUS[status][1],
                        str(event.assoc.requestor.ae_title).strip(), reason)
        return status

    def _store(self, event: evt.Event) -> tuple[int, str]:
        request_class = str(event.request.AffectedSOPClassUID)
        if request_class == EnhancedMRImageStorage:
            return NOT_SUPPORTED, "Enhanced MR (multi-frame) is not supported: send MR Image Storage"
        if request_class != MRImageStorage:
            return NOT_SUPPORTED, f"SOP class {request_class} is not MR Image Storage"
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
            uid = require_valid_uid(ds.get("SOPInstanceUID"), "SOPInstanceUID")
            require_valid_uid(ds.get("SeriesInstanceUID"), "SeriesInstanceUID")
        except InvalidUID as exc:
            return INVALID_UID, f"invalid UID: {exc}"
        except Exception as exc:  # pydicom raises many types for a corrupt byte stream
            return CANNOT_UNDERSTAND, f"corrupt dataset: {type(exc).__name__}"
        if uid != event.request.AffectedSOPInstanceUID or str(ds.get("SOPClassUID", "")) != request_class:
            return MISMATCH, "mismatch: dataset SOP class/instance differ from the C-STORE request"
        try:
            read_mr_slice(ds)
        except DecodeError as exc:
            return CANNOT_UNDERSTAND, f"undecodable: {exc}"
        try:
            self.spool.store_incoming(uid, event.encoded_dataset(include_meta=True))
        except SpoolFull as exc:
            return OUT_OF_RESOURCES, f"spool full: {exc}"
        except OSError as exc:
            return OUT_OF_RESOURCES, f"spool write failed: {exc.strerror or exc}"
        self.metrics.received.inc()
        log.info("event=spooled sop=%s series=%s", uid, ds.SeriesInstanceUID)
        self.on_stored()
        return Status.SUCCESS, ""
