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


def test_files_get_the_umask_mode_unless_a_mode_is_asked_for(tmp_path):
    import os
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "model.onnx", b"x")
        write_atomically(tmp_path / "1.2.3.dcm", b"y", mode=0o600)
    finally:
        os.umask(old)
    assert (tmp_path / "model.onnx").stat().st_mode & 0o777 == 0o644  # mkstemp alone would give 0o600
    assert (tmp_path / "1.2.3.dcm").stat().st_mode & 0o777 == 0o600


def test_the_umask_is_never_touched_and_patient_data_is_private_from_the_start(tmp_path, monkeypatch):
    """The umask is process-wide: flipping it races with every other thread that creates a file."""
    import os

    def no_umask(mask):
        raise AssertionError("atomic_file changed the process umask")

    monkeypatch.setattr(os, "umask", no_umask)
    with atomic_path(tmp_path / "1.2.3.dcm", mode=0o600) as tmp:
        assert tmp.stat().st_mode & 0o777 == 0o600  # before a byte of patient data is written
        tmp.write_bytes(b"pixels")
    write_atomically(tmp_path / "model.onnx", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.2.3.dcm", "model.onnx"]
