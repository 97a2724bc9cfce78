"""The throwaway CA and server certificate."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

from cryptography import x509

from atlasiam_sandbox.mongo.tls import ensure_tls_files


def test_generated_once_then_reused(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path / "tls")
    first = files.cert_file.read_bytes(), files.ca_file.read_bytes()
    assert stat.S_IMODE(files.key_file.stat().st_mode) == 0o600
    again = ensure_tls_files(tmp_path / "tls")
    assert (again.cert_file.read_bytes(), again.ca_file.read_bytes()) == first


def test_certificate_names_and_chain(tmp_path: Path) -> None:
    files = ensure_tls_files(tmp_path)
    cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    files.server_context()  # key and certificate match
    ssl.create_default_context(cafile=str(files.ca_file))


def test_regenerated_when_names_change(tmp_path: Path) -> None:
    first = ensure_tls_files(tmp_path).cert_file.read_bytes()
    assert ensure_tls_files(tmp_path, names=("127.0.0.1", "localhost", "::1")).cert_file.read_bytes() != first
