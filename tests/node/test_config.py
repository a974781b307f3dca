"""Config validation: a good file loads with its defaults; each mistake is one line naming its key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.loopback.peers import program
from lohires_edge.fidelity import DEFAULT_MIN_FIDELITY
from lohires_edge.node.config import ConfigError, QaConfig, load_config

GOOD = """
[node]
ae_title = "LOHIRES"
port = 11112
spool_dir = "spool"

[[node.allowed_callers]]
ae_title = "SCANNER"

[[models]]
sequence = "T1"

[[destinations]]
ae_title = "PACS"
host = "192.0.2.20"
port = 104
"""


def _write(tmp_path, text):
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_good_config_loads_with_defaults(tmp_path):
    config = load_config(_write(tmp_path, GOOD))
    assert config.spool_dir == tmp_path / "spool"  # relative paths are relative to the config file
    assert config.host == "0.0.0.0" and config.telemetry_host == "127.0.0.1"
    assert [c.ae_title for c in config.allowed_callers] == ["SCANNER"] and config.allowed_callers[0].host is None
    assert config.models[0].path is None  # the shipped default model for T1
    assert config.destinations[0].name == "PACS"
    assert config.spool_quota_bytes == 2048 * 1024 ** 2 and config.tls is None
    assert (config.max_associations, config.acse_timeout, config.dimse_timeout, config.network_timeout) == (4, 30, 60, 60)
    assert (config.backend, config.engines_dir, config.telemetry_port) == ("auto", None, 9464)
    assert (config.retries, config.backoff_initial, config.backoff_max) == (8, 2.0, 300.0)
    assert config.qa == QaConfig(max_field_strength=0.1, min_fidelity=DEFAULT_MIN_FIDELITY, on_low_fidelity="flag")


def test_qa_table_sets_the_field_strength_limit(tmp_path):
    config = load_config(_write(tmp_path, GOOD + "\n[qa]\nmax_field_strength = 0.5\n"))
    assert config.qa.max_field_strength == 0.5


def test_importing_the_config_does_not_load_onnx_runtime():
    code = "import sys, lohires_edge.node.config; print('onnxruntime' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            check=True)
    assert result.stdout.strip() == "False"


def test_qa_table_sets_the_fidelity_guard(tmp_path):
    config = load_config(_write(tmp_path, GOOD + '\n[qa]\nmin_fidelity = 1\non_low_fidelity = "withhold"\n'))
    assert config.qa == QaConfig(min_fidelity=1.0, on_low_fidelity="withhold")


@pytest.mark.parametrize("edit, key, problem", [
    (lambda t: t.replace('port = 11112', 'port = 70000'), "node.port", "TCP port"),
    (lambda t: t.replace('port = 11112', 'port = "11112"'), "node.port", "must be an integer"),
    (lambda t: t.replace('ae_title = "LOHIRES"', 'ae_title = "A\\\\B"'), "node.ae_title", "no backslash"),
    (lambda t: t.replace('spool_dir = "spool"', ''), "node.spool_dir", "missing"),
    (lambda t: t.replace('[node]', '[node]\nspool_quota = 5'), "node.spool_quota", "unknown key"),
    (lambda t: t.replace('sequence = "T1"', 'sequence = "PD"'), "models[0].sequence", "T1, T2, FLAIR"),
    (lambda t: t.replace('sequence = "T1"', 'sequence = "T1"\npath = "missing.onnx"'), "models[0].path",
     "no such file"),
    (lambda t: t.replace('port = 104', 'port = 104\nname = "../up"'), "destinations[0].name", "spool folder"),
    (lambda t: t.replace('[[destinations]]', '[[destination]]'), "destination", "unknown table"),
    (lambda t: t + '\n[sending]\nretries = -1\n', "sending.retries", ">= 0"),
    (lambda t: t + '\n[node.tls]\ncert = "c.pem"\n', "node.tls.cert", "no such file"),
    (lambda t: t + '[[models]]\nsequence = "T1"\n', "models[1].sequence", "already has a model"),
    (lambda t: t.replace('host = "192.0.2.20"', 'host = "not a host"'), "destinations[0].host", "host name"),
    (lambda t: t + '\n[qa]\nmax_field_strength = 0\n', "qa.max_field_strength", "must be positive"),
    (lambda t: t + '\n[qa]\nmax_field = 1\n', "qa.max_field", "unknown key"),
    (lambda t: t + '\n[qa]\nmin_fidelity = 1.2\n', "qa.min_fidelity", "between 0 and 1"),
    (lambda t: t + '\n[qa]\nmin_fidelity = "high"\n', "qa.min_fidelity", "must be a number"),
    (lambda t: t + '\n[qa]\non_low_fidelity = "drop"\n', "qa.on_low_fidelity", "flag, withhold"),
    (lambda t: t + '\n[qa]\nmin_fidelty = 0.9\n', "qa.min_fidelty", "unknown key"),
])
def test_each_mistake_is_one_line_naming_the_key(tmp_path, edit, key, problem):
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, edit(GOOD)))
    message = str(info.value)
    assert f": {key}: " in message and problem in message and "\n" not in message


def test_not_toml_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[node\n"))


@pytest.mark.parametrize("verb", [["serve"], ["spool", "status"], ["spool", "retry"]])
def test_cli_reports_a_bad_config_in_one_line_exit_1(tmp_path, verb):
    path = _write(tmp_path, GOOD.replace("port = 11112", "port = 0"))
    result = subprocess.run([program("lohires-edge"), *verb, "--config", str(path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: {path}: node.port: must be a TCP port (1-65535)"]
