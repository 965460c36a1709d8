"""The agent's presence report over the API: its credential checked in the same statement that
touches the visit (issue 15, seventh round), and refused on the very next report once the
credential is revoked or the terminal disabled; anything else takes the path it took before.
The card removal likewise checks its credential in the open visit's locked read (ninth round)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from madoguchi.audit.events import TERMINALS_CREDENTIAL_REJECTED
from madoguchi.audit.models import AuditEvent
from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.events import VISITS_CARD_REMOVED
from madoguchi.desk.models import Visit
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import Terminal, TerminalCredential
from tests import cardkit
from tests.visits import ORIGIN, start_visit

URL = "/api/v1/agent/events"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    # Room for a loaded machine between marking the presence old and the next report.
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = 120


def _report(raw, card, kind="presence", at=None):
    body = {"kind": kind, "cert_fingerprint": cardkit.fingerprint(card).upper()}
    if at is not None:
        body["at"] = at
    return Client().post(
        URL, body, content_type="application/json", headers={"authorization": f"Bearer {raw}"}
    )


def _stale(visit):
    old = timezone.now() - timedelta(seconds=settings.VISIT_PRESENCE_TIMEOUT_SECONDS // 2)
    Visit.objects.filter(pk=visit.pk).update(last_presence_at=old)
    return old


def _audited(event):
    return AuditEvent.objects.filter(event_name=event.name).count()


def _rejections():
    return _audited(TERMINALS_CREDENTIAL_REJECTED)


def _open(trusted, desk):
    """Resident A's card, the terminal's agent credential, and A's visit on the desk."""
    a = trusted.card("A")
    raw = terminal_services.credential_issue(terminal=desk.terminal, actor=None).raw
    return a, raw, start_visit(desk, a)


def test_a_presence_report_is_one_statement_with_its_credential(trusted, desk):
    a, raw, visit = _open(trusted, desk)
    old = _stale(visit)
    with CaptureQueriesContext(connection) as queries:
        assert _report(raw, a).status_code == 204
    assert len(queries) == 1, [q["sql"] for q in queries]
    visit.refresh_from_db()
    assert visit.last_presence_at > old
    assert visit.ended_at is None


def _refuse(how, raw, other, desk):
    """Make the terminal's credential `raw` refused as `how` says; the credential to present."""
    prefix = raw.split("_", 2)[1]
    if how == "revoked":  # the row alone (revoking through the service also ends the visit)
        TerminalCredential.objects.filter(prefix=prefix).update(revoked_at=timezone.now())
    elif how == "wrong secret":
        return raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")
    elif how == "terminal disabled":
        Terminal.objects.filter(pk=desk.terminal.pk).update(is_active=False)
    else:  # a valid credential of another terminal reports this visit's card
        return other
    return raw


@pytest.mark.parametrize("how", ["revoked", "wrong secret", "terminal disabled", "other terminal"])
def test_a_refused_credential_is_refused_on_the_very_next_report(trusted, desk, other_desk, how):
    a, raw, visit = _open(trusted, desk)
    other = terminal_services.credential_issue(terminal=other_desk.terminal, actor=None).raw
    assert _report(raw, a).status_code == 204
    old = _stale(visit)
    rejections = _rejections()
    r = _report(_refuse(how, raw, other, desk), a)
    if how == "other terminal":
        assert r.status_code == 204
    else:
        assert r.status_code == 401
    visit.refresh_from_db()
    assert visit.last_presence_at == old
    assert visit.ended_at is None
    # The refusal is audited as before (a disabled terminal's valid credential is not).
    expected = 1 if how in ("revoked", "wrong secret") else 0
    assert _rejections() == rejections + expected


def test_other_reports_take_the_path_they_took_before(trusted, desk):
    a, b = trusted.card("A"), trusted.card("B")
    raw = terminal_services.credential_issue(terminal=desk.terminal, actor=None).raw
    visit = start_visit(desk, a)
    old = _stale(visit)
    # Seen before the visit started: answered, not this visit's presence.
    before = (visit.started_at - timedelta(seconds=1)).isoformat()
    assert _report(raw, a, at=before).status_code == 204
    visit.refresh_from_db()
    assert visit.last_presence_at == old
    # A malformed time: refused as malformed, nothing touched.
    r = _report(raw, a, at="yesterday")
    assert r.status_code == 422
    assert r.json()["code"] == "malformed_request"
    visit.refresh_from_db()
    assert visit.last_presence_at == old
    # A time without a zone is UTC; a report seen now touches the visit.
    now = timezone.now().replace(tzinfo=None).isoformat()
    assert _report(raw, a, at=now).status_code == 204
    visit.refresh_from_db()
    assert visit.last_presence_at > old
    # Another card in the reader ends the visit as swapped.
    assert _report(raw, b).status_code == 204
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_SWAPPED
    # No open visit: answered, nothing to touch; a removal too.
    assert _report(raw, a).status_code == 204
    assert _report(raw, a, kind="removed").status_code == 204
    # Not an event: refused by the schema, as before.
    assert _report(raw, a, kind="bogus").status_code == 422


def _removals():
    return _audited(VISITS_CARD_REMOVED)


def test_a_removal_checks_its_credential_in_the_visits_locked_read(trusted, desk):
    a, raw, visit = _open(trusted, desk)
    removals = _removals()
    with CaptureQueriesContext(connection) as queries:
        assert _report(raw, a, kind="removed").status_code == 204
    credential_reads = [q["sql"] for q in queries if "terminals_terminalcredential" in q["sql"]]
    # One statement reads the credential, and it is the visit's locked read (no lookup of its own).
    assert len(credential_reads) == 1, credential_reads
    assert '"desk_visit"' in credential_reads[0]
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in credential_reads[0]
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_REMOVED
    assert _removals() == removals + 1


@pytest.mark.parametrize("how", ["revoked", "wrong secret", "terminal disabled", "other terminal"])
def test_a_refused_credential_is_refused_on_the_very_next_removal(trusted, desk, other_desk, how):
    a, raw, visit = _open(trusted, desk)
    other = terminal_services.credential_issue(terminal=other_desk.terminal, actor=None).raw
    assert _report(raw, a).status_code == 204
    rejections, removals = _rejections(), _removals()
    r = _report(_refuse(how, raw, other, desk), a, kind="removed")
    visit.refresh_from_db()
    assert visit.ended_at is None  # this terminal's visit stays open
    if how == "other terminal":  # answered for the other terminal, which has no open visit
        assert r.status_code == 204
        assert _removals() == removals + 1
    else:
        assert r.status_code == 401
        assert _removals() == removals
    expected = 1 if how in ("revoked", "wrong secret") else 0
    assert _rejections() == rejections + expected


def test_a_removal_without_an_open_visit_or_seen_before_it_takes_the_path_it_took_before(
    trusted, desk
):
    a = trusted.card("A")
    raw = terminal_services.credential_issue(terminal=desk.terminal, actor=None).raw
    reported = []

    def receiver(**kwargs):
        reported.append(kwargs["kind"])

    services.card_reported.connect(receiver)
    try:
        # No open visit: answered, audited, passed on (the card may be bound to another page).
        removals = _removals()
        assert _report(raw, a, kind="removed").status_code == 204
        assert _removals() == removals + 1
        assert reported == ["removed"]
        # Seen before the visit started: audited, not applied to the visit.
        visit = start_visit(desk, a)
        before = (visit.started_at - timedelta(seconds=1)).isoformat()
        assert _report(raw, a, kind="removed", at=before).status_code == 204
        visit.refresh_from_db()
        assert visit.ended_at is None
        assert _removals() == removals + 2
        assert reported == ["removed"]
        # Lapsed by now: ended for its lapse, not the removal, and passed on.
        _stale(visit)
        Visit.objects.filter(pk=visit.pk).update(
            last_presence_at=timezone.now()
            - timedelta(seconds=settings.VISIT_PRESENCE_TIMEOUT_SECONDS + 1)
        )
        assert _report(raw, a, kind="removed").status_code == 204
        visit.refresh_from_db()
        assert visit.end_reason == VisitEndReason.PRESENCE_LOST
        assert reported == ["removed", "removed"]
    finally:
        services.card_reported.disconnect(receiver)


@pytest.mark.parametrize(
    ("kind", "fingerprint"),
    [("inserted", "123456789012"), ("presence", "not-a-fingerprint"), ("removed", "ab" * 33)],
)
def test_a_fingerprint_that_is_not_one_is_refused_naming_the_field(
    trusted, desk, kind, fingerprint
):
    """Side doors round 8: the card agent's `cert_fingerprint` went into the audit event of a
    card inserted or removed as sent, and twelve digits (which the audit log refuses as an
    individual number) made the report a server error, rolling back the visit's end. Anything
    but 64 hexadecimal digits (or 32 pairs with colons) is a 422 naming the field, and the
    visit is left as it was; a real fingerprint, in either case, is taken."""
    a, raw, visit = _open(trusted, desk)
    r = Client().post(
        URL,
        {"kind": kind, "cert_fingerprint": fingerprint},
        content_type="application/json",
        headers={"authorization": f"Bearer {raw}"},
    )
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "malformed_request"
    assert "cert_fingerprint" in r.json()["message"]
    visit.refresh_from_db()
    assert visit.ended_at is None
    colons = ":".join(cardkit.fingerprint(a)[i : i + 2] for i in range(0, 64, 2))
    assert _report(raw, a).status_code == 204
    r = Client().post(
        URL,
        {"kind": "presence", "cert_fingerprint": colons},
        content_type="application/json",
        headers={"authorization": f"Bearer {raw}"},
    )
    assert r.status_code == 204, r.content
