"""Probe F: what ended before midnight is in that day's report, though it is recorded after it.

A visit that lapsed at 23:50 (the resident walked away) is ended by the sweeper's next round,
after midnight: the visit's end was back-dated to the lapse, but its incident was dated when it
was recorded, 00:10, and listed in the next day's report. The same for the items the desk's
last visit of the day left unticked, recorded when the sweeper moved the desk on. And a day's
report submitted before the sweeper's round was frozen without them, for good."""

from datetime import timedelta

from django.utils import timezone

from madoguchi.checklists import services as checklists
from madoguchi.checklists.constants import Stage
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import AgentEventKind, VisitEndReason
from madoguchi.desk.models import Completion, Visit
from madoguchi.desk.sweep import sweep
from madoguchi.incidents.models import Incident
from madoguchi.reports import services
from madoguchi.terminals.models import DeskSession
from tests.reports.conftest import commit_test_link, local, start_visit


def _walked_away_at_23_50(trusted, desk, day):
    """A visit with a procedure pending, its card gone from the reader at 23:50 on `day`."""
    visit = start_visit(desk, trusted.card("A"))
    desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-A-0001", "points": 100}
    )
    t = local(day, 23, 50)
    Visit.objects.filter(pk=visit.pk).update(started_at=t, last_activity_at=t, last_presence_at=t)
    return visit


def _kinds(report):
    return report["counts"]["incidents"]


def test_a_visit_that_lapsed_before_midnight_is_in_that_days_report(trusted, desk, at):
    today = timezone.localdate()
    day = today - timedelta(days=1)
    visit = _walked_away_at_23_50(trusted, desk, day)
    at(local(today, 0, 10))  # the sweeper's next round is after midnight
    sweep()
    visit.refresh_from_db()
    incident = Incident.objects.get(kind="visit_ended_with_pending")
    assert timezone.localdate(visit.ended_at) == day
    assert incident.occurred_at == visit.ended_at  # the lapse, not the sweeper's round
    assert _kinds(services.build_daily(desk.terminal, day)) == {"visit_ended_with_pending": 1}
    assert _kinds(services.build_daily(desk.terminal, today)) == {}


def _left_unticked_at_17_00(trusted, desk, day, today):
    """The day's last visit committed, the card taken back after the PIN (its receipt items
    unticked), the desk page left open overnight."""
    a = trusted.card("A")
    visit = start_visit(desk, a)
    commit_test_link(desk, a)
    desk_services.agent_event(
        terminal=desk.terminal, kind=AgentEventKind.REMOVED, cert_fingerprint=None
    )
    Visit.objects.filter(pk=visit.pk).update(
        started_at=local(day, 16, 50), last_activity_at=local(day, 16, 55), ended_at=local(day, 17)
    )
    Completion.objects.update(committed_at=local(day, 16, 55))
    DeskSession.objects.filter(pk=desk.pk).update(
        opened_at=local(day, 9), last_seen_at=local(today, 1, 25)
    )
    return visit


def test_the_last_visits_unticked_items_are_in_that_days_report(trusted, desk, at):
    today = timezone.localdate()
    day = today - timedelta(days=1)
    visit = _left_unticked_at_17_00(trusted, desk, day, today)
    at(local(today, 1, 30))  # a staff sign-in's lifetime after the visit's end
    sweep()
    incident = Incident.objects.get(kind="checklist_unticked")
    visit.refresh_from_db()
    assert incident.occurred_at == visit.ended_at
    assert _kinds(services.build_daily(desk.terminal, day)).get("checklist_unticked") == 1
    assert _kinds(services.build_daily(desk.terminal, today)) == {}


def test_submitting_a_day_first_records_what_the_sweeper_has_not_yet(trusted, desk, supervisor, at):
    """The report submitted at 00:05, before the sweeper's round: the lapse is applied and the
    incident frozen in the day's report (not recorded later, in no report at all)."""
    today = timezone.localdate()
    day = today - timedelta(days=1)
    visit = _walked_away_at_23_50(trusted, desk, day)
    at(local(today, 0, 5))
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    visit.refresh_from_db()
    assert visit.ended_at is not None
    assert timezone.localdate(visit.ended_at) == day
    assert _kinds(report.snapshot) == {"visit_ended_with_pending": 1}
    at(local(today, 0, 10))
    sweep()
    assert Incident.objects.count() == 1


def test_submitting_a_day_settles_its_last_visits_unticked_items(trusted, desk, supervisor, at):
    """The desk page still open the next morning, a staff sign-in's lifetime after its last
    visit's end (the sweeper would move it on now): submitting the day records its unticked
    items as the desk moving on would, in the frozen report."""
    today = timezone.localdate()
    day = today - timedelta(days=1)
    _left_unticked_at_17_00(trusted, desk, day, today)
    at(local(today, 1, 30))
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    assert _kinds(report.snapshot) == {"checklist_unticked": 1}


def test_submitting_a_day_does_not_cut_off_a_desk_still_ticking_its_2358_visit(
    trusted, desk, supervisor, at
):
    """The desk's last visit ended at 23:58; at 00:01 the supervisor submits the day from
    another office while its staff are about to tick the after-completion items: the
    submission settles only what the sweeper would now, so the tick at 00:02 is taken and no
    checklist_unticked incident is recorded."""
    today = timezone.localdate()
    day = today - timedelta(days=1)
    a = trusted.card("A")
    visit = start_visit(desk, a)
    commit_test_link(desk, a)
    desk_services.agent_event(
        terminal=desk.terminal, kind=AgentEventKind.REMOVED, cert_fingerprint=None
    )
    Visit.objects.filter(pk=visit.pk).update(
        started_at=local(day, 23, 50),
        last_activity_at=local(day, 23, 55),
        ended_at=local(day, 23, 58),
    )
    Completion.objects.update(committed_at=local(day, 23, 55))
    DeskSession.objects.filter(pk=desk.pk).update(
        opened_at=local(day, 9), last_seen_at=local(today, 0, 1)
    )
    at(local(today, 0, 1))
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    assert _kinds(report.snapshot) == {}
    at(local(today, 0, 2))
    codes = {i.code for i in checklists.items_for(visit, Stage.AFTER_COMPLETION)}
    checklists.tick_after_end(desk_session=desk, codes=codes, staff=desk.staff)
    assert not Incident.objects.filter(kind="checklist_unticked").exists()


def test_an_incident_recorded_later_for_a_visit_before_midnight_is_dated_at_its_end(
    trusted, desk, supervisor, at
):
    """The day submitted at 00:30, its desk's last visit (17:00) not yet past the sweeper's
    limit: the sweeper's later round records the unticked items dated at the visit's end, the
    submitted day, though its report was frozen without them."""
    today = timezone.localdate()
    day = today - timedelta(days=1)
    visit = _left_unticked_at_17_00(trusted, desk, day, today)
    at(local(today, 0, 30))
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    assert _kinds(report.snapshot) == {}
    at(local(today, 1, 30))
    sweep()
    incident = Incident.objects.get(kind="checklist_unticked")
    visit.refresh_from_db()
    assert incident.occurred_at == visit.ended_at
    assert timezone.localdate(incident.occurred_at) == day


def test_a_visit_across_midnight_does_not_hold_back_the_days_report(trusted, desk, supervisor, at):
    """A visit from 23:58 still going at 00:01 has not lapsed, so it ends after midnight and
    what it leaves is dated then, in the next day's report: the day's report is submitted
    without waiting for it, and its end changes nothing in it."""
    today = timezone.localdate()
    day = today - timedelta(days=1)
    visit = start_visit(desk, trusted.card("A"))
    desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-A-0001", "points": 100}
    )
    Visit.objects.filter(pk=visit.pk).update(
        started_at=local(day, 23, 58),
        last_activity_at=local(today, 0, 1),
        last_presence_at=local(today, 0, 1),
    )
    at(local(today, 0, 1))
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    assert report.snapshot["counts"]["visits"] == 1
    before = services.build_daily(desk.terminal, day)
    at(local(today, 0, 10))
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    assert services.build_daily(desk.terminal, day) == before
    assert _kinds(services.build_daily(desk.terminal, today)) == {"visit_ended_with_pending": 1}
