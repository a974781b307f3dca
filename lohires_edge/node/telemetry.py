"""The node's Prometheus metrics, in a registry of its own (so tests and embedding never clash)."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Per-slice latency buckets (seconds) around the 1 s/slice budget.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
# Fidelity score buckets, finest near 1 where faithful slices lie (lohires_edge.fidelity).
FIDELITY_BUCKETS = (0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 1.0)


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("lohires_received_instances", "Instances received and spooled", registry=r)
        self.refused = Counter("lohires_refused_instances", "C-STOREs answered with a failure status",
                               ["reason"], registry=r)
        self.enhanced = Counter("lohires_enhanced_instances", "Slices enhanced", ["sequence"], registry=r)
        self.rejected = Counter("lohires_rejected_associations", "Association requests rejected", ["reason"],
                                registry=r)
        self.skipped = Counter("lohires_skipped_instances", "Instances passed over, not enhanced", ["reason"],
                               registry=r)
        self.quarantined = Counter("lohires_quarantined_instances", "Spooled instances that could not be processed",
                                   registry=r)
        self.sent = Counter("lohires_sent_instances", "Derived instances delivered", ["destination"], registry=r)
        self.failed = Counter("lohires_failed_instances", "Deliveries moved to the failed area", ["destination"],
                              registry=r)
        self.queue_depth = Gauge("lohires_queue_depth", "Instances waiting in the spool", ["queue"], registry=r)
        self.slice_seconds = Histogram("lohires_slice_seconds", "Per-slice time from the worker "
                                       "reading the spooled instance to its derived instance queued (read, map, "
                                       "model, fidelity, derive, spool), waits between pipeline steps included",
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.fidelity = Histogram("lohires_slice_fidelity", "Fidelity of each derived slice to its source "
                                  "(R^2, 1 = faithful; slices without anatomy are not judged)",
                                  buckets=FIDELITY_BUCKETS, registry=r)
        self.low_fidelity = Counter("lohires_low_fidelity_instances", "Derived slices below [qa] "
                                    "min_fidelity, by what was done ([qa] on_low_fidelity)", ["action"],
                                    registry=r)

    def track_queue(self, queue: str, depth: Callable[[], float]) -> None:
        """Read `depth()` at every scrape, so the gauge is never stale."""
        self.queue_depth.labels(queue=queue).set_function(depth)
