"""The one derived (enhanced) instance: built from a source MR instance and enhanced pixels.

Both `enhance` and the DICOM node call `derive_instance`, so a series enhanced on the command line and
one enhanced by the node are the same DICOM, with the same UIDs.

Geometry: `pixels` must cover the source's field of view, on any matrix. The node and `enhance` both pass
the slice mapping's model-grid output (`grid="model"`: the source field of view at the model's pixel size);
the source matrix itself is accepted too. `_regrid` keeps the field of view: PixelSpacing scales by
source/new matrix size per axis, ImagePositionPatient moves to the centre of the new first pixel,
ImageOrientationPatient is kept. For the source matrix nothing changes. On the model grid the slice
mapping rounds the crop of the shorter axis to whole model pixels, so there the field of view is exact
to within half a model pixel.
"""

from __future__ import annotations

import copy
from datetime import datetime

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, PYDICOM_IMPLEMENTATION_UID
from pydicom.valuerep import DS

from lohires_edge import __version__
from lohires_edge.contract import ModelContract
from lohires_edge.dicom.uids import derived_uid, require_valid_uid
from lohires_edge.slice_mapping import intensity_window

SERIES_NUMBER_OFFSET = 1000  # derived series number = source + this, so consoles list them apart
DESCRIPTION_SUFFIX = " LoHiRes"
RESEARCH_CAUTION = ("RESEARCH USE ONLY. Synthesized by a machine-learning model (LoHiResGAN) from a low-field "
                    "acquisition; not for diagnosis. Compare with the source series.")
LOW_FIDELITY_MARK = "LOW FIDELITY"

# Elements of the source that describe its pixels or its private extensions, not the derived image.
_DROPPED = ("SmallestImagePixelValue", "LargestImagePixelValue", "WindowCenter", "WindowWidth",
            "WindowCenterWidthExplanation", "VOILUTFunction", "VOILUTSequence", "PixelPaddingValue",
            "PixelPaddingRangeLimit", "IconImageSequence", "NumberOfFrames", "PlanarConfiguration")


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

    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = derived_uid(sop_uid, contract.model_id, "instance")
    ds.SeriesInstanceUID = derived_uid(series_uid, contract.model_id, "series")
    ds.file_meta = file_meta_for(ds)
    ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
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

    _regrid(source, values.shape, ds)
    stored = _as_16_bit(values)
    ds.set_pixel_data(stored, str(source.get("PhotometricInterpretation", "MONOCHROME2")), 16,
                      generate_instance_uid=False)
    _set_window(ds, stored, contract)
    return ds


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


def _regrid(source: Dataset, shape: tuple[int, int], ds: Dataset) -> None:
    """Keep the source's field of view on a `shape` matrix (a no-op for the source's own matrix)."""
    rows, cols = shape
    src_rows, src_cols = int(source.Rows), int(source.Columns)
    if (rows, cols) == (src_rows, src_cols) or "PixelSpacing" not in source:
        return
    row_spacing, col_spacing = (float(v) for v in source.PixelSpacing)  # between rows, between columns
    new_row, new_col = row_spacing * src_rows / rows, col_spacing * src_cols / cols
    ds.PixelSpacing = [DS(new_row, auto_format=True), DS(new_col, auto_format=True)]
    if "ImagePositionPatient" in source and "ImageOrientationPatient" in source:
        orientation = np.asarray([float(v) for v in source.ImageOrientationPatient])
        along_row, along_col = orientation[:3], orientation[3:]  # direction of increasing column, row index
        first = np.asarray([float(v) for v in source.ImagePositionPatient])
        corner = first - 0.5 * col_spacing * along_row - 0.5 * row_spacing * along_col
        centre = corner + 0.5 * new_col * along_row + 0.5 * new_row * along_col
        ds.ImagePositionPatient = [DS(float(v), auto_format=True) for v in centre]


def _as_16_bit(values: np.ndarray) -> np.ndarray:
    """Stored values as int16/uint16 (signedness kept), clipped to the 16-bit range."""
    target = np.int16 if np.issubdtype(values.dtype, np.signedinteger) or np.issubdtype(values.dtype, np.floating) \
        else np.uint16
    info = np.iinfo(target)
    return np.clip(np.rint(values.astype(np.float64)), info.min, info.max).astype(target)


def _set_window(ds: Dataset, stored: np.ndarray, contract: ModelContract) -> None:
    """Window centre/width over the same percentile window the model's slice mapping uses."""
    low, high = intensity_window(stored, contract.mapping)
    slope, intercept = float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)
    ds.WindowCenter = DS((low + high) / 2 * slope + intercept, auto_format=True)
    ds.WindowWidth = DS(max(1.0, (high - low) * abs(slope)), auto_format=True)
