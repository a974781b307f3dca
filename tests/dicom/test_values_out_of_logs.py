"""keep_values_out_of_logs: pydicom's warnings and log records become one-line events with no values.

It changes process-wide settings, so it runs in a subprocess of its own.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, warnings
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from lohires_edge.dicom import keep_values_out_of_logs
keep_values_out_of_logs()
from pydicom.misc import warn_and_log
warn_and_log("Invalid value for VR PN: 'Sentinel^Patientname'.")
logging.getLogger("pydicom.pixels.utils").error("cannot decode %r", "PID-SENTINEL-4711\\nmore")
warnings.warn("first line\\nsecond line")
"""


def test_warnings_and_pydicom_records_are_one_line_events_without_values():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                            check=True)
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "WARNING lohires_edge.warnings: event=warning category=UserWarning source=<string>:7 "
        "message='Invalid value for VR PN: <value>.'",
        "ERROR pydicom.pixels.utils: event=pydicom_log message='cannot decode <value>'",
        "WARNING lohires_edge.warnings: event=warning category=UserWarning source=<string>:9 "
        "message='first line'",
    ]
