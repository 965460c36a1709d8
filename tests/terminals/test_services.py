import pytest
from django.db import IntegrityError, transaction

from madoguchi.audit.models import AuditEvent
from madoguchi.terminals import services
from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.models import DeskSession
from tests import factories

pytestmark = pytest.mark.django_db


def test_issued_credential_authenticates_and_is_stored_only_hashed():
    terminal = factories.terminal()
    issued = services.credential_issue(terminal=terminal, actor=None)
    assert issued.raw.startswith("mdt_")
    secret = issued.raw.split("_", 2)[2]
    assert secret not in issued.credential.secret_hash
    assert services.credential_authenticate(raw=issued.raw) == terminal


@pytest.mark.parametrize(
    "raw", ["", "garbage", "mdt__x", "mdt_nope_nope", "xyz_abc_def", "mdt_abc"]
)
def test_malformed_or_unknown_credentials_are_rejected_and_audited(raw):
    before = AuditEvent.objects.filter(event_name="terminals.credential_rejected").count()
    with pytest.raises(services.CredentialRejected) as exc:
        services.credential_authenticate(raw=raw)
    assert "credential" in str(exc.value).lower()
    after = AuditEvent.objects.filter(event_name="terminals.credential_rejected").count()
    assert after == before + 1


def test_wrong_secret_with_a_real_prefix_is_rejected():
    issued = services.credential_issue(terminal=factories.terminal(), actor=None)
    prefix = issued.credential.prefix
    with pytest.raises(services.CredentialRejected):
        services.credential_authenticate(raw=f"mdt_{prefix}_not-the-secret")


def test_revoked_credential_is_rejected_and_closes_the_desk_session():
    terminal = factories.terminal()
    issued = services.credential_issue(terminal=terminal, actor=None)
    session = services.desk_session_open(terminal=terminal, staff=factories.staff())
    services.credential_revoke(credential=issued.credential, actor=None)
    with pytest.raises(services.CredentialRejected):
        services.credential_authenticate(raw=issued.raw)
    session.refresh_from_db()
    assert session.close_reason == DeskSessionCloseReason.TERMINAL_REVOKED


def test_one_staff_member_per_terminal_new_sign_in_supersedes():
    terminal = factories.terminal()
    a, b = factories.staff(), factories.staff()
    first = services.desk_session_open(terminal=terminal, staff=a)
    second = services.desk_session_open(terminal=terminal, staff=b)
    first.refresh_from_db()
    assert first.closed_at is not None
    assert first.close_reason == DeskSessionCloseReason.SUPERSEDED
    assert second.is_open
    assert DeskSession.objects.filter(terminal=terminal, closed_at__isnull=True).count() == 1


def test_staff_moving_to_another_terminal_closes_the_first():
    t1, t2 = factories.terminal(), factories.terminal()
    a = factories.staff()
    first = services.desk_session_open(terminal=t1, staff=a)
    services.desk_session_open(terminal=t2, staff=a)
    first.refresh_from_db()
    assert not first.is_open


def test_database_refuses_two_open_sessions_on_one_terminal():
    terminal = factories.terminal()
    DeskSession.objects.create(terminal=terminal, staff=factories.staff())
    with pytest.raises(IntegrityError), transaction.atomic():
        DeskSession.objects.create(terminal=terminal, staff=factories.staff())


def test_inactive_terminal_cannot_open_a_session():
    terminal = factories.terminal()
    terminal.is_active = False
    terminal.save()
    with pytest.raises(services.TerminalInactive):
        services.desk_session_open(terminal=terminal, staff=factories.staff())


def test_every_step_is_audited():
    terminal = factories.terminal()
    issued = services.credential_issue(terminal=terminal, actor=None)
    session = services.desk_session_open(terminal=terminal, staff=factories.staff())
    services.desk_session_close(
        session=session, reason=DeskSessionCloseReason.SIGNED_OUT, actor=None
    )
    services.credential_revoke(credential=issued.credential, actor=None)
    names = list(
        AuditEvent.objects.filter(terminal_id=str(terminal.pk))
        .order_by("seq")
        .values_list("event_name", flat=True)
    )
    assert names == [
        "terminals.registered",
        "terminals.credential_issued",
        "terminals.desk_session_opened",
        "terminals.desk_session_closed",
        "terminals.credential_revoked",
    ]


def test_a_credential_prefix_is_never_twelve_digits(monkeypatch):
    """Twelve digits would read as an individual number, which the audit log refuses."""
    answers = iter(["123456789012", "0a1b2c3d4e5f"])
    monkeypatch.setattr(services.secrets, "token_hex", lambda n: next(answers))
    issued = services.credential_issue(terminal=factories.terminal(), actor=None)
    assert issued.credential.prefix == "0a1b2c3d4e5f"


def test_the_next_lookup_after_a_revocation_or_a_disabling_is_refused():
    """The credential lookup is compiled once per process (issue 15); what it answers is read
    anew on every call: a credential accepted a moment ago is refused once revoked, a terminal
    once disabled, each in one query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    terminal = factories.terminal()
    issued = services.credential_issue(terminal=terminal, actor=None)
    with CaptureQueriesContext(connection) as queries:
        assert services.credential_authenticate(raw=issued.raw) == terminal
    assert len(queries) == 1
    terminal.is_active = False
    terminal.save()
    with pytest.raises(services.TerminalInactive):
        services.credential_authenticate(raw=issued.raw)
    terminal.is_active = True
    terminal.save()
    assert services.credential_authenticate(raw=issued.raw) == terminal
    services.credential_revoke(credential=issued.credential, actor=None)
    with pytest.raises(services.CredentialRejected):
        services.credential_authenticate(raw=issued.raw)
    other = services.credential_issue(terminal=factories.terminal(), actor=None)
    assert services.credential_authenticate(raw=other.raw) == other.credential.terminal
