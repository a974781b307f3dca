"""The DICOM node: listener -> spool -> worker -> spool -> sender, each handoff on disk.

How the parts fit, the configuration and the metrics: docs/dicom-node.md.
"""
