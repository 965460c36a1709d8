"""Trust-anchor bundles: the CA certificates that may issue user-authentication certificates.

A bundle is a PEM file and a manifest (`<sha256 hex>  <label>` per line, `#` comments). Loading
checks every certificate against the manifest (nothing unlisted, nothing listed and missing),
that it is a self-signed CA certificate (basicConstraints CA, keyCertSign, its own signature)
and that its subject is the J-LIS user-authentication CA's name. The shipped production bundle
is `trust/jlis-jpki-auth.pem`; see docs/tokens.md ("Production trust anchors") for what it holds
and how an operator updates it. The test CA (`O=JPKI-TEST`) stays for the demo and the tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

#: The subject of every J-LIS JPKI user-authentication CA certificate (all generations).
JLIS_AUTH_CA_SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication"),
        x509.NameAttribute(
            NameOID.ORGANIZATIONAL_UNIT_NAME,
            "Japan Agency for Local Authority Information Systems",
        ),
    ]
)

PRODUCTION_BUNDLE = "jlis-jpki-auth.pem"
PRODUCTION_MANIFEST = "jlis-jpki-auth.sha256.txt"


class AnchorBundleError(ValueError):
    """The bundle does not match its manifest or holds something that is not a J-LIS CA."""


@dataclass(frozen=True)
class Anchor:
    certificate: x509.Certificate
    fingerprint: str
    label: str


def fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def parse_manifest(text: str) -> dict[str, str]:
    """`<64 hex>  <label>` lines (comments and blank lines ignored) -> {fingerprint: label}."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, label = line.partition(" ")
        digest = digest.lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise AnchorBundleError(f"manifest line {number}: not a SHA-256 fingerprint")
        if digest in out:
            raise AnchorBundleError(f"manifest line {number}: {digest[:16]}… is listed twice")
        out[digest] = label.strip()
    return out


def _pem_certificates(pem: bytes) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        return []
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise AnchorBundleError(f"the bundle does not parse: {exc}") from exc


def _check_ca(cert: x509.Certificate, subject: x509.Name) -> None:
    name = cert.subject.rfc4514_string()
    if cert.subject != subject:
        raise AnchorBundleError(f"{name} is not the expected CA name {subject.rfc4514_string()}")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise AnchorBundleError(f"{name} lacks basicConstraints or keyUsage") from exc
    if not constraints.ca or not usage.key_cert_sign:
        raise AnchorBundleError(f"{name} is not a CA certificate")
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise AnchorBundleError(f"{name} is not self-signed") from exc


def load_bundle(
    pem: bytes, manifest: str, *, subject: x509.Name = JLIS_AUTH_CA_SUBJECT
) -> list[Anchor]:
    """The bundle's anchors, each checked against the manifest and the CA profile."""
    listed = parse_manifest(manifest)
    anchors: list[Anchor] = []
    for cert in _pem_certificates(pem):
        digest = fingerprint(cert)
        if digest not in listed:
            raise AnchorBundleError(f"{digest[:16]}… is in the bundle but not in its manifest")
        _check_ca(cert, subject)
        anchors.append(Anchor(cert, digest, listed[digest]))
    missing = set(listed) - {a.fingerprint for a in anchors}
    if missing:
        raise AnchorBundleError(
            f"listed in the manifest but not in the bundle: {sorted(d[:16] for d in missing)}"
        )
    return anchors


def production_bundle() -> list[Anchor]:
    """The shipped J-LIS bundle (empty until an operator adds the certificates; docs/tokens.md)."""
    trust = resources.files("madoguchi.identity.tokens") / "trust"
    pem = (trust / PRODUCTION_BUNDLE).read_bytes()
    manifest = (trust / PRODUCTION_MANIFEST).read_text(encoding="utf-8")
    return load_bundle(pem, manifest)
