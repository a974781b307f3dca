"""The engine store: names, manifests, and refusal of engines built for another TensorRT or GPU (all on the CPU)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lohires_edge.engine_store import (EngineStoreError, Manifest, Platform, check_platform, engine_stem,
                                       file_sha256, find_engine, read_manifest, write_engine)
from lohires_edge.errors import LohiresError
from lohires_edge.slice_mapping import MappingParams
from tests.conftest import tiny_contract
from tests.edge.geometry_models import AXIAL_1MM

ORIN = Platform(tensorrt_version="10.3.0", gpu_name="Orin (nvgpu)", compute_capability="8.7", cuda_version="12.6")
SHA = "ab" * 32


def manifest(**changes) -> Manifest:
    base = Manifest(model_sha256=SHA, contract=tiny_contract(), precision="fp16", platform=ORIN, max_batch=8,
                    built_at="2026-01-01T00:00:00+00:00", build_seconds=12.5,
                    accuracy={"max_abs_diff": 0.004}, source_model="t1.onnx")
    return dataclasses.replace(base, **changes)


def test_manifest_round_trips_through_json():
    original = manifest(checked_on="16 phantom slices")
    assert Manifest.from_json(original.to_json()) == original
    data = json.loads(original.to_json())
    assert data["contract"] == tiny_contract().to_metadata()  # the model contract, copied whole
    assert (data["gpu_name"], data["tensorrt_version"], data["cuda_version"]) == ("Orin (nvgpu)", "10.3.0", "12.6")


def test_manifest_copies_the_training_geometry():
    contract = dataclasses.replace(tiny_contract(), mapping=MappingParams(size=224, geometry=AXIAL_1MM))
    original = manifest(contract=contract)
    assert json.loads(original.to_json())["contract"]["lohires.plane"] == "axial"
    assert Manifest.from_json(original.to_json()).contract.mapping.geometry == AXIAL_1MM


def test_engine_name_carries_model_hash_precision_gpu_and_tensorrt():
    stem = engine_stem(SHA, "int8", ORIN)
    assert stem == f"{SHA[:16]}-int8-orin-nvgpu-sm87-trt10.3.0"


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.pop("gpu_name"), "gpu_name"),
    (lambda d: d.update(precision="fp64"), "precision"),
    (lambda d: d.update(max_batch=0), "max_batch"),
    (lambda d: d.update(manifest_version=99), "manifest version"),
    (lambda d: d.update(model_sha256="xyz"), "model_sha256"),
    (lambda d: d["contract"].pop("lohires.sequence"), "lohires.sequence"),
    (lambda d: d.update(build_seconds="quick"), "malformed value"),
    (lambda d: d.update(accuracy_vs_onnxruntime=[1, 2]), "malformed value"),
])
def test_malformed_manifest_is_refused_naming_the_problem(mutate, needle):
    data = json.loads(manifest().to_json())
    mutate(data)
    with pytest.raises(LohiresError, match=needle):
        Manifest.from_json(json.dumps(data))


def test_manifest_that_is_not_json_is_refused():
    with pytest.raises(EngineStoreError, match="not valid JSON"):
        Manifest.from_json("{not json")


def test_write_engine_puts_plan_and_manifest_side_by_side(tmp_path):
    plan = write_engine(tmp_path / "store", b"serialized", manifest())
    assert plan == tmp_path / "store" / f"{engine_stem(SHA, 'fp16', ORIN)}.plan"
    assert plan.read_bytes() == b"serialized"
    assert read_manifest(plan) == manifest()
    assert sorted(p.name for p in plan.parent.iterdir()) == [f"{plan.stem}.json", plan.name]  # no temporaries


def test_a_rebuild_replaces_the_engine_under_the_same_name(tmp_path):
    first = write_engine(tmp_path, b"old", manifest(built_at="2026-01-01T00:00:00+00:00"))
    second = write_engine(tmp_path, b"new", manifest(built_at="2026-02-01T00:00:00+00:00"))
    assert first == second and second.read_bytes() == b"new"
    assert read_manifest(second).built_at == "2026-02-01T00:00:00+00:00"
    assert len(list(tmp_path.iterdir())) == 2


def test_engine_without_manifest_is_refused(tmp_path):
    plan = tmp_path / "stray.plan"
    plan.write_bytes(b"x")
    with pytest.raises(EngineStoreError, match="no manifest"):
        read_manifest(plan)


@pytest.mark.parametrize("here,needle", [
    (dataclasses.replace(ORIN, tensorrt_version="8.6.2"), "TensorRT 10.3.0, this box has TensorRT 8.6.2"),
    (dataclasses.replace(ORIN, gpu_name="NVIDIA A100", compute_capability="8.0"), "built for Orin"),
])
def test_engine_for_another_tensorrt_or_gpu_is_refused(tmp_path, here, needle):
    plan = write_engine(tmp_path, b"serialized", manifest())
    with pytest.raises(EngineStoreError, match=needle):
        check_platform(read_manifest(plan), here, plan)


def test_same_platform_with_another_cuda_version_is_accepted_and_found(tmp_path):
    """CUDA is recorded, not matched: JetPack updates it without breaking engines."""
    plan = write_engine(tmp_path, b"serialized", manifest())
    here = dataclasses.replace(ORIN, cuda_version="12.2")
    assert check_platform(read_manifest(plan), here, plan) is None  # no EngineStoreError
    assert find_engine(tmp_path, SHA, here) == plan
    assert read_manifest(plan).platform.cuda_version == "12.6"


def test_find_engine_picks_the_newest_match_for_model_and_platform(tmp_path):
    old = write_engine(tmp_path, b"a", manifest(precision="int8", built_at="2026-01-01T00:00:00+00:00"))
    new = write_engine(tmp_path, b"b", manifest(precision="fp16", built_at="2026-02-01T00:00:00+00:00"))
    write_engine(tmp_path, b"c", manifest(model_sha256="cd" * 32, built_at="2026-03-01T00:00:00+00:00"))
    write_engine(tmp_path, b"d", manifest(platform=dataclasses.replace(ORIN, tensorrt_version="8.6.2"),
                                          built_at="2026-04-01T00:00:00+00:00"))
    assert old != new and old.is_file()
    assert find_engine(tmp_path, SHA, ORIN) == new
    assert find_engine(tmp_path, SHA, dataclasses.replace(ORIN, gpu_name="other")) is None
    assert find_engine(tmp_path / "missing", SHA, ORIN) is None


def test_find_engine_skips_a_corrupt_manifest(tmp_path):
    good = write_engine(tmp_path, b"a", manifest())
    (tmp_path / "broken.plan").write_bytes(b"x")
    (tmp_path / "broken.json").write_text("{")
    assert find_engine(tmp_path, SHA, ORIN) == good


def test_file_sha256_is_the_content_hash(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"abc")
    assert file_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
