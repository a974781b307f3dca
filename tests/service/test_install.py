"""install-service puts the reviewed files of systemd/ in place, under a temporary root."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lohires_edge.cli import main as edge_main
from lohires_edge.service.install import (CONFIG_PATH, LOW_PORT_DROPIN, SYSUSERS_PATH, TMPFILES_PATH, UNIT_PATH,
                                          source_dir)
from tests.conftest import require_programs

# The venv on the target system. Under --root nothing on this machine is checked, so the tests do not
# depend on where the checkout (and its .venv) lives: /tmp and /home are refused as service paths.
PREFIX = Path("/srv/lohires-edge/venv")  # not the template's own path, so the rewrite shows


def install(root: Path, *args: str) -> Result:
    return CliRunner().invoke(edge_main, ["install-service", "--root", str(root), "--prefix", str(PREFIX), *args])


def assert_one_line_failure(result: Result, complaint: str) -> None:
    """Exit 1 through click's error path (SystemExit: no traceback), one line on stderr naming the problem."""
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert len(result.stderr.strip().splitlines()) == 1 and complaint in result.stderr, result.stderr


def write_config(root: Path, port: int) -> Path:
    config = root / CONFIG_PATH
    config.parent.mkdir(parents=True, exist_ok=True)
    text = (source_dir() / "config.example.toml").read_text()
    config.write_text(text.replace("port = 11112", f"port = {port}", 1))
    return config


def test_installs_every_file_and_points_execstart_at_the_prefix(tmp_path):
    result = install(tmp_path)
    assert result.exit_code == 0, result.output
    unit = (tmp_path / UNIT_PATH).read_text()
    assert f"ExecStart={PREFIX}/bin/lohires-edge serve --config /etc/lohires-edge/config.toml\n" in unit
    assert "/opt/lohires-edge/venv" not in unit
    for installed, shipped in [(SYSUSERS_PATH, "sysusers.d/lohires-edge.conf"),
                               (TMPFILES_PATH, "tmpfiles.d/lohires-edge.conf"),
                               (CONFIG_PATH, "config.example.toml")]:
        assert (tmp_path / installed).read_text() == (source_dir() / shipped).read_text()
    assert not (tmp_path / LOW_PORT_DROPIN).exists()  # the example's port 11112 needs no capability
    assert "systemctl daemon-reload && systemctl enable --now lohires-edge" in result.stdout


def test_never_overwrites_an_existing_config(tmp_path):
    config = write_config(tmp_path, 11112)
    config.write_text(config.read_text() + "# the site's own edits\n")
    before = config.read_bytes()
    result = install(tmp_path)
    assert result.exit_code == 0, result.output
    assert config.read_bytes() == before
    assert f"kept     {config}" in result.stdout


def test_port_below_1024_gets_the_capability_drop_in_and_loses_it_again(tmp_path):
    config = write_config(tmp_path, 104)
    assert install(tmp_path).exit_code == 0
    dropin = (tmp_path / LOW_PORT_DROPIN).read_text()
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in dropin
    assert "CapabilityBoundingSet=CAP_NET_BIND_SERVICE" in dropin
    assert "PrivateUsers=no" in dropin
    config.write_text(config.read_text().replace("port = 104", "port = 11112", 1))
    result = install(tmp_path)
    assert result.exit_code == 0
    assert not (tmp_path / LOW_PORT_DROPIN).exists()
    assert f"removed  {tmp_path / LOW_PORT_DROPIN}" in result.stdout


@pytest.mark.parametrize("text,complaint", [
    ("[node\nport = 104\n", "is not valid TOML"),
    ("[node]\nport = \"104\"\n", "needs [node].port"),
    ("[node]\nport = 70000\n", "needs [node].port"),
])
def test_bad_config_is_one_line_and_exit_1(tmp_path, text, complaint):
    config = tmp_path / CONFIG_PATH
    config.parent.mkdir(parents=True)
    config.write_text(text)
    assert_one_line_failure(install(tmp_path), complaint)
    assert config.read_text() == text


def test_prefix_the_service_cannot_see_is_refused(tmp_path):
    result = CliRunner().invoke(edge_main, ["install-service", "--root", str(tmp_path),
                                            "--prefix", "/home/someone/venv"])
    assert_one_line_failure(result, "under /home")
    assert not (tmp_path / UNIT_PATH).exists()


def test_unwritable_root_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_failure(install(blocker / "root"), "cannot write")


def apply_sysusers(root: Path) -> list[str]:
    """The installed sysusers snippet, applied by systemd's own tool to the temporary root."""
    require_programs("systemd-sysusers")
    assert install(root).exit_code == 0
    subprocess.run(["systemd-sysusers", f"--root={root}"], check=True, capture_output=True)
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    return passwd["lohires-edge"]


def test_sysusers_creates_the_service_user_in_the_gpu_groups(tmp_path):
    user = apply_sysusers(tmp_path)
    assert user[5] == "/var/lib/lohires-edge" and user[6].endswith("nologin")
    groups = {line.split(":")[0]: line.split(":") for line in (tmp_path / "etc/group").read_text().splitlines()}
    for group in ("video", "render"):
        assert "lohires-edge" in groups[group][3].split(",")


def test_tmpfiles_creates_the_state_folders_for_the_service_user(tmp_path):
    require_programs("systemd-tmpfiles")
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles needs root to give the folders to the service user")
    user = apply_sysusers(tmp_path)
    subprocess.run(["systemd-tmpfiles", f"--root={tmp_path}", "--create"], check=True, capture_output=True)
    for folder in ("models", "engines", "spool"):
        stat = (tmp_path / "var/lib/lohires-edge" / folder).stat()
        assert stat.st_uid == int(user[2]) and stat.st_mode & 0o777 == 0o750


def test_missing_source_files_are_one_line(tmp_path):
    # A non-editable install has no systemd/ folder beside the package: --source must name the checkout's.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_failure(install(tmp_path / "root", "--source", str(empty)), "pass --source")
    assert not (tmp_path / "root" / UNIT_PATH).exists()
