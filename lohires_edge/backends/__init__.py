"""Inference backends: one interface (`Backend`), one implementation per runtime."""

from lohires_edge.backends.base import Backend, BackendUnavailable

__all__ = ["Backend", "BackendUnavailable"]
