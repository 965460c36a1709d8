"""README: "Each change these commands make is an audit event naming the OS user who ran it".
`terminal register|credential|revoke|unbind` and `identity add-anchor|deactivate-anchor|
import-crl|link-renewal` recorded nobody (no actor, no `os_user`), unlike `staff` and
`organisation`: each of their events now names the OS user, and its line says so."""

import getpass
import io

import pytest
from django.core.management import call_command

from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import display
from madoguchi.terminals import services as terminal_services
from tests import factories

pytestmark = pytest.mark.django_db


def _events(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=since).order_by("seq"))


def _last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def test_terminal_commands_name_the_os_user_in_every_event():
    user = getpass.getuser()
    contractor = factories.contractor()
    start = _last_seq()
    call_command(
        "terminal", "register", "t-1", "--location", "1F", "--contractor", contractor.name,
        stdout=io.StringIO(),
    )  # fmt: skip
    out = io.StringIO()
    call_command("terminal", "credential", "t-1", stdout=out)
    raw = out.getvalue().strip()
    # A browser enrolled and a desk session open: revoking the credential ends both.
    terminal_services.binding_issue(raw_credential=raw)
    session = terminal_services.desk_session_open(
        terminal=terminal_services.credential_authenticate(raw=raw), staff=factories.staff()
    )
    cascade_start = _last_seq()
    call_command("terminal", "revoke", raw, stdout=io.StringIO())
    call_command("terminal", "credential", "t-1", stdout=out)
    terminal_services.binding_issue(raw_credential=out.getvalue().split()[-1])
    unbind_start = _last_seq()
    call_command("terminal", "unbind", "t-1", stdout=io.StringIO())

    # The commands' own events, and those of the revoke's cascade (not the test's own
    # enrolments and sign-in, which no command made).
    named = {e.event_name for e in _events(start) if e.payload.get("os_user") == user}
    assert {
        "terminals.registered",
        "terminals.credential_issued",
        "terminals.credential_revoked",
        "terminals.desk_session_closed",
        "terminals.browser_unbound",
    } <= named
    revoked = [e for e in _events(cascade_start) if e.seq <= unbind_start]
    assert all(e.payload.get("os_user") == user for e in revoked[:3]), revoked
    assert [e.event_name for e in _events(unbind_start)] == ["terminals.browser_unbound"]
    assert _events(unbind_start)[0].payload["os_user"] == user
    session.refresh_from_db()
    assert session.closed_at is not None

    registered = AuditEvent.objects.get(event_name="terminals.registered")
    assert registered.actor_label == ""
    assert display(registered, "ja") == f"端末 t-1 を登録しました（OS ユーザー {user}）"
    assert display(registered, "en") == f"Terminal t-1 registered (OS user {user})"
    unbound = _events(unbind_start)[0]
    assert display(unbound, "en").endswith(f"revoked (revoked by an operator) (OS user {user})")


def test_a_terminal_registered_in_code_or_on_a_page_names_no_os_user():
    """Only the shell's changes carry one; the line of the others is as it was."""
    terminal = factories.terminal("t-2")
    event = AuditEvent.objects.get(event_name="terminals.registered", terminal_id=terminal.pk)
    assert "os_user" not in event.payload
    assert display(event, "ja") == "端末 t-2 を登録しました"
    assert display(event, "en") == "Terminal t-2 registered"


def test_trust_anchor_commands_name_the_os_user_in_every_event(pki, tmp_path):
    user = getpass.getuser()
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pki.ca.certificates_pem())
    crl = tmp_path / "ca.crl"
    crl.write_bytes(pki.ca.crl_pem())
    start = _last_seq()
    call_command(
        "identity", "add-anchor", str(anchors), "--name", "JPKI-TEST", stdout=io.StringIO()
    )
    call_command("identity", "import-crl", str(crl), stdout=io.StringIO())
    call_command(
        "identity", "add-anchor", str(anchors), "--name", "JPKI-TEST 2", stdout=io.StringIO()
    )  # renamed
    from madoguchi.identity.models import TrustAnchor

    fingerprint = TrustAnchor.objects.get().fingerprint
    call_command("identity", "deactivate-anchor", fingerprint[:16], stdout=io.StringIO())
    events = _events(start)
    assert [e.event_name for e in events] == [
        "identity.trust_anchor_added",
        "identity.crl_imported",
        "identity.trust_anchor_renamed",
        "identity.trust_anchor_deactivated",
    ]
    for event in events:
        assert event.payload["os_user"] == user, event.event_name
        assert display(event, "ja").endswith(f"（OS ユーザー {user}）"), display(event, "ja")
        assert display(event, "en").endswith(f" (OS user {user})"), display(event, "en")


def test_a_refused_renewal_link_names_the_os_user(trusted, tmp_path):
    from datetime import date

    from django.core.management import CommandError

    from madoguchi.card.testca import TestCA
    from tests.identity.test_commands import _holder_of, _pem

    old = _holder_of(trusted, trusted.card("A").auth_certificate)
    stranger = TestCA.load_or_create(tmp_path / "stranger")
    cert = stranger.issue_auth_cert(
        trusted.card("C").auth_certificate.public_key(), date(1980, 1, 1)
    )
    with pytest.raises(CommandError):
        call_command("identity", "link-renewal", old.fingerprint, _pem(tmp_path, cert))
    event = AuditEvent.objects.get(event_name="identity.certificate_renewal_refused")
    assert event.payload["os_user"] == getpass.getuser()
    assert display(event, "en").endswith(f" (OS user {getpass.getuser()})")
