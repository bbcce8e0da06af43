"""Throwaway certificates: a self-signed one for 127.0.0.1 (an https server the tests trust, or a stand-in
for the RDS CA bundle where nothing may be downloaded, make demo), and a CA with server certificates it
signs (a TLS PostgreSQL server whose clients verify it against a CA bundle, as Keycloak does with RDS)."""

import dataclasses
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"


def _key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _builder(subject, issuer, public_key, lifetime):
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
    )


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_alternative_name(host):
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def self_signed(cert_file, key_file, common_name=LOOPBACK, lifetime=datetime.timedelta(hours=1)):
    """Write a CA certificate valid for the IP 127.0.0.1 and its key, both PEM; return the certificate's PEM text."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(_name(common_name), _name(common_name), key.public_key(), lifetime)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file.write_bytes(pem)
    key_file.write_bytes(_key_pem(key))
    return pem.decode()


@dataclasses.dataclass(frozen=True)
class CertificateAuthority:
    """A throwaway root CA, in memory; ``pem`` is what a CA bundle holds."""

    common_name: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self):
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def server_certificate(self, cert_file, key_file, hosts=(LOOPBACK,), lifetime=datetime.timedelta(hours=1)):
        """Write a server certificate this CA signs, valid for ``hosts`` (IP addresses or DNS names), and its key."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            _builder(_name(hosts[0]), self.certificate.subject, key.public_key(), lifetime)
            .add_extension(x509.SubjectAlternativeName([_subject_alternative_name(host) for host in hosts]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_key_pem(key))


def certificate_authority(common_name="throwaway test CA", lifetime=datetime.timedelta(hours=1)):
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(_name(common_name), _name(common_name), key.public_key(), lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(common_name, certificate, key)
