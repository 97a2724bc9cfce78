"""The plugin's server certificate for go-plugin AutoMTLS.

go-plugin pins the certificate from the handshake line and expects the name `localhost`. Generating a key
costs tens of milliseconds plus the `cryptography` import, so the mirror builder writes one pair beside the
plugins (mode 0600) and each process only reads it; `generate` is the fallback.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

CERT_FILE = "plugin-cert.pem"
KEY_FILE = "plugin-key.pem"


@dataclass(frozen=True)
class TlsPair:
    """A PEM certificate and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes

    def cert_der_b64(self) -> str:
        """The certificate as DER, base64 without padding (the handshake's last field)."""
        lines = self.cert_pem.decode().strip().splitlines()
        body = "".join(line for line in lines if not line.startswith("-----"))
        return base64.b64encode(base64.b64decode(body)).decode().rstrip("=")


def generate() -> TlsPair:
    """Generate a self-signed ECDSA P-256 CA/leaf certificate for `localhost`, valid for ten years."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HashiCorp"),
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
        ]
    )
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return TlsPair(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def load(directory: Path) -> TlsPair | None:
    """Read the pair from `directory`, or None if it is missing or unreadable."""
    try:
        return TlsPair((directory / CERT_FILE).read_bytes(), (directory / KEY_FILE).read_bytes())
    except OSError:
        return None


def write(directory: Path, pair: TlsPair) -> None:
    """Write the pair into `directory` with mode 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in ((CERT_FILE, pair.cert_pem), (KEY_FILE, pair.key_pem)):
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        path.chmod(0o600)


def load_or_generate(directory: Path | None) -> TlsPair:
    """The stored pair if there is one, else a freshly generated one."""
    pair = load(directory) if directory is not None else None
    return pair if pair is not None else generate()
