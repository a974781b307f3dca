"""The DICOM node: listener -> spool -> worker -> spool -> sender, each handoff on disk (see DESIGN.md)."""
