"""DICOM for the edge: read an MR slice, build the derived (enhanced) instance, check UIDs."""
