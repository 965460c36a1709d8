"""Whom the desk believes about a card: `check --deploy` names a trusted CA that is not J-LIS's
user-authentication CA (the demo's test CA added on a deployment let anyone's virtual cards sign
completions, with nothing said), and `identity deactivate-anchor` stops trusting one, audited;
there was no way to but the database."""

from __future__ import annotations

import getpass
import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.checks.registry import registry
from django.core.management import CommandError, call_command

from madoguchi.audit.models import AuditEvent
from madoguchi.identity import services as identity
from madoguchi.identity.checks import trust_anchors_are_jlis
from madoguchi.identity.models import TrustAnchor
from madoguchi.identity.tokens.anchors import JLIS_AUTH_CA_SUBJECT
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.visits import start_visit

pytestmark = pytest.mark.django_db
ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN


def _jlis_named_ca_pem() -> bytes:
    """A self-signed CA certificate under J-LIS's user-authentication CA's name."""
    key = rsa.generate_private_key(65537, 2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(JLIS_AUTH_CA_SUBJECT)
        .issuer_name(JLIS_AUTH_CA_SUBJECT)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _e105() -> list:
    assert trust_anchors_are_jlis in registry.deployment_checks
    return [m for m in trust_anchors_are_jlis() if m.id == "madoguchi.E105"]


def test_check_deploy_names_a_trusted_test_ca(trusted, settings):
    settings.DEMO = False
    anchor = TrustAnchor.objects.get(name="JPKI-TEST")
    [error] = _e105()
    assert "The trust anchor 'JPKI-TEST' (OU=" in error.msg
    assert "O=JPKI-TEST" in error.msg
    assert "is not J-LIS's user-authentication CA" in error.msg
    assert f"madoguchi identity deactivate-anchor {anchor.fingerprint[:16]}" in error.hint
    # The demo trusts its test CA on purpose.
    settings.DEMO = True
    assert _e105() == []


def test_check_deploy_passes_j_lis_s_ca_and_no_anchor_at_all(db, pki, settings):
    settings.DEMO = False
    assert _e105() == []
    identity.trust_anchor_add(pem=_jlis_named_ca_pem(), name="J-LIS")
    assert _e105() == []
    # Added without --name (its subject is its name): the subject said once.
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    [error] = _e105()
    assert error.msg.startswith("The trust anchor OU=Japan Agency for Local Authority ")
    assert error.msg.count("O=JPKI-TEST") == 1


def test_deactivating_an_anchor_refuses_its_cards_and_is_audited(trusted, settings):
    settings.DEMO = False
    anchor = TrustAnchor.objects.get(name="JPKI-TEST")
    out = io.StringIO()
    # As openssl prints it: upper case, colons between the bytes.
    openssl = ":".join(anchor.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    call_command("identity", "deactivate-anchor", openssl, stdout=out)
    assert f"No longer trusted: JPKI-TEST ({anchor.fingerprint[:16]}…)" in out.getvalue()
    anchor.refresh_from_db()
    assert not anchor.is_active
    event = AuditEvent.objects.get(event_name="identity.trust_anchor_deactivated")
    assert event.payload == {
        "subject_dn": anchor.subject_dn,
        "fingerprint": anchor.fingerprint,
        "os_user": getpass.getuser(),  # the shell's change names who ran it
    }
    assert _e105() == []
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    with pytest.raises(Refusal):
        start_visit(desk, trusted.card("A"))
    # Trusted again: audited too, as trusted again (it said nothing before).
    identity.trust_anchor_add(pem=trusted.ca.certificates_pem(), name="JPKI-TEST")
    again = AuditEvent.objects.filter(event_name="identity.trust_anchor_added").latest("seq")
    assert again.payload["reactivated"] is True
    start_visit(desk, trusted.card("A"))


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("abc", "at least its first 16 hex digits"),
        ("zz" * 8, "at least its first 16 hex digits"),
        ("0" * 16, "no active trust anchor's fingerprint starts with 0000000000000000"),
    ],
)
def test_deactivating_an_unknown_anchor_changes_nothing(trusted, given, says):
    with pytest.raises(CommandError, match=says):
        call_command("identity", "deactivate-anchor", given)
    assert TrustAnchor.objects.get(name="JPKI-TEST").is_active
    assert not AuditEvent.objects.filter(event_name="identity.trust_anchor_deactivated").exists()


def test_add_anchor_says_at_once_that_a_ca_is_not_j_lis_s(pki, tmp_path, settings):
    settings.DEMO = False
    test_ca = tmp_path / "ca.pem"
    test_ca.write_bytes(pki.ca.certificates_pem())
    jlis = tmp_path / "jlis.pem"
    jlis.write_bytes(_jlis_named_ca_pem())
    err = io.StringIO()
    call_command("identity", "add-anchor", str(test_ca), stdout=io.StringIO(), stderr=err)
    anchor = TrustAnchor.objects.get()
    assert err.getvalue().startswith("Warning: this is not J-LIS's user-authentication CA")
    assert f"deactivate-anchor {anchor.fingerprint[:16]}" in err.getvalue()
    err = io.StringIO()
    call_command("identity", "add-anchor", str(jlis), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""
    settings.DEMO = True
    err = io.StringIO()
    call_command("identity", "add-anchor", str(test_ca), stdout=io.StringIO(), stderr=err)
    assert err.getvalue() == ""


def test_check_deploy_warns_of_a_trusted_ca_without_a_fresh_crl(pki, settings):
    """Every card of a CA with no fresh CRL is refused at the desk (fail closed): said before
    the first resident, not at their card."""
    from datetime import timedelta as days

    from django.utils import timezone

    from madoguchi.identity.checks import trust_anchors_have_fresh_crls
    from madoguchi.identity.models import RevocationList

    assert trust_anchors_have_fresh_crls in registry.deployment_checks
    settings.DEMO = False
    identity.trust_anchor_add(pem=pki.ca.certificates_pem(), name="JPKI-TEST")
    [warning] = trust_anchors_have_fresh_crls()
    assert warning.id == "madoguchi.W108"
    assert warning.msg.startswith("The trust anchor 'JPKI-TEST' (OU=")
    assert "no fresh revocation list" in warning.msg
    identity.crl_import(data=pki.ca.crl_pem(), source="test")
    assert trust_anchors_have_fresh_crls() == []
    RevocationList.objects.update(next_update=timezone.now() - days(minutes=1))
    assert [w.id for w in trust_anchors_have_fresh_crls()] == ["madoguchi.W108"]
    settings.IDENTITY_REJECT_UNKNOWN_REVOCATION = False  # unknown revocation let through
    assert trust_anchors_have_fresh_crls() == []


def test_check_deploy_warns_when_unknown_revocation_is_let_through(settings):
    from madoguchi.identity.checks import unknown_revocation_refused

    assert unknown_revocation_refused in registry.deployment_checks
    settings.DEMO = False
    settings.IDENTITY_REJECT_UNKNOWN_REVOCATION = True
    assert unknown_revocation_refused() == []
    settings.IDENTITY_REJECT_UNKNOWN_REVOCATION = False
    [warning] = unknown_revocation_refused()
    assert warning.id == "madoguchi.W111"
    assert "a lost or stolen card" in warning.msg


def test_a_trusted_ca_added_again_keeps_its_name_and_a_new_name_is_audited(pki, tmp_path):
    """add-anchor on a CA already trusted renamed it, to its subject or to the name given,
    with no audit event (deactivate-anchor then printed the unaudited name)."""
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki.ca.certificates_pem())
    out = io.StringIO()
    call_command("identity", "add-anchor", str(ca), "--name", "Probe Root", stdout=out)

    def events():
        return list(
            AuditEvent.objects.filter(event_name__startswith="identity.trust_anchor").values_list(
                "event_name", flat=True
            )
        )

    assert events() == ["identity.trust_anchor_added"]
    call_command("identity", "add-anchor", str(ca), stdout=out)
    assert TrustAnchor.objects.get().name == "Probe Root"
    assert events() == ["identity.trust_anchor_added"]
    call_command("identity", "add-anchor", str(ca), "--name", "Renamed Root", stdout=out)
    assert TrustAnchor.objects.get().name == "Renamed Root"
    assert events() == ["identity.trust_anchor_added", "identity.trust_anchor_renamed"]
    renamed = AuditEvent.objects.get(event_name="identity.trust_anchor_renamed")
    assert (renamed.payload["old_name"], renamed.payload["name"]) == ("Probe Root", "Renamed Root")
