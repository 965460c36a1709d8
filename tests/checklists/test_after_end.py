"""The after-completion checklist of a visit that ended right after the PIN.

Residents take the card back as soon as the PIN is typed: the visit ends, and its receipt is
still shown from the ended page until the next visit starts. Its after-completion items ("the
receipt was handed over") could no longer be ticked, so an incident of unticked items was
recorded at once although staff did hand the receipt over. They can now be ticked from the
ended page by the receipt's rule (this desk session's latest visit, until the next starts),
audited; what stays unticked becomes the incident when the desk moves on: the next visit
starts, the desk session closes, or the sweeper finds the desk left longer than a sign-in lasts.
"""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from madoguchi.audit.selectors import events_for_subject
from madoguchi.checklists import services
from madoguchi.checklists.constants import Stage
from madoguchi.checklists.events import CHECKLISTS_TICKED
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Visit
from madoguchi.desk.sweep import sweep
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from tests.incidents.conftest import login_at_desk
from tests.visits import commit

from .test_services import prepare, start


def _after_codes(visit):
    return {i.code for i in services.items_for(visit, Stage.AFTER_COMPLETION)}


def card_taken_after_the_pin(trusted, desk, card="A"):
    """A visit whose completion committed, then the resident took the card back."""
    c = trusted.card(card)
    visit = start(desk, c)
    prepare(desk)
    commit(desk, c)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    visit.refresh_from_db()
    return visit


def unticked(visit):
    return Incident.objects.filter(kind=IncidentKind.CHECKLIST_UNTICKED, visit=visit)


def test_items_ticked_after_the_card_was_taken_back_record_no_incident(trusted, desk):
    visit = card_taken_after_the_pin(trusted, desk)
    # The end alone records nothing yet: the desk may still tick them.
    assert not unticked(visit).exists()
    assert services.ended_open_to_ticks(desk) == visit
    rows = services.tick_after_end(desk_session=desk, codes=_after_codes(visit), staff=desk.staff)
    assert {r.item.code for r in rows} == _after_codes(visit) != set()
    ticked = events_for_subject(visit).filter(event_id=CHECKLISTS_TICKED.id)
    assert {e.payload["item"] for e in ticked} >= _after_codes(visit)
    start(desk, trusted.card("B"))  # the desk moves on
    assert not unticked(visit).exists()
    # Once the next visit started, the ended visit is not ticked any more, saying why.
    with pytest.raises(Refusal) as exc:
        services.tick_after_end(desk_session=desk, codes=set(), staff=desk.staff)
    assert exc.value.code == "visit_open"


def test_items_left_unticked_become_the_incident_when_the_next_visit_starts(trusted, desk):
    visit = card_taken_after_the_pin(trusted, desk)
    services.tick_after_end(desk_session=desk, codes={"receipt_handed"}, staff=desk.staff)
    assert not unticked(visit).exists()
    nxt = start(desk, trusted.card("B"))
    incident = unticked(visit).get()
    assert incident.detail["items"] == ["visit_ended"]
    assert incident.detail["end_reason"] == VisitEndReason.CARD_REMOVED
    desk_services.visit_end(visit=nxt, reason=VisitEndReason.CARD_REMOVED)
    start(desk, trusted.card("C"))
    assert unticked(visit).count() == 1  # once


def test_the_next_start_reads_the_ended_visit_with_sql_compiled_once(trusted, desk):
    """The settling read runs on every visit's start: once warm, it compiles no query (issue
    15, fifteenth round: the ORM built and compiled it, four tables and a subquery, on every
    start), and it still finds the ended visit, locked, with whether its incident is recorded."""
    from django.db import transaction

    from tests.compiling import compiled_queries

    visit = card_taken_after_the_pin(trusted, desk)
    with transaction.atomic():
        services._latest_visit_locked(desk)  # warm
        with compiled_queries() as compiled:
            latest = services._latest_visit_locked(desk)
    assert compiled == []
    assert latest == visit
    assert latest.ended_at is not None
    assert latest.unticked_recorded is False
    assert latest.terminal.pk == desk.terminal_id
    assert latest.staff.pk == desk.staff_id
    start(desk, trusted.card("B"))
    assert unticked(visit).count() == 1
    with transaction.atomic():
        latest = services._latest_visit_locked(desk)
    assert latest != visit
    assert latest.unticked_recorded is False


def test_items_left_unticked_become_the_incident_when_the_desk_session_closes(trusted, desk):
    visit = card_taken_after_the_pin(trusted, desk)
    terminal_services.desk_session_close(
        session=desk, reason=DeskSessionCloseReason.SIGNED_OUT, actor=desk.staff
    )
    assert set(unticked(visit).get().detail["items"]) == _after_codes(visit)
    with pytest.raises(Refusal) as exc:
        services.tick_after_end(desk_session=desk, codes=_after_codes(visit), staff=desk.staff)
    assert exc.value.code == "visit_not_shown"


def test_the_sweeper_records_them_once_the_desk_was_left_longer_than_a_sign_in(
    trusted, desk, settings
):
    visit = card_taken_after_the_pin(trusted, desk)
    sweep()
    assert not unticked(visit).exists()
    later = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    # The desk's browser still making requests (else the idle limit closes it first, below).
    type(desk).objects.filter(pk=desk.pk).update(last_seen_at=later)
    sweep(later)
    assert unticked(visit).count() == 1
    with pytest.raises(Refusal) as exc:
        services.tick_after_end(desk_session=desk, codes=_after_codes(visit), staff=desk.staff)
    assert exc.value.code == "visit_settled"


def test_an_end_by_the_next_resident_button_still_records_at_once(trusted, desk):
    """Staff ended the visit with its after-completion form: what is unticked stays so."""
    c = trusted.card("A")
    visit = start(desk, c)
    prepare(desk)
    commit(desk, c)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    assert unticked(visit).exists()
    with pytest.raises(Refusal) as exc:
        services.tick_after_end(desk_session=desk, codes=_after_codes(visit), staff=desk.staff)
    assert exc.value.code == "visit_settled"


def test_before_items_are_never_ticked_after_the_end(trusted, desk):
    """Only after-completion items: a completion still cannot commit with before-items
    unticked, and the ended visit's before-items are not touched."""
    visit = card_taken_after_the_pin(trusted, desk)
    before = {i.code for i in services.items_for(visit, Stage.BEFORE_COMPLETION)}
    rows = services.tick_after_end(desk_session=desk, codes=before, staff=desk.staff)
    assert rows == []


@pytest.mark.parametrize("page", ["desk:ended", "desk:ended_receipt"])
def test_the_ended_pages_let_staff_tick_the_ended_visits_after_items(client, trusted, desk, page):
    visit = card_taken_after_the_pin(trusted, desk)
    login_at_desk(client, desk)
    html = client.get(reverse(page), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="ended-checklist"' in html
    assert "控え（受付票）を来庁者に渡した" in html
    assert "次の受付が始まるまで" in html
    assert f'name="visit" value="{visit.reference}"' in html
    response = client.post(
        reverse("desk:ended_checklist"),
        {
            "visit": visit.reference,
            "item": sorted(_after_codes(visit)),
            **({"next": "receipt"} if "receipt" in page else {}),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(page)
    assert not services.missing(Visit.objects.get(pk=visit.pk), Stage.AFTER_COMPLETION)
    start(desk, trusted.card("B"))
    assert not unticked(visit).exists()
    # The next visit started: its pages show no ended visit's checklist.
    assert client.get(reverse("desk:ended")).status_code == 302
    refused = client.post(
        reverse("desk:ended_checklist"), {"visit": visit.reference, "item": ["receipt_handed"]}
    )
    assert refused["Location"] == reverse("desk:ended")


@pytest.fixture
def no_visit_lapse(settings):
    """Visit lapses beyond the staff idle limit: the desk session's close ends the visit."""
    for name in ("VISIT_PRESENCE_TIMEOUT_SECONDS", "VISIT_INACTIVITY_SECONDS"):
        setattr(settings, name, settings.STAFF_IDLE_SECONDS * 4)
    settings.VISIT_ABSOLUTE_SECONDS = settings.STAFF_IDLE_SECONDS * 8


def _idle_now(settings, seen=None):
    return (seen or timezone.now()) + timedelta(seconds=settings.STAFF_IDLE_SECONDS + 60)


def test_the_sweeper_closes_a_desk_whose_browser_never_came_back(
    trusted, desk, settings, no_visit_lapse
):
    """A desk session whose browser never came back stayed open, with its visit and what it
    held, until the next sign-in on the terminal: the sweeper closes it once idle beyond the
    staff idle limit, audited, and its open visit ends with the incident of pending work."""
    from madoguchi.audit.models import AuditEvent
    from tests.lockorder import LockOrder

    c = trusted.card("A")
    visit = start(desk, c)
    prepare(desk)
    sweep(timezone.now() + timedelta(seconds=settings.STAFF_IDLE_SECONDS - 60))
    desk.refresh_from_db()
    assert desk.closed_at is None  # not idle long enough yet
    with LockOrder() as order:
        sweep(_idle_now(settings))
    order.assert_rows_before_audit()
    desk.refresh_from_db()
    visit.refresh_from_db()
    assert desk.close_reason == DeskSessionCloseReason.IDLE
    assert visit.ended_at is not None
    # It said "staff signed out" though nobody signed out: the sign-in was closed for inactivity.
    assert visit.end_reason == VisitEndReason.DESK_SESSION_IDLE
    pending = Incident.objects.get(kind=IncidentKind.VISIT_ENDED_WITH_PENDING, visit=visit)
    assert pending.detail["pending"] == ["test_link"]
    from django.utils import translation

    from madoguchi.incidents.text import incident_text

    with translation.override("ja"):
        said = incident_text(pending)
    assert "一定時間操作がなかったため、職員のサインインを終了しました" in said
    assert "サインアウトしました" not in said
    with translation.override("en"):
        said = incident_text(pending)
    assert "the staff sign-in was closed for inactivity" in said
    assert "signed out" not in said
    closed = AuditEvent.objects.get(event_name="terminals.desk_session_closed")
    assert closed.payload["reason"] == "idle"
    assert closed.payload["idle_seconds"] == settings.STAFF_IDLE_SECONDS
    assert not closed.actor_id  # the sweeper


def test_the_idle_desks_ended_visit_records_its_unticked_items(trusted, desk, settings):
    visit = card_taken_after_the_pin(trusted, desk)
    sweep(_idle_now(settings))
    desk.refresh_from_db()
    assert desk.close_reason == DeskSessionCloseReason.IDLE
    assert set(unticked(visit).get().detail["items"]) == _after_codes(visit)


def test_a_desk_whose_browser_keeps_asking_stays_open(trusted, desk, settings):
    """The staff session's last request (written at most once a minute) is the desk's too."""
    import time as wall

    from madoguchi.accounts import services as accounts

    # Signed in long ago: only the browser's requests since keep the desk open.
    long_ago = timezone.now() - timedelta(seconds=settings.STAFF_IDLE_SECONDS * 2)
    type(desk).objects.filter(pk=desk.pk).update(opened_at=long_ago)
    now = wall.time()
    session = {
        accounts.SIGNED_IN_AT: now - 120,
        accounts.SEEN_AT: now - 120,
        "desk_session_id": desk.pk,
    }
    assert accounts.session_check(session, now) is None
    desk.refresh_from_db()
    assert desk.last_seen_at is not None
    sweep(timezone.now() + timedelta(seconds=settings.STAFF_IDLE_SECONDS - 60))
    desk.refresh_from_db()
    assert desk.closed_at is None
    sweep(_idle_now(settings, desk.last_seen_at))
    desk.refresh_from_db()
    assert desk.close_reason == DeskSessionCloseReason.IDLE


def test_a_tab_left_on_an_ended_visits_page_ticks_nothing_on_a_later_one(client, trusted, desk):
    """The ended page lets staff tick the after-completion items of the visit that just ended,
    until the next visit starts. Kept open in a tab while the next resident's visit started and
    ended too, its form ticked the next visit's items: it acted on whichever visit had ended
    last. It carries the ended visit it was shown for now (docs/security.md, round 13)."""
    a = card_taken_after_the_pin(trusted, desk)
    login_at_desk(client, desk)
    page = client.get(reverse("desk:ended")).content.decode()
    assert f'name="visit" value="{a.reference}"' in page
    b = card_taken_after_the_pin(trusted, desk, card="B")
    codes = sorted(_after_codes(b))

    for sent in ({"visit": a.reference}, {}):
        r = client.post(reverse("desk:ended_checklist"), {**sent, "item": codes})
        assert r["Location"] == reverse("desk:ended")
        said = " ".join(str(m) for m in get_messages(r.wsgi_request))
        assert "この画面は前の来庁のものです" in said
    assert services.missing(Visit.objects.get(pk=b.pk), Stage.AFTER_COMPLETION)

    client.post(reverse("desk:ended_checklist"), {"visit": b.reference, "item": codes})
    assert not services.missing(Visit.objects.get(pk=b.pk), Stage.AFTER_COMPLETION)


def test_the_ended_visit_a_form_was_shown_for_is_compared_under_the_lock(trusted, desk):
    """The ended page's form for A, sent after B's visit started and ended in turn (between
    the page's early check and the tick): refused under the lock, nothing ticked on B's."""
    a = card_taken_after_the_pin(trusted, desk, "A")
    b = card_taken_after_the_pin(trusted, desk, "B")
    ticks = events_for_subject(b).filter(event_id=CHECKLISTS_TICKED.id)
    before = ticks.count(), b.checklist_ticks.count()
    with pytest.raises(Refusal) as exc:
        services.tick_after_end(
            desk_session=desk, codes=_after_codes(b), staff=desk.staff, expected_visit=a.reference
        )
    assert exc.value.code == "visit_changed"
    assert (ticks.count(), b.checklist_ticks.count()) == before
    rows = services.tick_after_end(
        desk_session=desk, codes=_after_codes(b), staff=desk.staff, expected_visit=b.reference
    )
    assert {r.item.code for r in rows} == _after_codes(b) != set()
