"""The visit lifecycle and signed completion, in-process (the card signs as the agent would)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from madoguchi.desk import services
from madoguchi.desk.constants import AgentEventKind, ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from tests import cardkit, checklistkit
from tests.visits import commit, commit_at_once, sign_completion, start_visit

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN


def prepare(desk, account="PAY-A-0001", points=5000):
    return services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": account, "points": points}
    )


def refused(desk, token, nonce, code):
    with pytest.raises(Refusal) as exc:
        services.completion_commit(desk_session=desk, token=token, nonce=nonce)
    assert exc.value.code == code, exc.value
    assert exc.value.message_ja
    assert exc.value.message_en
    return exc.value


def assert_nothing_committed():
    assert not Completion.objects.exists()
    assert not Procedure.objects.filter(status=ProcedureStatus.COMMITTED).exists()


def test_happy_path_commits_what_the_visits_card_signed(trusted, desk):
    a = trusted.card("A")
    visit = start_visit(desk, a)
    assert visit.certificate.fingerprint == cardkit.fingerprint(a)
    p = prepare(desk)
    completion = commit(desk, a)
    p.refresh_from_db()
    assert p.status == ProcedureStatus.COMMITTED
    assert p.completion == completion
    # The stored evidence is exactly what the card signed over.
    assert b'"account":"PAY-A-0001"' in bytes(completion.transaction_bytes)
    assert completion.certificate == visit.certificate


def test_sakai_b_application_in_a_visit_signed_by_b_commits_nothing(trusted, desk):
    """The seed's incident: A's visit never ended, B's application keyed in, B's card signs."""
    a, b = trusted.card("A"), trusted.card("B")
    visit = start_visit(desk, a)
    prepare(desk, account="PAY-B-0002")
    ch, token = sign_completion(desk, b)
    err = refused(desk, token, ch.nonce.value, "certificate_mismatch")
    assert "カード" in err.message_ja
    assert_nothing_committed()
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.COMPLETION_REFUSED
    incident = Incident.objects.get(kind="completion_refused")
    assert incident.reason_code == "certificate_mismatch"
    assert incident.visit == visit
    # No procedure can be prepared again without a new card authentication.
    with pytest.raises(Refusal) as exc:
        prepare(desk)
    assert exc.value.code == "no_open_visit"


def test_card_swapped_mid_visit_ends_it(trusted, desk):
    a, b = trusted.card("A"), trusted.card("B")
    visit = start_visit(desk, a)
    prepare(desk)
    services.agent_event(
        terminal=desk.terminal,
        kind=AgentEventKind.INSERTED,
        cert_fingerprint=cardkit.fingerprint(b),
    )
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_SWAPPED
    assert Incident.objects.filter(kind="card_swapped", visit=visit).exists()
    assert Incident.objects.filter(kind="visit_ended_with_pending", visit=visit).exists()
    assert services.visit_current(desk_session=desk) is None


def test_card_removal_reported_by_agent_ends_the_visit(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    services.agent_event(terminal=desk.terminal, kind=AgentEventKind.REMOVED, cert_fingerprint=None)
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_REMOVED


def test_presence_keeps_the_visit_alive_and_its_absence_ends_it(trusted, desk, settings):
    a = trusted.card("A")
    visit = start_visit(desk, a)
    Visit.objects.filter(pk=visit.pk).update(
        last_presence_at=timezone.now()
        - timedelta(seconds=settings.VISIT_PRESENCE_TIMEOUT_SECONDS - 1)
    )
    services.agent_event(
        terminal=desk.terminal,
        kind=AgentEventKind.PRESENCE,
        cert_fingerprint=cardkit.fingerprint(a),
    )
    assert services.visit_current(desk_session=desk) is not None
    Visit.objects.filter(pk=visit.pk).update(
        last_presence_at=timezone.now()
        - timedelta(seconds=settings.VISIT_PRESENCE_TIMEOUT_SECONDS + 1)
    )
    assert services.visit_current(desk_session=desk) is None
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.PRESENCE_LOST
    # Ended at the moment presence lapsed, not when somebody next looked.
    assert visit.ended_at < timezone.now() - timedelta(seconds=0.5)


def test_transaction_changed_after_signing_commits_nothing(trusted, desk):
    a = trusted.card("A")
    start_visit(desk, a)
    p = prepare(desk, points=5000)
    ch, token = sign_completion(desk, a)
    Procedure.objects.filter(pk=p.pk).update(fields={"account": "PAY-A-0001", "points": 15000})
    refused(desk, token, ch.nonce.value, "transaction_changed")
    assert_nothing_committed()


def test_procedure_added_after_signing_commits_nothing(trusted, desk):
    a = trusted.card("A")
    start_visit(desk, a)
    prepare(desk)
    ch, token = sign_completion(desk, a)
    prepare(desk, account="PAY-X-9999")
    refused(desk, token, ch.nonce.value, "transaction_changed")
    assert_nothing_committed()


def test_replayed_token_is_refused(trusted, desk):
    """The same request again gets its completion back (a client's retry after a lost answer,
    tests/desk/test_completion_retry.py); the token with another challenge's second token is
    a replay of a used challenge."""
    a = trusted.card("A")
    start_visit(desk, a)
    prepare(desk)
    ch, token = sign_completion(desk, a)
    first = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value) == first
    with pytest.raises(Refusal) as exc:
        services.completion_commit(
            desk_session=desk, token=token, nonce=ch.nonce.value, second_token=token
        )
    assert exc.value.code == "nonce_used"
    assert Completion.objects.count() == 1


def test_nonce_from_another_terminal_is_refused(trusted, desk, other_desk):
    a = trusted.card("A")
    start_visit(desk, a)
    start_visit(other_desk, trusted.card("C"))
    prepare(desk)
    prepare(other_desk)
    ch_other, _ = sign_completion(other_desk, trusted.card("C"))
    checklistkit.tick_before(desk)
    token = cardkit.completion_token(
        a,
        ORIGIN,
        ch_other.nonce.value,
        services.completion_challenge(desk_session=desk).transaction_bytes,
    )
    refused(desk, token, ch_other.nonce.value, "nonce_other_session")
    assert_nothing_committed()


def test_expired_nonce_is_refused(trusted, desk):
    a = trusted.card("A")
    start_visit(desk, a)
    prepare(desk)
    ch, token = sign_completion(desk, a)
    from madoguchi.identity.models import Nonce

    Nonce.objects.filter(pk=ch.nonce.pk).update(
        issued_at=timezone.now() - timedelta(minutes=10),
        expires_at=timezone.now() - timedelta(minutes=5),
    )
    refused(desk, token, ch.nonce.value, "nonce_expired")
    assert_nothing_committed()


def test_visit_ended_by_inactivity_then_completion(trusted, desk, settings):
    a = trusted.card("A")
    visit = start_visit(desk, a)
    prepare(desk)
    ch, token = sign_completion(desk, a)
    Visit.objects.filter(pk=visit.pk).update(
        last_activity_at=timezone.now() - timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS + 1)
    )
    refused(desk, token, ch.nonce.value, "visit_ended")
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.INACTIVITY
    assert_nothing_committed()


def test_absolute_limit_ends_the_visit(trusted, desk, settings):
    visit = start_visit(desk, trusted.card("A"))
    Visit.objects.filter(pk=visit.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.VISIT_ABSOLUTE_SECONDS + 1)
    )
    assert services.visit_current(desk_session=desk) is None
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.ABSOLUTE_LIMIT


def test_authentication_token_cannot_be_used_as_completion(trusted, desk):
    a = trusted.card("A")
    start_visit(desk, a)
    prepare(desk)
    checklistkit.tick_before(desk)
    ch = services.completion_challenge(desk_session=desk)
    token = cardkit.auth_token(a, ORIGIN, ch.nonce.value)
    refused(desk, token, ch.nonce.value, "unknown_format")
    assert_nothing_committed()


def test_completion_without_a_card_token(trusted, desk):
    start_visit(desk, trusted.card("A"))
    prepare(desk)
    checklistkit.tick_before(desk)
    ch = services.completion_challenge(desk_session=desk)
    refused(desk, "", ch.nonce.value, "token_too_short")


def test_next_resident_ends_visit_and_it_cannot_resume(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    assert services.visit_current(desk_session=desk) is None
    with pytest.raises(Refusal):
        prepare(desk)


def test_sign_out_ends_the_open_visit(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    terminal_services.desk_session_close(
        session=desk, reason=DeskSessionCloseReason.SIGNED_OUT, actor=None
    )
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.DESK_SESSION_CLOSED


def test_new_card_authentication_supersedes_the_open_visit(trusted, desk):
    first = start_visit(desk, trusted.card("A"))
    second = start_visit(desk, trusted.card("B"))
    first.refresh_from_db()
    assert first.end_reason == VisitEndReason.SUPERSEDED
    assert second.is_open
    assert second.holder != first.holder


def test_same_card_is_the_same_holder(trusted, desk):
    first = start_visit(desk, trusted.card("A"))
    services.visit_end(visit=first, reason=VisitEndReason.NEXT_RESIDENT)
    second = start_visit(desk, trusted.card("A"))
    assert second.holder == first.holder


def test_revoked_card_cannot_start_a_visit(trusted, desk, tmp_path):
    from madoguchi.identity import services as identity
    from tests.cardkit import make_pki

    pki = make_pki(tmp_path)
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    c = pki.card("C")
    serial = c.auth_certificate.serial_number
    pki.ca.revoke(serial)
    identity.crl_import(data=pki.ca.crl_pem())
    nonce = services.auth_challenge(desk_session=desk).value
    with pytest.raises(Refusal) as exc:
        services.visit_start(
            desk_session=desk, token=cardkit.auth_token(c, ORIGIN, nonce), nonce=nonce
        )
    assert exc.value.code == "certificate_revoked"
    assert Incident.objects.filter(
        kind="visit_start_refused", reason_code="certificate_revoked"
    ).exists()


def test_a_card_revoked_after_it_was_validated_is_refused_at_its_next_visit(desk, tmp_path):
    # The validator is kept per trust state and remembers per certificate what does not change
    # (issue 15, seventh round); a new CRL is a new trust state, checked in full at once.
    from madoguchi.identity import services as identity
    from tests.cardkit import make_pki

    pki = make_pki(tmp_path)
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    card = pki.card("C")
    first = start_visit(desk, card)
    assert identity.build_validator() is identity.build_validator()  # kept while unchanged
    services.visit_end(visit=first, reason=VisitEndReason.NEXT_RESIDENT)
    before = identity.build_validator()
    pki.ca.revoke(card.auth_certificate.serial_number)
    identity.crl_import(data=pki.ca.crl_pem())
    assert identity.build_validator() is not before
    with pytest.raises(Refusal) as exc:
        start_visit(desk, card)
    assert exc.value.code == "certificate_revoked"


def test_untrusted_ca_cannot_start_a_visit(db, pki, desk):
    from madoguchi.card.testca import TestCA
    from madoguchi.identity import services as identity

    other = TestCA.load_or_create(pki.ca.directory.parent / "other-ca")
    identity.trust_anchor_add(pem=other.certificates_pem())
    nonce = services.auth_challenge(desk_session=desk).value
    with pytest.raises(Refusal) as exc:
        services.visit_start(
            desk_session=desk, token=cardkit.auth_token(pki.card("A"), ORIGIN, nonce), nonce=nonce
        )
    assert exc.value.code == "ca_not_trusted"


@pytest.mark.django_db(transaction=True)
def test_two_completions_racing_at_most_one_succeeds(pki):
    from madoguchi.identity import services as identity
    from tests import factories

    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    a = pki.card("A")
    start_visit(desk, a)
    prepare(desk)
    signed = [(desk, *sign_completion(desk, a)) for _ in range(2)]
    results = commit_at_once(signed)
    wins = [r for r in results if isinstance(r, Completion)]
    assert len(wins) == 1, results
    assert Completion.objects.count() == 1
    assert Procedure.objects.filter(status=ProcedureStatus.COMMITTED).count() == 1


def test_a_late_report_from_before_the_visit_does_not_end_it(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    before = visit.started_at - timedelta(seconds=1)
    ended = services.agent_event(
        terminal=desk.terminal,
        kind=AgentEventKind.PRESENCE,
        cert_fingerprint=None,
        observed_at=before,
    )
    assert ended is None
    assert services.visit_current(desk_session=desk) is not None
    services.agent_event(
        terminal=desk.terminal,
        kind=AgentEventKind.REMOVED,
        cert_fingerprint=None,
        observed_at=timezone.now(),
    )
    assert services.visit_current(desk_session=desk) is None


def test_a_presence_report_touches_only_the_open_visit_of_its_card_in_one_statement(
    trusted, desk, settings
):
    """The presence report's one-statement path (issue 15: written as SQL once): the visit's own
    card, reported now, moves its presence time in one statement; another card's report, one
    from before the visit started, or one for a visit past a limit never touches it that way
    (the locked path then decides: swapped, ignored, lapsed)."""
    from django.test.utils import CaptureQueriesContext

    # A limit far above any pause a loaded machine makes between two lines, and a presence
    # time half of it ago: stale enough to be moved, and still inside the limit when reported.
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = 120
    a, b = trusted.card("A"), trusted.card("B")
    visit = start_visit(desk, a)
    old = timezone.now() - timedelta(seconds=settings.VISIT_PRESENCE_TIMEOUT_SECONDS // 2)
    Visit.objects.filter(pk=visit.pk).update(last_presence_at=old)

    def report(card, observed_at=None):
        return services.agent_event(
            terminal=desk.terminal,
            kind=AgentEventKind.PRESENCE,
            cert_fingerprint=cardkit.fingerprint(card),
            observed_at=observed_at,
        )

    with CaptureQueriesContext(connection) as queries:
        assert report(a) is None
    assert len(queries) == 1
    visit.refresh_from_db()
    assert visit.last_presence_at > old
    assert visit.ended_at is None

    # Reported as seen before the visit started: not this visit's presence.
    Visit.objects.filter(pk=visit.pk).update(last_presence_at=old)
    assert report(a, observed_at=visit.started_at - timedelta(seconds=1)) is None
    visit.refresh_from_db()
    assert visit.last_presence_at == old
    assert visit.ended_at is None

    # Idle past the inactivity limit: not touched, ended as lapsed.
    Visit.objects.filter(pk=visit.pk).update(
        last_activity_at=timezone.now() - timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS + 1)
    )
    report(a)
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.INACTIVITY

    # Another card on the reader: the visit ends as swapped, its presence time untouched.
    visit = start_visit(desk, a)
    Visit.objects.filter(pk=visit.pk).update(last_presence_at=old)
    assert report(b) == visit
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_SWAPPED
    assert visit.last_presence_at == old


def test_a_late_presence_report_never_moves_the_presence_time_backwards(trusted, desk):
    """Two presence reports race: the one whose clock read came later is applied first, the
    other (its `now` earlier, its statement waiting on the row) after it. The presence time
    stays the newer one, on the one-statement path and on the locked path of a handover: time
    going backwards would lapse the visit early."""
    a = trusted.card("A")
    visit = start_visit(desk, a)
    newer = timezone.now() + timedelta(seconds=5)  # applied by the report that read its clock later
    Visit.objects.filter(pk=visit.pk).update(last_presence_at=newer)

    def report():
        return services.agent_event(
            terminal=desk.terminal,
            kind=AgentEventKind.PRESENCE,
            cert_fingerprint=cardkit.fingerprint(a),
        )

    assert report() is None
    visit.refresh_from_db()
    assert visit.ended_at is None
    assert visit.last_presence_at == newer

    services.visit_handover_start(desk_session=desk)  # presence reports take the locked path
    Visit.objects.filter(pk=visit.pk).update(last_presence_at=newer)
    assert report() is None
    visit.refresh_from_db()
    assert visit.ended_at is None
    assert visit.last_presence_at == newer


def test_a_challenge_posted_from_another_desk_is_not_spent(trusted, desk, other_desk):
    """Another desk session posting desk X's challenge is refused and recorded, and spends
    nothing: it was marked used before the session was checked, so X's genuine completion was
    then refused as a replay (`nonce_used`), ending X's visit with an incident blaming X."""
    a = trusted.card("A")
    start_visit(desk, a)
    start_visit(other_desk, trusted.card("C"))
    prepare(desk)
    ch, token = sign_completion(desk, a)
    refused(other_desk, token, ch.nonce.value, "nonce_other_session")
    assert Incident.objects.filter(
        reason_code="nonce_other_session", terminal=other_desk.terminal
    ).exists()
    completion = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert completion.visit.terminal == desk.terminal
    assert Completion.objects.count() == 1
