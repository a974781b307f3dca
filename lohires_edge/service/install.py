"""Put the systemd unit, the sysusers/tmpfiles snippets and an example config in place.

The files themselves live in the checkout's `systemd/` folder, so what is reviewed there is what gets
installed; this module only points ExecStart at the Python environment holding lohires-edge, adds the
low-port drop-in when the configured port needs it, and never touches an existing config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lohires_edge.errors import LohiresError
from lohires_edge.toml_file import tomllib

UNIT_NAME = "lohires-edge.service"
# The ExecStart program in systemd/lohires-edge.service, replaced by the one in --prefix.
TEMPLATE_PROGRAM = "/opt/lohires-edge/venv/bin/lohires-edge"
# Where the installed files go on the target system (admin-installed: /etc, not /usr/lib).
UNIT_PATH = Path("etc/systemd/system") / UNIT_NAME
LOW_PORT_DROPIN = Path("etc/systemd/system") / f"{UNIT_NAME}.d" / "low-port.conf"
SYSUSERS_PATH = Path("etc/sysusers.d/lohires-edge.conf")
TMPFILES_PATH = Path("etc/tmpfiles.d/lohires-edge.conf")
CONFIG_PATH = Path("etc/lohires-edge/config.toml")
# Paths the unit hides from the service (ProtectHome=, PrivateTmp=): a venv there could not start.
HIDDEN_FROM_SERVICE = ("/home", "/root", "/run/user", "/tmp", "/var/tmp")
PRIVILEGED_PORTS = 1024

LOW_PORT_DROPIN_TEXT = """\
# Written by `lohires-edge install-service` because [node].port = {port} is below {limit}.
# Rerun install-service after changing the port: it removes this file for ports {limit} and above.
[Service]
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
# A capability held inside a private user namespace does not count in the host's network namespace.
PrivateUsers=no
"""


@dataclass(frozen=True)
class Placed:
    """One file install-service dealt with, and what it did: written, kept (existing config) or removed."""

    path: Path
    action: str


def source_dir() -> Path:
    """The checkout's systemd/ folder (lohires-edge is installed from a checkout on the edge box)."""
    return Path(__file__).resolve().parents[2] / "systemd"


def install_service(root: Path, prefix: Path, source: Path | None = None) -> list[Placed]:
    """Install under `root` (normally /) a unit whose ExecStart runs `prefix`/bin/lohires-edge."""
    source = source or source_dir()
    program = prefix / "bin" / "lohires-edge"
    _check_program(program, check_exists=root.resolve() == Path("/"))
    unit = _read(source / UNIT_NAME)
    if TEMPLATE_PROGRAM not in unit:
        raise LohiresError(f"{source / UNIT_NAME} has no ExecStart={TEMPLATE_PROGRAM}: use the unit of the "
                           "same lohires-edge checkout (--source)")
    placed = [
        _write(root / UNIT_PATH, unit.replace(TEMPLATE_PROGRAM, str(program))),
        _write(root / SYSUSERS_PATH, _read(source / "sysusers.d" / "lohires-edge.conf")),
        _write(root / TMPFILES_PATH, _read(source / "tmpfiles.d" / "lohires-edge.conf")),
    ]
    config = root / CONFIG_PATH
    if config.exists():
        placed.append(Placed(config, "kept"))
    else:
        placed.append(_write(config, _read(source / "config.example.toml")))
    placed.extend(_low_port_dropin(root, configured_port(config)))
    return placed


def configured_port(config: Path) -> int:
    """[node].port of a node config: it decides whether the service needs CAP_NET_BIND_SERVICE."""
    try:
        with config.open("rb") as stream:
            data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise LohiresError(f"{config} is not valid TOML ({exc}); fix it and run install-service again") from None
    port = data.get("node", {}).get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise LohiresError(f"{config} needs [node].port, a TCP port number (the DICOM default is 11112); "
                           "fix it and run install-service again")
    return port


def next_steps(root: Path, prefix: Path, port: int) -> str:
    """What the administrator does after install-service, as shell commands for the target system."""
    under = "" if root.resolve() == Path("/") else f"(files were placed under {root}; on the target system:)\n"
    return under + "\n".join([
        "next steps:",
        f"  systemd-sysusers /{SYSUSERS_PATH}           # creates the lohires-edge user (groups video, render)",
        f"  systemd-tmpfiles --create /{TMPFILES_PATH}  # creates /var/lib/lohires-edge/{{models,engines,spool}}",
        f"  edit /{CONFIG_PATH}: allowed_callers, destinations, models",
        f"  sudo -u lohires-edge {prefix / 'bin' / 'lohires-edge'} build-engine MODEL --precision fp16 "
        "--engines /var/lib/lohires-edge/engines",
        "  systemctl daemon-reload && systemctl enable --now lohires-edge",
        f"  echoscu -aet SCANNER -aec LOHIRES 127.0.0.1 {port}  # -aet: an allowed caller, -aec: [node].ae_title",
    ])


def _check_program(program: Path, check_exists: bool) -> None:
    hidden = [p for p in HIDDEN_FROM_SERVICE if program.is_relative_to(p)]
    if hidden:
        raise LohiresError(f"{program} is under {hidden[0]}, which the service cannot see (ProtectHome=, "
                           "PrivateTmp=); create the venv under /opt/lohires-edge (docs/jetson.md) and pass --prefix")
    if check_exists and not program.is_file():
        raise LohiresError(f"{program} does not exist; pass --prefix, the venv where lohires-edge is installed")


def _low_port_dropin(root: Path, port: int) -> list[Placed]:
    path = root / LOW_PORT_DROPIN
    if port < PRIVILEGED_PORTS:
        return [_write(path, LOW_PORT_DROPIN_TEXT.format(port=port, limit=PRIVILEGED_PORTS))]
    if path.exists():
        path.unlink()
        return [Placed(path, "removed")]
    return []


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise LohiresError(f"{path} is missing: run install-service from a lohires-edge checkout, "
                           "or pass --source, the checkout's systemd/ folder") from None


def _write(path: Path, text: str) -> Placed:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    except OSError as exc:
        raise LohiresError(f"cannot write {path} ({exc.strerror}): run install-service as root (sudo), "
                           "or pass --root DIR to install into a folder") from None
    return Placed(path, "written")
