"""Security gaps not covered in tests/node: callers off the list cannot store either, an empty list admits
nobody, and a TLS listener that verifies clients refuses a certificate from a CA it does not trust.

Already covered elsewhere: an unknown AE cannot echo, an allowed AE from the wrong host cannot store
(tests/node/test_access.py); plain TCP and a TLS client without a certificate are refused
(tests/node/test_tls.py); no patient name or ID in the log (tests/node/test_serve.py, and here in
test_load.py and test_hostile.py).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from benchmarks.loopback.peers import echoscu, free_port, node_config, running_node, storescu, wait_for
from benchmarks.loopback.synthetic_series import mr_series, write_series
from tests.conftest import require_dcmtk
from tests.node.test_tls import _echo, _openssl, pki  # noqa: F401  (pki is a fixture used below)

pytestmark = [pytest.mark.dcmtk, pytest.mark.slow]


def test_a_caller_off_the_list_can_neither_store_nor_echo(tiny_model, tmp_path):
    require_dcmtk("storescu", "echoscu")
    config, ports = node_config(tmp_path, tiny_model, free_port())
    files = write_series(mr_series(2, rows=8, cols=8), tmp_path / "scanner")
    with running_node(config, ports, tmp_path / "node.log"):
        stored = storescu(ports["dicom"], files, calling="INTRUDER")
        assert stored.returncode != 0 and "Calling AE Title Not Recognized" in stored.stdout + stored.stderr
        assert echoscu(ports["dicom"], calling="INTRUDER").returncode != 0
        assert storescu(ports["dicom"], files[:1]).returncode == 0  # the listed scanner still can
        outgoing = tmp_path / "spool" / "outgoing" / "DEST"
        wait_for(lambda: len(list(outgoing.iterdir())) == 1, 30, "the listed scanner's slice enhanced")
    assert len(list((tmp_path / "spool").rglob("*.dcm"))) == 1  # nothing of the intruder's anywhere


def test_no_allowed_callers_means_nobody_gets_in(tiny_model, tmp_path):
    require_dcmtk("echoscu")
    config, ports = node_config(tmp_path, tiny_model, free_port(), callers="")
    with running_node(config, ports, tmp_path / "node.log"):
        assert echoscu(ports["dicom"]).returncode != 0
        assert echoscu(ports["dicom"], calling="ANY").returncode != 0


@pytest.fixture(scope="module")
def rogue(pki: Path, tmp_path_factory) -> Path:  # noqa: F811
    """A client certificate signed by a CA the node does not trust, and a self-signed one."""
    d = tmp_path_factory.mktemp("rogue")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=rogue-ca",
             cwd=d)
    _openssl("req", *key, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=client", cwd=d)
    _openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "client.pem", "-days", "2", cwd=d)
    _openssl("req", "-x509", *key, "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=client",
             cwd=d)
    return d


def _context(pki: Path, cert: Path, key: Path) -> ssl.SSLContext:  # noqa: F811
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))  # trusts the node's server certificate
    context.load_cert_chain(str(cert), str(key))
    return context


def test_tls_listener_refuses_client_certificates_it_does_not_trust(tiny_model, tmp_path, pki, rogue):  # noqa: F811
    tls = (f'[node.tls]\ncert = "{pki / "server.pem"}"\nkey = "{pki / "server.key"}"\nca = "{pki / "ca.pem"}"\n'
           "verify_client = true\n")
    config, ports = node_config(tmp_path, tiny_model, free_port(), node_extra=tls)
    with running_node(config, ports, tmp_path / "node.log"):
        port = ports["dicom"]
        assert not _echo(port, (_context(pki, rogue / "client.pem", rogue / "client.key"), "localhost"))
        assert not _echo(port, (_context(pki, rogue / "self.pem", rogue / "self.key"), "localhost"))
        assert _echo(port, (_context(pki, pki / "client.pem", pki / "client.key"), "localhost"))  # the trusted one
