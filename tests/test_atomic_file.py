import pytest

from lohires_edge.atomic_file import atomic_path, write_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half a new fi")
            raise RuntimeError("disk full, say")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_completed_write_replaces_the_file_and_keeps_the_suffix_for_format_sniffers(tmp_path):
    target = tmp_path / "volume.nii.gz"
    with atomic_path(target, suffix=".nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.parent == tmp_path
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    write_atomically(target, b"newer", tmp_dir=tmp_path)
    assert target.read_bytes() == b"newer" and len(list(tmp_path.iterdir())) == 1
