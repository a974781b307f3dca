"""`lohires-edge spool status|retry` look at the spool without changing its folders (they often run as root)."""

from __future__ import annotations

from click.testing import CliRunner

from benchmarks.loopback.peers import free_port, node_config
from lohires_edge.cli import main as edge_main


def _folders(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())


def test_status_of_a_spool_not_created_yet_is_one_line_and_creates_nothing(tiny_model, tmp_path):
    config, _ = node_config(tmp_path, tiny_model, free_port())
    for verb in ("status", "retry"):
        result = CliRunner().invoke(edge_main, ["spool", verb, "--config", str(config)])
        assert result.exit_code == 1 and "does not exist yet" in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "spool").exists()


def test_status_and_retry_create_no_folders(tiny_model, tmp_path):
    config, _ = node_config(tmp_path, tiny_model, free_port())
    (tmp_path / "spool" / "incoming").mkdir(parents=True)
    (tmp_path / "spool" / "incoming" / "1.2.3.dcm").write_bytes(b"x" * 10)
    before = _folders(tmp_path / "spool")
    status = CliRunner().invoke(edge_main, ["spool", "status", "--config", str(config)])
    assert status.exit_code == 0 and "incoming (waiting for the model): 1" in status.output
    retry = CliRunner().invoke(edge_main, ["spool", "retry", "--config", str(config)])
    assert retry.exit_code == 0 and "re-queued 0" in retry.output
    assert _folders(tmp_path / "spool") == before == ["incoming"]
