"""The node's TOML configuration, validated at start: every problem is one line naming its key.

Keys (defaults in brackets) are documented in docs/dicom-node.md; unknown keys are errors, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from lohires_edge.backends.names import BACKENDS
from lohires_edge.contract import SEQUENCES
from lohires_edge.errors import LohiresError
from lohires_edge.fidelity import DEFAULT_MIN_FIDELITY
from lohires_edge.toml_file import tomllib

T = TypeVar("T")
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # DICOM AE: 16 chars, no backslash or control chars
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # a destination's spool folder name
MIB = 1024 ** 2  # [node].spool_quota_mb is in MiB
_KINDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
LOW_FIDELITY_ACTIONS = ("flag", "withhold")
LISTEN_ON_EVERY_ADDRESS = "0.0.0.0"  # [node].host by default


class ConfigError(LohiresError):
    """The node configuration is invalid."""


@dataclass(frozen=True)
class Caller:
    ae_title: str
    host: str | None = None


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    ca: Path | None = None
    verify_client: bool = False


@dataclass(frozen=True)
class ModelEntry:
    sequence: str
    path: Path | None = None
    engine: Path | None = None


@dataclass(frozen=True)
class Destination:
    name: str  # names the destination's spool folders and metrics label
    ae_title: str
    host: str
    port: int
    tls_ca: Path | None = None  # set: connect with TLS and verify the destination against this CA


@dataclass(frozen=True)
class QaConfig:
    """The `[qa]` table: which series the node may enhance, and how it guards the result."""

    # Tesla. The models are trained on 64 mT input; a series acquired above this is passed over, not
    # enhanced. A series without MagneticFieldStrength is enhanced: portable scanners do not always write it.
    max_field_strength: float = 0.1
    # The fidelity guard: below `min_fidelity` a derived slice is sent marked ("flag") or kept in failed/
    # with the reason ("withhold").
    min_fidelity: float = DEFAULT_MIN_FIDELITY
    on_low_fidelity: str = "flag"


@dataclass(frozen=True)
class NodeConfig:
    source: Path
    ae_title: str
    host: str
    port: int
    spool_dir: Path
    allowed_callers: tuple[Caller, ...]
    models: tuple[ModelEntry, ...]
    destinations: tuple[Destination, ...]
    spool_quota_bytes: int = 2048 * MIB
    max_associations: int = 4
    acse_timeout: float = 30.0
    dimse_timeout: float = 60.0
    network_timeout: float = 60.0
    tls: Tls | None = None
    backend: str = "auto"
    engines_dir: Path | None = None
    retries: int = 8
    backoff_initial: float = 2.0
    backoff_max: float = 300.0
    telemetry_host: str = "127.0.0.1"
    telemetry_port: int = 9464  # 0: no metrics/health endpoint
    qa: QaConfig = QaConfig()


def load_config(path: Path) -> NodeConfig:
    """Read and validate the node configuration; ConfigError (one line, naming the key) if it is wrong."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc}") from None
    return _Reader(Path(path)).node_config(raw)


class _Reader:
    def __init__(self, source: Path) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {problem}")

    def table(self, raw: dict, key: str, allowed: set[str], required: bool = False) -> dict:
        """The sub-table `key` (dotted path; its last part is looked up in `raw`), unknown keys refused."""
        return self.checked(raw.get(key.rpartition(".")[2], None if required else {}), key, allowed)

    def checked(self, value: Any, key: str, allowed: set[str]) -> dict:
        if value is None:
            raise self.fail(key, "missing (required table)")
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(allowed))})")
        return value

    def tables(self, raw: dict, key: str, allowed: set[str]) -> list[dict]:
        value = raw.get(key.rpartition(".")[2], [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{key}]])")
        return [self.checked(item, f"{key}[{i}]", allowed) for i, item in enumerate(value)]

    def get(self, table: dict, where: str, key: str, kind: type[T], default: Any = ...,
            check: Callable[[T], str | None] | None = None) -> T:
        name = f"{where}.{key}"
        if key not in table:
            if default is ...:
                raise self.fail(name, "missing (required)")
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(name, f"must be {_KINDS[kind]}, got {value!r}")
        problem = check(value) if check else None
        if problem:
            raise self.fail(name, problem)
        return value

    def path(self, table: dict, where: str, key: str, must_exist: bool = False, required: bool = False
             ) -> Path | None:
        value = self.get(table, where, key, str, ... if required else None,
                         lambda v: None if v.strip() else "must not be empty")
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = self.source.parent / path
        if must_exist and not path.is_file():
            raise self.fail(f"{where}.{key}", f"no such file: {path}")
        return path

    def node_config(self, raw: dict) -> NodeConfig:
        known = {"node", "models", "destinations", "sending", "telemetry", "qa"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.fail(unknown[0], f"unknown table (known: {', '.join(sorted(known))})")
        node = self.table(raw, "node", {"ae_title", "host", "port", "spool_dir", "spool_quota_mb",
                                        "max_associations", "acse_timeout", "dimse_timeout", "network_timeout",
                                        "backend", "engines_dir", "tls", "allowed_callers"}, required=True)
        sending = self.table(raw, "sending", {"retries", "backoff_initial", "backoff_max"})
        telemetry = self.table(raw, "telemetry", {"host", "port"})
        tls = self.tls(node)
        return NodeConfig(
            source=self.source,
            ae_title=self.get(node, "node", "ae_title", str, check=_ae_problem),
            host=self.get(node, "node", "host", str, LISTEN_ON_EVERY_ADDRESS, _host_problem),
            port=self.get(node, "node", "port", int, check=_port_problem),
            spool_dir=self.path(node, "node", "spool_dir", required=True),
            spool_quota_bytes=int(self.get(node, "node", "spool_quota_mb", float, NodeConfig.spool_quota_bytes / MIB,
                                           _positive) * MIB),
            max_associations=self.get(node, "node", "max_associations", int, NodeConfig.max_associations, _positive),
            acse_timeout=self.get(node, "node", "acse_timeout", float, NodeConfig.acse_timeout, _positive),
            dimse_timeout=self.get(node, "node", "dimse_timeout", float, NodeConfig.dimse_timeout, _positive),
            network_timeout=self.get(node, "node", "network_timeout", float, NodeConfig.network_timeout, _positive),
            backend=self.get(node, "node", "backend", str, NodeConfig.backend,
                             lambda v: None if v in BACKENDS else f"must be one of {', '.join(BACKENDS)}"),
            engines_dir=self.path(node, "node", "engines_dir"),
            tls=tls,
            allowed_callers=tuple(self.caller(c, f"node.allowed_callers[{i}]")
                                  for i, c in enumerate(self.tables(node, "node.allowed_callers",
                                                                    {"ae_title", "host"}))),
            models=self.models(raw),
            destinations=self.destinations(raw),
            retries=self.get(sending, "sending", "retries", int, NodeConfig.retries,
                             lambda v: None if v >= 0 else "must be >= 0"),
            backoff_initial=self.get(sending, "sending", "backoff_initial", float, NodeConfig.backoff_initial,
                                     _positive),
            backoff_max=self.get(sending, "sending", "backoff_max", float, NodeConfig.backoff_max, _positive),
            telemetry_host=self.get(telemetry, "telemetry", "host", str, NodeConfig.telemetry_host, _host_problem),
            telemetry_port=self.get(telemetry, "telemetry", "port", int, NodeConfig.telemetry_port,
                                    lambda v: None if v == 0 else _port_problem(v)),
            qa=self.qa(raw),
        )

    def qa(self, raw: dict) -> QaConfig:
        table = self.table(raw, "qa", {"max_field_strength", "min_fidelity", "on_low_fidelity"})
        return QaConfig(
            max_field_strength=self.get(table, "qa", "max_field_strength", float, QaConfig.max_field_strength,
                                        _positive),
            min_fidelity=self.get(table, "qa", "min_fidelity", float, QaConfig.min_fidelity,
                                  lambda v: None if 0.0 <= v <= 1.0 else "must be between 0 and 1"),
            on_low_fidelity=self.get(table, "qa", "on_low_fidelity", str, QaConfig.on_low_fidelity,
                                     lambda v: None if v in LOW_FIDELITY_ACTIONS
                                     else f"must be one of {', '.join(LOW_FIDELITY_ACTIONS)}"))

    def tls(self, node: dict) -> Tls | None:
        if "tls" not in node:
            return None
        table = self.table(node, "node.tls", {"cert", "key", "ca", "verify_client"})
        verify = self.get(table, "node.tls", "verify_client", bool, False)
        ca = self.path(table, "node.tls", "ca", must_exist=True)
        if verify and ca is None:
            raise self.fail("node.tls.ca", "required when verify_client = true (the CA that signs client certificates)")
        return Tls(cert=self.path(table, "node.tls", "cert", must_exist=True, required=True),
                   key=self.path(table, "node.tls", "key", must_exist=True, required=True), ca=ca, verify_client=verify)

    def caller(self, table: dict, where: str) -> Caller:
        return Caller(ae_title=self.get(table, where, "ae_title", str, check=_ae_problem),
                      host=self.get(table, where, "host", str, None, _host_problem))

    def models(self, raw: dict) -> tuple[ModelEntry, ...]:
        entries = []
        for i, table in enumerate(self.tables(raw, "models", {"sequence", "path", "engine"})):
            where = f"models[{i}]"
            sequence = self.get(table, where, "sequence", str, check=lambda v: None if v in SEQUENCES
                                else f"must be one of {', '.join(SEQUENCES)}")
            if any(e.sequence == sequence for e in entries):
                raise self.fail(f"{where}.sequence", f"{sequence} already has a model; one model per sequence")
            entries.append(ModelEntry(sequence=sequence, path=self.path(table, where, "path", must_exist=True),
                                      engine=self.path(table, where, "engine", must_exist=True)))
        if not entries:
            raise self.fail("models", "no [[models]] entry: the node would enhance nothing")
        return tuple(entries)

    def destinations(self, raw: dict) -> tuple[Destination, ...]:
        found: list[Destination] = []
        for i, table in enumerate(self.tables(raw, "destinations", {"name", "ae_title", "host", "port", "tls_ca"})):
            where = f"destinations[{i}]"
            ae_title = self.get(table, where, "ae_title", str, check=_ae_problem)
            name = self.get(table, where, "name", str, ae_title.strip(), lambda v: None if _NAME.match(v) else
                            "must be 1-64 letters, digits, '_', '.' or '-' (it names a spool folder)")
            if not _NAME.match(name):
                raise self.fail(f"{where}.name", f"AE title {ae_title!r} cannot name a spool folder; set a name")
            if any(d.name == name for d in found):
                raise self.fail(f"{where}.name", f"destination name {name!r} is used twice")
            found.append(Destination(name=name, ae_title=ae_title,
                                     host=self.get(table, where, "host", str, check=_host_problem),
                                     port=self.get(table, where, "port", int, check=_port_problem),
                                     tls_ca=self.path(table, where, "tls_ca", must_exist=True)))
        if not found:
            raise self.fail("destinations", "no [[destinations]] entry: enhanced series would go nowhere")
        return tuple(found)


def _ae_problem(value: str) -> str | None:
    return None if _AE_TITLE.match(value) and value.strip() else "must be 1-16 printable characters, no backslash"


def _host_problem(value: str) -> str | None:
    if not value or any(c.isspace() for c in value):
        return "must be a host name or IP address"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not re.match(r"^[A-Za-z0-9.-]{1,253}$", value):
            return "must be a host name or IP address"
    return None


def _port_problem(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a TCP port (1-65535)"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be positive"
