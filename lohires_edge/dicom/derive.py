"""The one derived (enhanced) instance: built from a source MR instance and enhanced pixels.

Both `enhance` and the DICOM node call `derive_instance`, so a series enhanced on the command line and
one enhanced by the node are the same DICOM, with the same UIDs.

Geometry: `pixels` must cover the source's field of view, in the source's row/column orientation, on
any matrix. The node and `enhance` both pass the slice mapping's model-grid output (`grid="model"`); its
matrix and pixel spacing come from `slice_mapping.model_grid`, the mapping's own rule, so PixelSpacing is
exactly the model's pixel size (rows and columns swapped if the model's axes are turned relative to the
source's). Any other matrix keeps the field of view: PixelSpacing scales by source/new matrix size per
axis. Either way the new grid is centred on the source's (so is the mapping's), ImagePositionPatient
moves to the centre of the new first pixel, and ImageOrientationPatient and FrameOfReferenceUID are kept:
the derived series overlays its source in a viewer. For the source matrix nothing changes. Overlay planes
are redrawn on the new matrix (`overlays.py`).

Encoding: the derived instance is always Explicit VR Little Endian. A big-endian source is converted
here (`_little_endian_values`), so a scanner that sends Explicit VR Big Endian gets its series back.

Dates: InstanceCreationDate/Time and ContentDate/Time are when the derived pixels were made (PS3.3
C.7.6.1: content date and time are those of the image data's creation, for a derived image its
derivation). A replay after a crash makes the same UIDs with new dates: the instance is the same, made
again later.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, PYDICOM_IMPLEMENTATION_UID
from pydicom.valuerep import DS, VR

from lohires_edge import __version__
from lohires_edge.contract import ModelContract
from lohires_edge.dicom.geometry import read_slice_geometry
from lohires_edge.dicom.overlays import regrid_overlays
from lohires_edge.dicom.uids import derived_uid, require_valid_uid
from lohires_edge.slice_mapping import MappingParams, intensity_window, model_grid

log = logging.getLogger(__name__)

SERIES_NUMBER_OFFSET = 1000  # derived series number = source + this, so consoles list them apart
DESCRIPTION_SUFFIX = " LoHiRes"
RESEARCH_CAUTION = ("RESEARCH USE ONLY. Synthesized by a machine-learning model (LoHiResGAN) from a low-field "
                    "acquisition; not for diagnosis. Compare with the source series.")
LOW_FIDELITY_MARK = "LOW FIDELITY"

# Elements of the source that describe its pixels or its private extensions, not the derived image.
_DROPPED = ("SmallestImagePixelValue", "LargestImagePixelValue", "WindowCenter", "WindowWidth",
            "WindowCenterWidthExplanation", "VOILUTFunction", "VOILUTSequence", "PixelPaddingValue",
            "PixelPaddingRangeLimit", "IconImageSequence", "NumberOfFrames", "PlanarConfiguration")
# Byte size of one value of the VRs whose bytes pydicom leaves in the order they were read (see dcmwrite).
_WORD_BYTES = {VR.OW: 2, VR.OF: 4, VR.OL: 4, VR.OD: 8, VR.OV: 8}


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item


def fidelity_comment(score: float | None, min_fidelity: float | None = None) -> str:
    """The sentence ImageComments carries after the research caution: the slice's fidelity score
    (lohires_edge.fidelity), marked LOW FIDELITY below `min_fidelity`."""
    if score is None:
        return "Fidelity to the source: not judged (no anatomy in the slice)."
    sentence = f"Fidelity to the source: {score:.3f} (1.000 = faithful)."
    if min_fidelity is not None and score < min_fidelity:
        sentence = (f"{LOW_FIDELITY_MARK}: {score:.3f}, below {min_fidelity:.3f}; this image may show "
                    "structure that is not in the source.")
    return sentence


def derive_instance(source: Dataset, pixels: np.ndarray, contract: ModelContract,
                    fidelity_note: str = "") -> Dataset:
    """A new MR Image Storage instance holding `pixels` (stored values, any 2D shape) made from `source`.

    Patient, study, frame-of-reference, equipment and MR acquisition modules are copied; UIDs are
    derived from the source UIDs and `contract.model_id`; private elements are dropped. ImageComments
    holds the research caution, then `fidelity_note` (see `fidelity_comment`).
    """
    series_uid = require_valid_uid(source.get("SeriesInstanceUID"), "SeriesInstanceUID")
    sop_uid = require_valid_uid(source.get("SOPInstanceUID"), "SOPInstanceUID")
    values = np.asarray(pixels)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"derived pixels must be a non-empty 2D array, got shape {values.shape}")
    now = datetime.now()

    ds = copy.deepcopy(source)
    ds.remove_private_tags()
    for keyword in _DROPPED:
        if keyword in ds:
            delattr(ds, keyword)
    if "PixelData" in ds:
        del ds.PixelData
    if source.original_encoding[1] is False:
        _little_endian_values(ds)

    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = derived_uid(sop_uid, contract.model_id, "instance")
    ds.SeriesInstanceUID = derived_uid(series_uid, contract.model_id, "series")
    ds.file_meta = file_meta_for(ds)
    ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.ContentDate, ds.ContentTime = ds.InstanceCreationDate, ds.InstanceCreationTime
    ds.ImageType = ["DERIVED", "SECONDARY", *_values(source.get("ImageType"))[2:]]
    ds.SeriesDescription = (str(source.get("SeriesDescription", "")) + DESCRIPTION_SUFFIX).strip()[:64]
    ds.SeriesNumber = int(source.get("SeriesNumber") or 0) + SERIES_NUMBER_OFFSET
    ds.DerivationDescription = (f"Enhanced by LoHiResGAN model {contract.model_name} {contract.model_version} "
                                f"({contract.sequence}, {contract.input_size}x{contract.input_size} grid) "
                                f"with lohires-edge {__version__}")
    ds.ImageComments = f"{RESEARCH_CAUTION} {fidelity_note}".strip()
    ds.BurnedInAnnotation = "NO"
    ds.SourceImageSequence = Sequence([_source_reference(source, sop_uid)])
    ds.ContributingEquipmentSequence = Sequence([
        *source.get("ContributingEquipmentSequence", []), _contribution(contract, now)])

    _regrid(source, values.shape, contract.mapping, ds)
    stored = _as_16_bit(values)
    ds.set_pixel_data(stored, str(source.get("PhotometricInterpretation", "MONOCHROME2")), 16,
                      generate_instance_uid=False)
    _set_window(ds, stored, contract)
    regrid_overlays(source, ds)
    return ds


def _little_endian_values(ds: Dataset) -> None:
    """Make a dataset read as big endian writable as little endian, in place, nested items included.

    pydicom re-encodes numbers and text when the transfer syntax changes, but keeps the bytes of OW, OF,
    OL, OD and OV values as read, so those are swapped here. A UN value's structure is unknown, so it
    cannot be swapped and is removed.
    """
    for element in list(ds):  # iterating parses each raw element with the encoding it was read in
        if element.VR == VR.SQ:
            for item in element.value:
                _little_endian_values(item)
        elif element.VR == VR.UN:
            del ds[element.tag]
            log.warning("event=element_dropped tag=%s reason='UN value in a big-endian source'", element.tag)
        elif element.VR in _WORD_BYTES and isinstance(element.value, bytes):
            size = _WORD_BYTES[element.VR]
            element.value = np.frombuffer(element.value, f">u{size}").byteswap().tobytes()
    ds.set_original_encoding(False, True, ds.original_character_set)


def _values(value: object) -> list[str]:
    """A multi-valued element's values; pydicom gives a single value as a plain string, not a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def file_meta_for(ds: Dataset) -> FileMetaDataset:
    """Part 10 file meta for an Explicit VR Little Endian file of `ds` (its SOP class and instance)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _source_reference(source: Dataset, sop_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = source.SOPClassUID
    item.ReferencedSOPInstanceUID = sop_uid
    item.PurposeOfReferenceCodeSequence = Sequence([_code("121322", "Source image for image processing operation")])
    return item


def _contribution(contract: ModelContract, now: datetime) -> Dataset:
    item = Dataset()
    item.Manufacturer = "lohires-edge"
    item.ManufacturerModelName = contract.model_name[:64]
    item.SoftwareVersions = [f"lohires-edge {__version__}"[:64], f"{contract.model_id}"[:64]]
    item.ContributionDateTime = now.strftime("%Y%m%d%H%M%S")
    item.ContributionDescription = f"LoHiResGAN enhancement with model {contract.model_id}"[:64]
    item.PurposeOfReferenceCodeSequence = Sequence([_code("109102", "Processing Equipment")])
    return item


def _regrid(source: Dataset, shape: tuple[int, int], mapping: MappingParams, ds: Dataset) -> None:
    """Put a `shape` matrix over the source's field of view (a no-op for the source's own matrix)."""
    src_shape = (int(source.Rows), int(source.Columns))
    if "PixelSpacing" not in source:
        return
    geometry = read_slice_geometry(source)
    grid_shape, spacing = model_grid(src_shape, geometry, mapping)
    if tuple(shape) != grid_shape:  # the model grid first: it may match the source matrix at another spacing
        if tuple(shape) == src_shape:
            return
        spacing = tuple(s * n / m for s, n, m in zip(geometry.pixel_spacing, src_shape, shape))
    ds.PixelSpacing = [DS(v, auto_format=True) for v in spacing]
    if "ImagePositionPatient" in source:
        # Both grids share their centre; step from the source's first pixel to it, then back on the new grid.
        first = np.asarray([float(v) for v in source.ImagePositionPatient])
        along_col, along_row = geometry.column_direction, geometry.row_direction
        old_row, old_col = geometry.pixel_spacing
        centre = (first + (src_shape[0] - 1) / 2 * old_row * along_row
                  + (src_shape[1] - 1) / 2 * old_col * along_col)
        new_first = (centre - (shape[0] - 1) / 2 * spacing[0] * along_row
                     - (shape[1] - 1) / 2 * spacing[1] * along_col)
        ds.ImagePositionPatient = [DS(float(v), auto_format=True) for v in new_first]


def _as_16_bit(values: np.ndarray) -> np.ndarray:
    """Stored values as int16/uint16 (signedness kept), clipped to the 16-bit range."""
    target = np.int16 if np.issubdtype(values.dtype, np.signedinteger) or np.issubdtype(values.dtype, np.floating) \
        else np.uint16
    info = np.iinfo(target)
    return np.clip(np.rint(values.astype(np.float64)), info.min, info.max).astype(target)


def _set_window(ds: Dataset, stored: np.ndarray, contract: ModelContract) -> None:
    """Window centre/width over the percentile window of the model's slice mapping (without its headroom:
    the display shows the tissue's range, not the model's)."""
    low, high = intensity_window(stored, contract.mapping)
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    ds.WindowCenter = DS((low + high) / 2 * slope + intercept, auto_format=True)
    ds.WindowWidth = DS(max(1.0, (high - low) * abs(slope)), auto_format=True)
