import json

import onnx
import pytest

from lohires_edge.contract import PREFIX, ContractError, ModelContract, read_contract, write_contract
from lohires_edge.slice_geometry import SliceGeometry
from lohires_edge.slice_mapping import MappingParams
from tests.conftest import TINY_SIZE, tiny_contract


def test_metadata_round_trip_keeps_every_field():
    contract = ModelContract(sequence="FLAIR", mapping=MappingParams(size=128, low_percentile=1, high_percentile=99),
                             model_name="lohiresgan", model_version="1.2", layout="NCHW",
                             training_data="simulated, 10 subjects", extra={"gflops_per_slice": "3.1"})
    props = contract.to_metadata()
    assert all(key.startswith(PREFIX) for key in props)
    assert ModelContract.from_metadata(props) == contract


def test_headroom_is_recorded_under_a_method_older_readers_refuse():
    contract = ModelContract(sequence="FLAIR", mapping=MappingParams(size=64, headroom=2.0),
                             model_name="lohiresgan", model_version="1.2")
    props = contract.to_metadata()
    norm = json.loads(props["lohires.normalization"])
    assert norm["method"] == "percentile_headroom" and norm["headroom"] == 2.0 and norm["range"] == [-1.0, 0.0]
    assert ModelContract.from_metadata(props) == contract
    # Without headroom the key is what every model before it carries, so older readers still read them.
    assert json.loads(tiny_contract().to_metadata()["lohires.normalization"]) == {
        "method": "percentile", "low_percentile": 0.5, "high_percentile": 99.5, "range": [-1.0, 1.0]}


def test_missing_keys_are_named():
    props = tiny_contract().to_metadata()
    del props["lohires.sequence"], props["lohires.layout"]
    with pytest.raises(ContractError, match=r"lohires\.sequence, lohires\.layout"):
        ModelContract.from_metadata(props)


@pytest.mark.parametrize("key,value,message", [
    ("lohires.sequence", "PD", "unknown sequence"),
    ("lohires.layout", "HWC", "unknown layout"),
    ("lohires.input_size", "big", "malformed"),
    ("lohires.normalization", "{not json", "malformed"),
    ("lohires.normalization", json.dumps({"method": "zscore", "low_percentile": 1, "high_percentile": 99}),
     "'zscore' is not one of"),
    ("lohires.normalization", json.dumps({"method": "percentile_headroom", "low_percentile": 1,
                                          "high_percentile": 99}), "malformed.*headroom"),
    ("lohires.normalization", json.dumps({"method": "percentile", "low_percentile": 1, "high_percentile": 99,
                                          "headroom": 2}), "headroom belongs to method 'percentile_headroom'"),
    ("lohires.contract_version", "9", "contract version 9"),
    ("lohires.contract_version", "2", "no lohires.pixel_spacing_mm, lohires.plane, lohires.orientation_lps"),
])
def test_malformed_values_are_refused(key, value, message):
    props = tiny_contract().to_metadata()
    props[key] = value
    with pytest.raises(ContractError, match=message):
        ModelContract.from_metadata(props)


def test_write_contract_replaces_old_keys_and_keeps_foreign_metadata():
    model = onnx.ModelProto()
    model.metadata_props.add(key="producer.note", value="kept")
    model.metadata_props.add(key="lohires.sequence", value="T2")
    write_contract(model, tiny_contract("T1"))
    keys = [p.key for p in model.metadata_props]
    assert keys.count("lohires.sequence") == 1 and "producer.note" in keys
    assert read_contract(model).sequence == "T1"


def test_exported_model_carries_its_contract(tiny_model):
    contract = read_contract(tiny_model)
    assert contract.sequence == "T1" and contract.input_size == TINY_SIZE
    assert contract.layout == "NCHW"  # the export's choice, recorded so the edge need not guess
    assert contract.model_id == "tiny-0.0.1-T1"


def test_a_file_that_is_not_onnx_is_a_contract_error(tmp_path):
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"\x00not a protobuf at all\xff" * 10)
    with pytest.raises(ContractError, match="not a readable ONNX model"):
        read_contract(bogus)


AXIAL = SliceGeometry((1.0, 0.9), (1.0, 0.0, 0.0, 0.0, 1.0, 0.0))


def test_geometry_is_recorded_under_its_own_keys_and_makes_the_contract_version_2():
    contract = ModelContract(sequence="T1", mapping=MappingParams(size=224, geometry=AXIAL), model_name="m",
                             model_version="2")
    props = contract.to_metadata()
    assert props["lohires.contract_version"] == "2"
    assert json.loads(props["lohires.pixel_spacing_mm"]) == [1.0, 0.9]
    assert props["lohires.plane"] == "axial"
    assert json.loads(props["lohires.orientation_lps"]) == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert ModelContract.from_metadata(props) == contract


def test_a_contract_without_geometry_stays_version_1_and_is_still_read():
    props = tiny_contract().to_metadata()
    assert props["lohires.contract_version"] == "1" and "lohires.plane" not in props
    assert ModelContract.from_metadata(props).mapping.geometry is None


@pytest.mark.parametrize("change,message", [
    ({"lohires.plane": None}, "no lohires.plane"),
    ({"lohires.plane": "coronal"}, "plane 'coronal' does not match"),
    ({"lohires.pixel_spacing_mm": "[1.0, -1.0]"}, "positive"),
    ({"lohires.orientation_lps": "[1, 0, 0, 1, 0, 0]"}, "orthogonal"),
])
def test_malformed_geometry_is_refused(change, message):
    props = ModelContract(sequence="T1", mapping=MappingParams(size=224, geometry=AXIAL), model_name="m",
                          model_version="2").to_metadata()
    for key, value in change.items():
        if value is None:
            del props[key]
        else:
            props[key] = value
    with pytest.raises(ContractError, match=message):
        ModelContract.from_metadata(props)
