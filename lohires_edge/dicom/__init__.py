"""DICOM for the edge: read an MR slice, build the derived (enhanced) instance, check UIDs."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

import pydicom.config

# Dataset values in pydicom's messages are quoted (it formats them with !r): "Invalid value for VR PN: 'X'".
_QUOTED = re.compile(r"""b?'(?:[^'\\]|\\.)*'|b?"(?:[^"\\]|\\.)*\"""")
_warnings_log = logging.getLogger("lohires_edge.warnings")


def keep_values_out_of_logs() -> None:
    """Keep dataset values (patient data) out of the log; call once at start-up, before any thread runs.

    These are process-wide settings, so the node makes them before it receives anything:
    - pydicom's read-time value validation is off: it warns with the offending value itself, and a
      non-conforming PatientName would reach the journal. Our own checks (decode, UIDs) do the validation
      that matters.
    - Python warnings (pydicom's, mostly: excess pixel padding, odd lengths) become one `event=warning`
      log line each, quoted values removed, instead of multi-line text on stderr.
    - pydicom's own log records are one line with quoted values removed; its WARNING records are dropped,
      since each one from `warn_and_log` is also a Python warning, logged once per place as above. The
      filter sits on the "pydicom" logger and on the root handlers (pydicom.pixels logs under its own
      module names), so call this after logging is configured.
    """
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    warnings.showwarning = _log_warning
    for owner in (logging.getLogger("pydicom"), *logging.getLogger().handlers):
        if not any(isinstance(f, _OneLineWithoutValues) for f in owner.filters):
            owner.addFilter(_OneLineWithoutValues())


def without_values(text: str) -> str:
    """The first line of `text` with every quoted part replaced by <value>."""
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return _QUOTED.sub("<value>", first)


def _log_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: object = None, line: str | None = None) -> None:
    _warnings_log.warning("event=warning category=%s source=%s:%d message=%r", category.__name__,
                          Path(filename).name, lineno, without_values(str(message)))


class _OneLineWithoutValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "values_removed", False) or not record.name.split(".")[0] == "pydicom":
            return True
        if record.levelno == logging.WARNING:
            return False
        record.msg, record.args, record.exc_info, record.exc_text = (
            f"event=pydicom_log message={without_values(record.getMessage())!r}", None, None, None)
        record.values_removed = True
        return True
