"""Trust-anchor bundles: the shipped production bundle and the checks that guard it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from madoguchi.card.testca import TestCA, ca_name, generate_rsa_key
from madoguchi.identity.tokens.anchors import (
    JLIS_AUTH_CA_SUBJECT,
    AnchorBundleError,
    fingerprint,
    load_bundle,
    parse_manifest,
    production_bundle,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "tokens.md"


def _documented_fingerprints() -> set[str]:
    text = DOCS.read_text()
    section = text.split("## Production trust anchors", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([0-9a-f]{64})`", section))


def test_the_production_bundle_matches_its_manifest_and_the_docs() -> None:
    anchors = production_bundle()
    for anchor in anchors:
        assert anchor.certificate.subject == JLIS_AUTH_CA_SUBJECT
        assert anchor.label
    # Every shipped certificate's fingerprint is in the docs, and the docs list no other.
    assert {a.fingerprint for a in anchors} == _documented_fingerprints()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    ca = TestCA.load_or_create(tmp_path_factory.mktemp("anchors"))
    ca.rollover()
    return ca


def _manifest(ca: TestCA) -> str:
    return "# test\n" + "".join(
        f"{fingerprint(c)}  generation {n}\n" for n, c in enumerate(ca.certificates, 1)
    )


def test_a_bundle_loads_when_it_matches_its_manifest(ca: TestCA) -> None:
    anchors = load_bundle(ca.certificates_pem(), _manifest(ca), subject=ca_name())
    assert [a.label for a in anchors] == ["generation 1", "generation 2"]
    assert [a.certificate for a in anchors] == ca.certificates


def test_bundle_refusals(ca: TestCA) -> None:
    pem, manifest = ca.certificates_pem(), _manifest(ca)
    with pytest.raises(AnchorBundleError, match="not the expected CA name"):
        load_bundle(pem, manifest)  # the test CA is not J-LIS
    with pytest.raises(AnchorBundleError, match="not in its manifest"):
        load_bundle(
            pem, manifest.splitlines()[0] + "\n" + manifest.splitlines()[1], subject=ca_name()
        )
    with pytest.raises(AnchorBundleError, match="not in the bundle"):
        load_bundle(ca.certificate_pem(1), manifest, subject=ca_name())
    user = ca.issue_auth_cert(generate_rsa_key().public_key(), date(1980, 1, 1))
    user_manifest = f"{fingerprint(user)}  a user certificate\n"
    with pytest.raises(AnchorBundleError, match="not the expected CA name"):
        load_bundle(user.public_bytes(Encoding.PEM), user_manifest, subject=ca_name())
    key = generate_rsa_key()
    now = datetime.now(UTC)
    not_ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name())
        .issuer_name(ca_name())
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(AnchorBundleError, match="lacks basicConstraints or keyUsage"):
        load_bundle(
            not_ca.public_bytes(Encoding.PEM), f"{fingerprint(not_ca)}  x\n", subject=ca_name()
        )
    with pytest.raises(AnchorBundleError, match="not a SHA-256"):
        parse_manifest("abc  short\n")
    with pytest.raises(AnchorBundleError, match="twice"):
        parse_manifest(manifest + manifest.splitlines()[1] + "\n")
