"""Certificates and keys for a local control plane: one CA, serving certs, client certs."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)
API_SERVER_NAMES = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
API_SERVER_IPS = ["127.0.0.1", "10.96.0.1"]


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
    )


class CertificateAuthority:
    """A CA kept as ca.crt / ca.key in one directory; created on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        if not self.cert_path.exists():
            self._create()
        self.key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        self.cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    @property
    def cert_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def key_path(self) -> Path:
        return self.directory / "ca.key"

    def _create(self) -> None:
        key = _new_key()
        name = _name("mlark-local-ca")
        cert = (
            _builder(name, name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        _write_key(key, self.key_path)
        _write_cert(cert, self.cert_path)

    def issue(
        self,
        stem: str,
        common_name: str,
        *,
        organization: str | None = None,
        dns_names: list[str] | None = None,
        ip_addresses: list[str] | None = None,
        server: bool = False,
        client: bool = False,
    ) -> tuple[Path, Path]:
        """Issue (once) `<stem>.crt` / `<stem>.key` signed by this CA; return their paths."""
        cert_path, key_path = self.directory / f"{stem}.crt", self.directory / f"{stem}.key"
        if cert_path.exists() and key_path.exists():
            return cert_path, key_path
        key = _new_key()
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] * server + [ExtendedKeyUsageOID.CLIENT_AUTH] * client
        builder = _builder(_name(common_name, organization), self.cert.subject, key.public_key())
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names or []]
        alternative_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses or []]
        if alternative_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
        _write_key(key, key_path)
        _write_cert(builder.sign(self.key, hashes.SHA256()), cert_path)
        return cert_path, key_path


def service_account_key(directory: Path) -> tuple[Path, Path]:
    """The key pair that signs and verifies service-account tokens."""
    private_path, public_path = directory / "sa.key", directory / "sa.pub"
    if not private_path.exists():
        key = _new_key()
        _write_key(key, private_path)
        public_path.write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return private_path, public_path
