"""The unit as systemd reads it: `systemd-analyze verify` and the offline security exposure (<= 2.0)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lohires_edge.service.install import LOW_PORT_DROPIN, UNIT_NAME, UNIT_PATH, install_service, source_dir
from tests.conftest import require_programs

MAX_EXPOSURE = 2.0
TEMPLATE = source_dir() / UNIT_NAME


def exposure(unit: Path) -> float:
    require_programs("systemd-analyze")
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out).group(1))


def directives(unit: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("=", 1)) for line in unit.read_text().splitlines()
            if "=" in line and not line.startswith("#")]


@pytest.fixture
def visible_prefix():
    """This venv, reached through a path the sandboxed service could see.

    `systemd-analyze verify` wants ExecStart to exist, and install-service refuses /tmp and /home (hidden
    from the service), where a checkout and its .venv may well live; /dev/shm is neither.
    """
    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm to hold a service-visible link to the test venv")
    folder = Path(tempfile.mkdtemp(prefix="lohires-prefix-", dir="/dev/shm"))
    link = folder / "venv"
    link.symlink_to(sys.prefix)
    yield link
    shutil.rmtree(folder)


@pytest.fixture
def installed(tmp_path, visible_prefix) -> Path:
    """The unit as install-service writes it, ExecStart pointing at this venv's real lohires-edge."""
    install_service(tmp_path, visible_prefix)
    return tmp_path / UNIT_PATH


def test_installed_unit_verifies_clean(installed):
    # The shipped template names /opt/lohires-edge/venv, absent here, and verify checks that ExecStart
    # exists; so the unit verified is the installed one, which differs only in that path.
    require_programs("systemd-analyze")
    result = subprocess.run(["systemd-analyze", "verify", str(installed)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_template_exposure_is_at_most_2(installed):
    assert exposure(TEMPLATE) <= MAX_EXPOSURE
    assert exposure(installed) == exposure(TEMPLATE)


def test_low_port_drop_in_verifies_and_stays_at_most_2(tmp_path, visible_prefix):
    config = tmp_path / "etc/lohires-edge/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text((source_dir() / "config.example.toml").read_text().replace("port = 11112", "port = 104", 1))
    install_service(tmp_path, visible_prefix)
    assert (tmp_path / LOW_PORT_DROPIN).exists()
    unit = tmp_path / UNIT_PATH
    base = exposure(TEMPLATE)
    with_capability = exposure(unit)  # systemd-analyze reads the drop-in folder beside the unit
    assert base < with_capability <= MAX_EXPOSURE
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_unit_has_the_service_contract():
    settings = directives(TEMPLATE)
    names = [name for name, _ in settings]
    for expected in [("Type", "notify"), ("Restart", "on-failure"), ("DevicePolicy", "closed"),
                     ("StateDirectory", "lohires-edge"), ("ConfigurationDirectory", "lohires-edge"),
                     ("User", "lohires-edge"), ("ProtectSystem", "strict"), ("CapabilityBoundingSet", ""),
                     ("AmbientCapabilities", ""), ("NoNewPrivileges", "yes")]:
        assert expected in settings
    assert "WatchdogSec" in names
    assert "PrivateDevices" not in names  # it would hide the GPU nodes


def test_device_allow_uses_no_globs():
    # systemd.resource-control(5): wildcards work in char-<group> names only, never in /dev paths,
    # where a '*' would silently allow-list nothing.
    allowed = [value.split()[0] for name, value in directives(TEMPLATE) if name == "DeviceAllow"]
    assert "/dev/nvmap" in allowed
    assert any(p.startswith("/dev/nvhost-") for p in allowed)
    assert any(p.startswith("/dev/dri/renderD") for p in allowed)
    assert [p for p in allowed if p.startswith("/dev/") and set(p) & set("*?[")] == []
