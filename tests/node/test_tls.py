"""TLS on both sides: the listener with client-certificate verification, the sender to a TLS destination.

Certificates come from the openssl command line (a throwaway CA, server and client certificates).
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification

from benchmarks.loopback.peers import (DEST_AE, NODE_AE, SCANNER_AE, free_port, node_config, running_node, storescu,
                                       wait_for)
from benchmarks.loopback.synthetic_series import mr_series, write_series
from tests.conftest import require_dcmtk, require_programs

pytestmark = [pytest.mark.slow]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    require_programs("openssl")
    d = tmp_path_factory.mktemp("pki")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca",
             cwd=d)
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", "san.cnf", cwd=d)
    return d


def _client_context(pki: Path, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if with_cert:
        context.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    return context


def _echo(port: int, tls_args=None) -> bool:
    scu = AE(ae_title=SCANNER_AE)
    scu.add_requested_context(Verification)
    scu.acse_timeout = scu.network_timeout = 10
    assoc = scu.associate("127.0.0.1", port, ae_title=NODE_AE, tls_args=tls_args)
    if not assoc.is_established:
        return False
    ok = assoc.send_c_echo().Status == 0x0000
    assoc.release()
    return ok


def test_tls_listener_requires_a_client_certificate_and_tls_sender_delivers(tiny_model, tmp_path, pki):
    require_dcmtk("storescu")
    received: list[str] = []

    def on_store(event):
        received.append(str(event.dataset.SOPInstanceUID))
        return 0x0000

    dest_port = free_port()
    destination = AE(ae_title=DEST_AE)
    destination.add_supported_context(MRImageStorage, ExplicitVRLittleEndian)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    tls = (f'[node.tls]\ncert = "{pki / "server.pem"}"\nkey = "{pki / "server.key"}"\nca = "{pki / "ca.pem"}"\n'
           "verify_client = true\n")
    config, ports = node_config(tmp_path, tiny_model, dest_port, node_extra=tls)
    text = config.read_text().replace(f"port = {dest_port}\n", f'port = {dest_port}\ntls_ca = "{pki / "ca.pem"}"\n')
    config.write_text(text)
    server = destination.start_server(("127.0.0.1", dest_port), block=False, ssl_context=server_context,
                                      evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        with running_node(config, ports, tmp_path / "node.log"):
            assert _echo(ports["dicom"], (_client_context(pki, with_cert=True), "localhost"))
            assert not _echo(ports["dicom"], (_client_context(pki, with_cert=False), "localhost"))
            assert not _echo(ports["dicom"])  # plain TCP to a TLS port
            # dcmtk's storescu without TLS cannot deliver either; pynetdicom with a certificate can:
            assert storescu(ports["dicom"], write_series(mr_series(1), tmp_path / "plain")).returncode != 0
            scu = AE(ae_title=SCANNER_AE)
            scu.add_requested_context(MRImageStorage, ExplicitVRLittleEndian)
            assoc = scu.associate("127.0.0.1", ports["dicom"], ae_title=NODE_AE,
                                  tls_args=(_client_context(pki, with_cert=True), "localhost"))
            assert [assoc.send_c_store(ds).Status for ds in mr_series(2)] == [0, 0]
            assoc.release()
            wait_for(lambda: len(received) == 2, 60, "2 instances at the TLS destination")
    finally:
        server.shutdown()
