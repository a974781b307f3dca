"""The engine store: TensorRT engines on disk, each beside a JSON manifest that says what it is and where it runs.

An engine is tied to one GPU model and one TensorRT version, so its name and manifest carry both, and an
engine built anywhere else is refused rather than loaded (TensorRT would fail or, worse, misbehave).
The manifest copies the model contract, so an engine is as self-describing as its ONNX model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from lohires_edge.atomic_file import write_atomically
from lohires_edge.contract import ModelContract
from lohires_edge.errors import LohiresError

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
PRECISIONS = ("fp16", "int8")
DEFAULT_STORE = Path("engines")


class EngineStoreError(LohiresError):
    """A missing, malformed or foreign engine or manifest."""


@dataclass(frozen=True)
class Platform:
    """What an engine is tied to: the TensorRT version and the GPU (CUDA is recorded, not matched)."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.7" on Jetson Orin
    cuda_version: str = ""

    @property
    def slug(self) -> str:
        gpu = re.sub(r"[^a-z0-9]+", "-", self.gpu_name.lower()).strip("-") or "gpu"
        return f"{gpu}-sm{self.compute_capability.replace('.', '')}-trt{self.tensorrt_version}"


@dataclass(frozen=True)
class Manifest:
    model_sha256: str
    contract: ModelContract
    precision: str
    platform: Platform
    max_batch: int
    built_at: str  # ISO 8601, UTC
    build_seconds: float
    accuracy: dict[str, float] = field(default_factory=dict)  # engine vs ONNX Runtime on calibration slices
    source_model: str = ""  # file name only, for people reading the manifest
    checked_on: str = ""  # what the accuracy was measured on

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "manifest_version": MANIFEST_VERSION,
            "model_sha256": self.model_sha256,
            "source_model": self.source_model,
            "contract": self.contract.to_metadata(),
            "precision": self.precision,
            "tensorrt_version": self.platform.tensorrt_version,
            "cuda_version": self.platform.cuda_version,
            "gpu_name": self.platform.gpu_name,
            "compute_capability": self.platform.compute_capability,
            "max_batch": self.max_batch,
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
            "accuracy_vs_onnxruntime": self.accuracy,
            "checked_on": self.checked_on,
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "manifest") -> Manifest:
        """Parse and validate; anything missing or malformed is an EngineStoreError naming it."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EngineStoreError(f"{source} is not valid JSON ({exc}); rebuild the engine with "
                                   "`lohires-edge build-engine`") from None
        if not isinstance(data, dict):
            raise EngineStoreError(f"{source} is not a JSON object; rebuild the engine")
        if data.get("manifest_version") != MANIFEST_VERSION:
            raise EngineStoreError(f"{source} has manifest version {data.get('manifest_version')!r}, this "
                                   f"lohires-edge reads {MANIFEST_VERSION}; rebuild the engine")
        required = ("model_sha256", "contract", "precision", "tensorrt_version", "gpu_name", "compute_capability",
                    "max_batch", "built_at", "build_seconds")
        missing = [key for key in required if key not in data]
        if missing:
            raise EngineStoreError(f"{source} lacks {', '.join(missing)}; rebuild the engine")
        if data["precision"] not in PRECISIONS:
            raise EngineStoreError(f"{source} has unknown precision {data['precision']!r}; rebuild the engine")
        if not isinstance(data["max_batch"], int) or data["max_batch"] < 1:
            raise EngineStoreError(f"{source} has invalid max_batch {data['max_batch']!r}; rebuild the engine")
        if not re.fullmatch(r"[0-9a-f]{64}", str(data["model_sha256"])):
            raise EngineStoreError(f"{source} has a malformed model_sha256; rebuild the engine")
        if not isinstance(data["contract"], dict):
            raise EngineStoreError(f"{source} has a malformed contract; rebuild the engine")
        contract = ModelContract.from_metadata(data["contract"], source=source)
        platform = Platform(tensorrt_version=str(data["tensorrt_version"]), gpu_name=str(data["gpu_name"]),
                            compute_capability=str(data["compute_capability"]),
                            cuda_version=str(data.get("cuda_version", "")))
        try:
            return cls(model_sha256=data["model_sha256"], contract=contract, precision=data["precision"],
                       platform=platform, max_batch=data["max_batch"], built_at=str(data["built_at"]),
                       build_seconds=float(data["build_seconds"]),
                       accuracy={k: float(v) for k, v in data.get("accuracy_vs_onnxruntime", {}).items()},
                       source_model=str(data.get("source_model", "")), checked_on=str(data.get("checked_on", "")))
        except (TypeError, ValueError, AttributeError) as exc:
            raise EngineStoreError(f"{source} has a malformed value ({exc}); rebuild the engine") from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def engine_stem(model_sha256: str, precision: str, platform: Platform) -> str:
    """`<model sha256, 16 hex>-<precision>-<gpu>-sm<cc>-trt<version>`: one name per model, precision and platform."""
    return f"{model_sha256[:16]}-{precision}-{platform.slug}"


def manifest_path(plan: Path) -> Path:
    return Path(plan).with_suffix(".json")


def read_manifest(plan: Path) -> Manifest:
    """The manifest beside an engine file."""
    path = manifest_path(plan)
    if not path.is_file():
        raise EngineStoreError(f"engine {plan} has no manifest {path.name} beside it; engines must come from "
                               "`lohires-edge build-engine`")
    return Manifest.from_json(path.read_text(), source=str(path))


def check_platform(manifest: Manifest, here: Platform, plan: Path) -> None:
    """Refuse an engine built for another TensorRT version or GPU: engines are not portable."""
    built = manifest.platform
    if built.tensorrt_version != here.tensorrt_version:
        raise EngineStoreError(f"engine {plan.name} was built with TensorRT {built.tensorrt_version}, this box has "
                               f"TensorRT {here.tensorrt_version}; rebuild it here with `lohires-edge build-engine`")
    if (built.gpu_name, built.compute_capability) != (here.gpu_name, here.compute_capability):
        raise EngineStoreError(f"engine {plan.name} was built for {built.gpu_name} (sm {built.compute_capability}), "
                               f"this box has {here.gpu_name} (sm {here.compute_capability}); rebuild it here "
                               "with `lohires-edge build-engine`")


def write_engine(store: Path, plan: bytes, manifest: Manifest) -> Path:
    """Put an engine and its manifest into the store (each written whole, manifest last); return the plan path."""
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    path = store / f"{engine_stem(manifest.model_sha256, manifest.precision, manifest.platform)}.plan"
    write_atomically(path, plan)
    write_atomically(manifest_path(path), manifest.to_json().encode())
    return path


def find_engine(store: Path, model_sha256: str, here: Platform) -> Path | None:
    """The newest engine in `store` for this model on this platform, or None; unreadable manifests are skipped."""
    matches = []
    for plan, manifest in _entries(Path(store)):
        if manifest.model_sha256 == model_sha256 and _same_platform(manifest.platform, here):
            matches.append((manifest.built_at, plan.name, plan))
    return max(matches)[2] if matches else None


def _same_platform(built: Platform, here: Platform) -> bool:
    return (built.tensorrt_version, built.gpu_name, built.compute_capability) == (
        here.tensorrt_version, here.gpu_name, here.compute_capability)


def _entries(store: Path) -> Iterator[tuple[Path, Manifest]]:
    if not store.is_dir():
        return
    for path in sorted(store.glob("*.json")):
        plan = path.with_suffix(".plan")
        if not plan.is_file():
            continue
        try:
            yield plan, Manifest.from_json(path.read_text(), source=str(path))
        except LohiresError as exc:
            log.warning("skipping engine %s: %s", plan.name, exc)
