"""The model contract: what the edge must know to use a model, carried inside the ONNX file itself.

It lives in the model's `metadata_props` under `lohires.` keys, and an engine manifest copies it, so a
model is self-describing: no side files and no guessing which sequence, size, normalization or geometry
it expects.

Version 2 adds the geometry the model was trained in (`pixel_spacing_mm`, `plane`, `orientation_lps`) and
requires it; version 1 models, trained before, have none and are still read (the slice mapping then
stretches the field of view onto the grid, as they were trained). A contract is written as version 2 when
it has geometry and as version 1 otherwise, so a lohires-edge that predates the geometry refuses a
version 2 model instead of silently serving it without its geometry.

The normalization's method is "percentile" for a model whose window fills the model's range (headroom 1,
every model trained without `fit --headroom`) and "percentile_headroom", with its `headroom`, otherwise: a lohires-edge
that predates the headroom then refuses the model instead of clipping what it was trained to see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import onnx

from lohires_edge.errors import LohiresError
from lohires_edge.slice_geometry import SliceGeometry
from lohires_edge.slice_mapping import MappingParams

CONTRACT_VERSION = "2"
LEGACY_VERSION = "1"  # no geometry keys
PREFIX = "lohires."
SEQUENCES = ("T1", "T2", "FLAIR")
LAYOUTS = ("NHWC", "NCHW")
_REQUIRED = ("contract_version", "sequence", "input_size", "layout", "channels", "normalization",
             "model_name", "model_version")
_GEOMETRY = ("pixel_spacing_mm", "plane", "orientation_lps")
PERCENTILE_NORMALIZATION, HEADROOM_NORMALIZATION = "percentile", "percentile_headroom"
NORMALIZATIONS = (PERCENTILE_NORMALIZATION, HEADROOM_NORMALIZATION)


class ContractError(LohiresError):
    """A model whose contract is missing or malformed."""


@dataclass(frozen=True)
class ModelContract:
    sequence: str
    mapping: MappingParams
    model_name: str
    model_version: str
    layout: str = "NHWC"
    channels: int = 1
    training_data: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)  # other lohires.* keys, kept verbatim

    def __post_init__(self) -> None:
        if self.sequence not in SEQUENCES:
            raise ContractError(f"unknown sequence {self.sequence!r}; expected one of {', '.join(SEQUENCES)}")
        if self.layout not in LAYOUTS:
            raise ContractError(f"unknown layout {self.layout!r}; expected one of {', '.join(LAYOUTS)}")
        if self.channels != 1:
            raise ContractError(f"only single-channel models are supported, got {self.channels} channels")

    @property
    def input_size(self) -> int:
        return self.mapping.size

    @property
    def model_id(self) -> str:
        """Names the model in logs, derived DICOM and engine names: name, version and sequence."""
        return f"{self.model_name}-{self.model_version}-{self.sequence}"

    def to_metadata(self) -> dict[str, str]:
        """The contract as `lohires.`-prefixed string properties."""
        props = {f"{PREFIX}{key}": value for key, value in self.extra.items()}
        geometry = self.mapping.geometry
        if geometry is not None:
            props.update({
                f"{PREFIX}pixel_spacing_mm": json.dumps(list(geometry.pixel_spacing)),
                f"{PREFIX}plane": geometry.plane or "oblique",
                f"{PREFIX}orientation_lps": json.dumps(list(geometry.orientation)),
            })
        props.update({
            f"{PREFIX}contract_version": CONTRACT_VERSION if geometry is not None else LEGACY_VERSION,
            f"{PREFIX}sequence": self.sequence,
            f"{PREFIX}input_size": str(self.mapping.size),
            f"{PREFIX}layout": self.layout,
            f"{PREFIX}channels": str(self.channels),
            f"{PREFIX}normalization": json.dumps(_normalization(self.mapping), sort_keys=True),
            f"{PREFIX}model_name": self.model_name,
            f"{PREFIX}model_version": self.model_version,
            f"{PREFIX}training_data": self.training_data,
        })
        return props

    @classmethod
    def from_metadata(cls, props: Mapping[str, str], source: str = "model") -> ModelContract:
        """Parse `lohires.` properties; a missing or malformed key is a ContractError naming it."""
        ours = {key[len(PREFIX):]: value for key, value in props.items() if key.startswith(PREFIX)}
        missing = [key for key in _REQUIRED if key not in ours]
        if missing:
            names = ", ".join(PREFIX + key for key in missing)
            raise ContractError(f"{source} carries no complete lohires model contract (missing {names}); "
                                "export it with `lohires-train export`")
        version = ours["contract_version"]
        if version not in (LEGACY_VERSION, CONTRACT_VERSION):
            raise ContractError(f"{source} has contract version {version}, this lohires-edge reads versions "
                                f"{LEGACY_VERSION} and {CONTRACT_VERSION}; upgrade lohires-edge or re-export "
                                "the model")
        if version == CONTRACT_VERSION and any(key not in ours for key in _GEOMETRY):
            names = ", ".join(PREFIX + key for key in _GEOMETRY if key not in ours)
            raise ContractError(f"{source} has contract version {version} but no {names}; re-export the "
                                "model")
        try:
            norm = json.loads(ours["normalization"])
            if norm.get("method") not in NORMALIZATIONS:
                raise ValueError(f"normalization method {norm.get('method')!r} is not one of "
                                 f"{', '.join(map(repr, NORMALIZATIONS))}")
            if norm["method"] == PERCENTILE_NORMALIZATION and "headroom" in norm:
                raise ValueError(f"a headroom belongs to method {HEADROOM_NORMALIZATION!r}, not 'percentile'")
            headroom = float(norm["headroom"]) if norm["method"] == HEADROOM_NORMALIZATION else 1.0
            geometry = _geometry(ours) if version == CONTRACT_VERSION else None
            mapping = MappingParams(size=int(ours["input_size"]), low_percentile=float(norm["low_percentile"]),
                                    high_percentile=float(norm["high_percentile"]), geometry=geometry,
                                    headroom=headroom)
            channels = int(ours["channels"])
        except (ValueError, KeyError, TypeError, LohiresError) as exc:
            raise ContractError(f"{source} has a malformed lohires model contract: {exc}") from None
        known = set(_REQUIRED) | set(_GEOMETRY) | {"training_data"}
        return cls(sequence=ours["sequence"], mapping=mapping, model_name=ours["model_name"],
                   model_version=ours["model_version"], layout=ours["layout"], channels=channels,
                   training_data=ours.get("training_data", ""),
                   extra={k: v for k, v in ours.items() if k not in known})


def _normalization(mapping: MappingParams) -> dict:
    """The normalization key: the percentile window, and where its ends land in the model's range."""
    norm = {"method": PERCENTILE_NORMALIZATION, "low_percentile": mapping.low_percentile,
            "high_percentile": mapping.high_percentile, "range": [-1.0, -1.0 + 2.0 / mapping.headroom]}
    if mapping.headroom != 1.0:
        norm.update(method=HEADROOM_NORMALIZATION, headroom=mapping.headroom)
    return norm


def _geometry(ours: Mapping[str, str]) -> SliceGeometry:
    """The geometry keys as a SliceGeometry; the recorded plane must be the one the orientation gives."""
    geometry = SliceGeometry(tuple(json.loads(ours["pixel_spacing_mm"])),
                             tuple(json.loads(ours["orientation_lps"])))
    plane = geometry.plane or "oblique"
    if plane != ours["plane"]:
        raise ValueError(f"plane {ours['plane']!r} does not match orientation_lps (a {plane} plane)")
    return geometry


def write_contract(model: onnx.ModelProto, contract: ModelContract) -> None:
    """Replace the model's `lohires.` metadata with `contract`, keeping other metadata."""
    kept = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in kept + sorted(contract.to_metadata().items()):
        model.metadata_props.add(key=key, value=value)


def read_contract(model: onnx.ModelProto | str | Path) -> ModelContract:
    """The contract of an ONNX model or model file (weights are not loaded for a file)."""
    if isinstance(model, onnx.ModelProto):
        return ModelContract.from_metadata({p.key: p.value for p in model.metadata_props})
    proto = load_onnx(model)
    return ModelContract.from_metadata({p.key: p.value for p in proto.metadata_props}, source=str(model))


def load_onnx(path: str | Path) -> onnx.ModelProto:
    """An ONNX file's graph and metadata (not its external weights); a ContractError if it is not ONNX."""
    try:
        return onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise
    except Exception as exc:  # onnx raises DecodeError and others for a file that is not ONNX
        raise ContractError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc})") from None
