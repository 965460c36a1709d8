import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from madoguchi.identity.models import HolderCertificate, RevocationList, TrustAnchor
from madoguchi.identity.services import fingerprint, holder_certificate_for

pytestmark = pytest.mark.django_db


def test_add_anchor_and_import_crl_from_files(pki, tmp_path, capsys):
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pki.ca.certificates_pem())
    crl = tmp_path / "ca.crl"
    crl.write_bytes(pki.ca.crl_pem())
    call_command("identity", "add-anchor", str(anchors), "--name", "JPKI-TEST")
    call_command("identity", "import-crl", str(crl))
    assert TrustAnchor.objects.filter(name="JPKI-TEST", is_active=True).exists()
    assert RevocationList.objects.count() == 1
    call_command("identity", "anchors")
    next_update = timezone.localtime(RevocationList.objects.get().next_update)
    out = capsys.readouterr().out
    assert f"revoked, next update {next_update:%Y-%m-%d %H:%M} JST." in out
    assert f"CRL next update {next_update:%Y-%m-%d %H:%M} JST" in out
    # The list starts with one header line naming its columns, as `madoguchi sim accounts`.
    assert out.splitlines()[-2:][0] == "name\tfingerprint\tactive\tcrl\tj-lis"
    # Each row holds the values alone under it (the active column read `active=True`).
    assert out.splitlines()[-1].split("\t")[2] == "yes"
    # The tests' CA is not J-LIS's (check --deploy refuses it on a deployment: E105).
    assert out.splitlines()[-1].split("\t")[4] == "no"


def test_crl_not_signed_by_a_trust_anchor_is_refused(pki, tmp_path):
    crl = tmp_path / "ca.crl"
    crl.write_bytes(pki.ca.crl_pem())
    with pytest.raises(CommandError) as refused:
        call_command("identity", "import-crl", str(crl))
    issuer = pki.ca.crl().issuer.rfc4514_string()
    assert str(refused.value).endswith(
        f"(it is issued by {issuer}, which is no trust anchor: add that CA's certificate first "
        "(madoguchi identity add-anchor))"
    )
    assert not RevocationList.objects.exists()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b'{"not": "a crl"}', "the data is neither a PEM CRL (-----BEGIN X509 CRL-----) nor a DER one"),
        (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "the PEM block holds no CRL"),
        (bytes(range(256)), "the data is neither a PEM CRL"),
    ],
    ids=["json", "pem-cut", "bytes"],
)  # fmt: skip
def test_a_file_that_is_no_crl_is_said_to_be_none(tmp_path, data, says):
    """The refusal carried the ASN.1 parser's Rust words (ParseError { kind: ShortData … })."""
    crl = tmp_path / "ca.crl"
    crl.write_bytes(data)
    with pytest.raises(CommandError) as refused:
        call_command("identity", "import-crl", str(crl))
    assert says in str(refused.value)
    assert "ParseError" not in str(refused.value)
    assert not RevocationList.objects.exists()


def test_a_crl_source_that_is_neither_a_file_nor_http_is_named(tmp_path):
    """ftp://host/x was read as the file ftp:/host/x ("no such CRL file")."""
    with pytest.raises(CommandError) as refused:
        call_command("identity", "import-crl", "ftp://example.invalid/ca.crl")
    assert str(refused.value) == (
        "Cannot fetch ftp://example.invalid/ca.crl: a CRL is read from a file or an http:// or "
        "https:// URL."
    )


def test_a_crl_url_that_answers_an_error_says_the_status_alone(tmp_path):
    """httpx's sentence ended with a web page about status codes."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path)),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/nowhere.crl"
    try:
        with pytest.raises(CommandError) as refused:
            call_command("identity", "import-crl", url)
    finally:
        server.shutdown()
        server.server_close()
    assert str(refused.value) == (
        f"Could not fetch {url}: the server answered 404 File not found, not the CRL."
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "Invalid port: ':1'"),
        ("http://[zz]/ca.crl", "Invalid IPv6 address: '[zz]'"),
        ("http://" + "a" * 70 + ".example/ca.crl", "its host name: label empty or too long"),
    ],
    ids=["bracket-open", "not-an-address", "label-too-long"],
)
def test_a_crl_url_that_is_not_one_is_refused_saying_so(url, why):
    """httpx's InvalidURL (and the idna codec's UnicodeError) were tracebacks."""
    with pytest.raises(CommandError) as refused:
        call_command("identity", "import-crl", url)
    assert str(refused.value) == (
        f"Cannot fetch {url}: it is not a valid URL ({why}); give the CRL's http:// or "
        "https:// address, or a file."
    )
    assert not RevocationList.objects.exists()


def test_import_crl_every_refuses_a_negative_number_of_seconds():
    with pytest.raises(
        CommandError, match=r"a whole number of seconds \(0: import once\), not '-5'"
    ):
        call_command("identity", "import-crl", "x.crl", "--every", "-5")


def test_a_leaf_certificate_is_not_a_trust_anchor(pki, tmp_path):
    from cryptography.hazmat.primitives import serialization

    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(pki.card("A").auth_certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(CommandError, match=r"Not a CA certificate. \(basicConstraints CA is not"):
        call_command("identity", "add-anchor", str(leaf))


def test_the_shipped_bundle_before_jlis_certificates_are_added_says_it_holds_none(capsys, tmp_path):
    """The repository's J-LIS bundle ships empty (docs/tokens.md): adding it said "Not a CA
    certificate", and listing the anchors of a new deployment printed nothing at all."""
    from pathlib import Path

    import madoguchi.identity.tokens

    bundle = Path(madoguchi.identity.tokens.__file__).parent / "trust" / "jlis-jpki-auth.pem"
    with pytest.raises(CommandError, match=r"No certificate can be read from the file \(PEM") as no:
        call_command("identity", "add-anchor", str(bundle))
    # Said in words, with where to read on: no link to cryptography's FAQ, no Rust error name.
    assert "no '-----BEGIN CERTIFICATE-----' line" in str(no.value)
    assert '"Updating the bundle"' in str(no.value)
    assert not TrustAnchor.objects.exists()
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(CommandError, match="not a valid PEM block") as bad:
        call_command("identity", "add-anchor", str(broken))
    assert "cryptography.io" not in str(bad.value)
    assert "MalformedFraming" not in str(bad.value)
    call_command("identity", "anchors")
    assert "No trust anchors yet: no card can authenticate" in capsys.readouterr().out


def _holder_of(pki, cert):
    from madoguchi.identity.tokens import ValidatedToken

    return holder_certificate_for(
        ValidatedToken(
            certificate=cert,
            issuer_certificate=pki.ca.certificate,
            fingerprint_sha256=fingerprint(cert),
            issuer_dn=cert.issuer.rfc4514_string(),
            serial_number=cert.serial_number,
            subject_cn="x",
            algorithm="RS256",
            format="web-eid:1.0",
        )
    )


def _pem(tmp_path, cert):
    from cryptography.hazmat.primitives import serialization

    path = tmp_path / f"{cert.serial_number}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_renewal_link_refuses_a_certificate_no_trust_anchor_issued(trusted, tmp_path):
    """Issue 11 item 9: the new certificate is validated (chain, policy, validity, CRL)."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.card.testca import TestCA

    old = _holder_of(trusted, trusted.card("A").auth_certificate)
    from datetime import date

    stranger_ca = TestCA.load_or_create(tmp_path / "stranger")
    key = trusted.card("C").auth_certificate.public_key()
    cert = stranger_ca.issue_auth_cert(key, date(1980, 1, 1))
    with pytest.raises(CommandError):
        call_command("identity", "link-renewal", old.fingerprint, _pem(tmp_path, cert))
    assert not HolderCertificate.objects.filter(fingerprint=fingerprint(cert)).exists()
    assert AuditEvent.objects.filter(event_name="identity.certificate_renewal_refused").exists()


def _refused_b_to_a(trusted, tmp_path, match: str) -> None:
    """Linking B's certificate as A's renewal is refused; B's stays B's holder's."""
    old = HolderCertificate.objects.get(fingerprint=fingerprint(trusted.card("A").auth_certificate))
    other = HolderCertificate.objects.get(
        fingerprint=fingerprint(trusted.card("B").auth_certificate)
    )
    with pytest.raises(CommandError, match=match):
        call_command(
            "identity",
            "link-renewal",
            old.fingerprint,
            _pem(tmp_path, trusted.card("B").auth_certificate),
        )
    other.refresh_from_db()
    assert other.holder != old.holder


def test_renewal_link_refuses_a_certificate_of_a_holder_with_a_link(trusted, tmp_path):
    """Issue 11 item 9: a certificate whose holder holds a payment link is not moved (a holder
    made only by a first sight, holding nothing, is merged: tests/identity/test_renewal_merge.py)."""
    from tests.benefits import builders

    _holder_of(trusted, trusted.card("A").auth_certificate)
    other = _holder_of(trusted, trusted.card("B").auth_certificate)
    builders.link(
        other.holder,
        programme=builders.programme(),
        provider=builders.provider(),
        account="70100001",
    )
    _refused_b_to_a(trusted, tmp_path, r"payment links \(1\).*open a case for the city")


def test_renewal_link_refuses_a_certificate_of_a_holder_with_other_certificates(trusted, tmp_path):
    """A holder with a renewal of its own is a resident's, not one first sight's: refused."""
    _holder_of(trusted, trusted.card("A").auth_certificate)
    other = _holder_of(trusted, trusted.card("B").auth_certificate)
    call_command(
        "identity",
        "link-renewal",
        other.fingerprint,
        _pem(tmp_path, trusted.card("C").auth_certificate),
    )
    _refused_b_to_a(trusted, tmp_path, "already belongs to another holder")
    assert HolderCertificate.objects.filter(holder=other.holder).count() == 2


def test_renewal_link_keeps_one_holder(trusted, tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization

    from madoguchi.audit.models import AuditEvent
    from madoguchi.identity.tokens import ValidatedToken

    pki = trusted
    old_cert = pki.card("A").auth_certificate
    new_cert = pki.card("C").auth_certificate  # stands in for A's renewed certificate
    old = holder_certificate_for(
        ValidatedToken(
            certificate=old_cert,
            issuer_certificate=pki.ca.certificate,
            fingerprint_sha256=fingerprint(old_cert),
            issuer_dn=old_cert.issuer.rfc4514_string(),
            serial_number=old_cert.serial_number,
            subject_cn="x",
            algorithm="RS256",
            format="web-eid:1.0",
        )
    )
    pem = tmp_path / "new.pem"
    pem.write_bytes(new_cert.public_bytes(serialization.Encoding.PEM))
    call_command("identity", "link-renewal", old.fingerprint, str(pem))
    new = HolderCertificate.objects.get(fingerprint=fingerprint(new_cert))
    assert new.holder == old.holder
    assert capsys.readouterr().out.startswith("Linked ")
    # The same command again (an operator unsure whether it ran) changes nothing, says so,
    # and adds no second "renewal linked" to the audit log.
    call_command("identity", "link-renewal", old.fingerprint, str(pem))
    assert "is already linked to holder" in capsys.readouterr().out
    linked = AuditEvent.objects.filter(event_name="identity.certificate_renewal_linked")
    assert linked.count() == 1


def test_each_anchor_gets_its_own_newest_crl_even_when_names_are_shared(pki, tmp_path):
    """Two CAs with one name (a rollover keeps the DN): a CRL counts for the anchor whose key
    signed it, whatever was imported last under that name."""
    from madoguchi.card.testca import TestCA
    from madoguchi.identity import services

    other = TestCA.load_or_create(tmp_path / "other")
    services.trust_anchor_add(pem=pki.ca.certificates_pem())
    services.trust_anchor_add(pem=other.certificates_pem())
    services.crl_import(data=other.crl_pem())
    services.crl_import(data=pki.ca.crl_pem())  # imported last, same issuer name
    crls = services._newest_crls([pki.ca.certificate, other.certificate])
    signers = {
        key
        for crl in crls
        for key, ca in (("pki", pki.ca.certificate), ("other", other.certificate))
        if crl.is_signature_valid(ca.public_key())
    }
    assert signers == {"pki", "other"}


def test_a_device_a_directory_or_a_missing_file_is_refused_with_the_reason(tmp_path):
    """`/dev/zero` as a certificate or CRL was read until memory ran out (MemoryError is not
    an OSError, so not even the command's own refusal)."""
    with pytest.raises(CommandError, match="not a regular file"):
        call_command("identity", "add-anchor", "/dev/zero", "--name", "X")
    with pytest.raises(CommandError, match="it is a directory"):
        call_command("identity", "import-crl", str(tmp_path))
    with pytest.raises(CommandError, match="no such certificate file"):
        call_command("identity", "link-renewal", "00" * 32, str(tmp_path / "absent.pem"))


def test_renewal_link_takes_the_old_fingerprint_as_openssl_prints_it(trusted, tmp_path):
    """Side doors round 10: `openssl x509 -fingerprint -sha256` prints the old certificate's
    fingerprint in capitals with colons, which was "No holder has this certificate" for a
    holder that has it."""
    old = _holder_of(trusted, trusted.card("A").auth_certificate)
    printed = ":".join(old.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    pem = _pem(tmp_path, trusted.card("C").auth_certificate)
    call_command("identity", "link-renewal", f" {printed} ", pem)
    new = HolderCertificate.objects.get(fingerprint=fingerprint(trusted.card("C").auth_certificate))
    assert new.holder_id == old.holder_id


@pytest.mark.parametrize("typed", ["123456789012", "x" * 5000, "ab" * 31, "../../etc/passwd"])
def test_renewal_link_refuses_an_old_fingerprint_that_is_not_one_and_audits_it(
    trusted, tmp_path, typed
):
    """Side doors round 10: a typed value that is not a fingerprint was looked up as one; twelve
    digits then failed in the refusal's own audit event ("payload.old is refused"), so the
    refusal was not audited (rule 9) and the message named the audit log, not the input."""
    from madoguchi.audit.models import AuditEvent

    pem = _pem(tmp_path, trusted.card("C").auth_certificate)
    with pytest.raises(CommandError, match="not a certificate's SHA-256 fingerprint"):
        call_command("identity", "link-renewal", typed, pem)
    refusal = AuditEvent.objects.get(event_name="identity.certificate_renewal_refused")
    assert refusal.payload["code"] == "fingerprint_malformed"
    assert typed not in str(refusal.payload)
    assert not HolderCertificate.objects.exists()


def test_a_crl_signed_by_another_key_of_an_anchors_name_says_so(tmp_path):
    """The CA's next generation has the same name and a new key: its CRL, with only the first
    generation trusted, is named as one whose signature does not verify."""
    from madoguchi.card.testca import TestCA

    ca = TestCA.load_or_create(tmp_path / "ca")
    ca.rollover()
    first = tmp_path / "first.pem"
    first.write_bytes(ca.certificate_pem(1))
    call_command("identity", "add-anchor", str(first))
    crl = tmp_path / "second.crl"
    crl.write_bytes(ca.crl_pem(generation=2))
    with pytest.raises(CommandError) as refused:
        call_command("identity", "import-crl", str(crl))
    issuer = ca.crl(generation=2).issuer.rfc4514_string()
    assert str(refused.value).endswith(
        f"(its signature does not verify with the key of the trust anchor {issuer})"
    )
    assert not RevocationList.objects.exists()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("J" * 201, r"--name: Ensure this value has at most 200 characters \(it has 201\)"),
        ("JPKI\u202eTEST", r"--name: A name is one line of plain text"),
        ("JPKI\nTEST", r"--name: A name is one line of plain text"),
    ],
    ids=["long", "bidi", "line-break"],
)
def test_an_anchor_name_past_its_rules_is_refused_before_anything_is_trusted(
    pki, tmp_path, name, says
):
    """`identity add-anchor FILE --name <201 characters>` was PostgreSQL's "value too long"
    traceback, and a name with a line break split `identity anchors` (a line an anchor)."""
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pki.ca.certificates_pem())
    with pytest.raises(CommandError, match=says + r".*Nothing was trusted\.$"):
        call_command("identity", "add-anchor", str(anchors), "--name", name)
    assert not TrustAnchor.objects.exists()
