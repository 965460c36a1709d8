"""The daily report: every incident of the desk's day, counts, submission and freezing."""

import json
from datetime import date, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from madoguchi.audit.models import AuditEvent
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Completion, Visit
from madoguchi.incidents import services as incidents
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.reports import services
from madoguchi.reports.models import DailyReport, ReportFrozenError
from tests import cardkit, checklistkit, factories
from tests.appendonlykit import owner_without_triggers
from tests.reports.conftest import ORIGIN, commit_test_link, start_visit


def back_one_day(*incidents_):
    """Move records made now to the same time yesterday (test setup only)."""
    one = timedelta(days=1)
    Visit.objects.update(started_at=F("started_at") - one)
    Completion.objects.update(committed_at=F("committed_at") - one)
    Incident.objects.filter(
        pk__in=[i.pk for i in incidents_] or Incident.objects.values("pk")
    ).update(occurred_at=F("occurred_at") - one)


@pytest.fixture
def busy_day(trusted, desk, supervisor):
    """Yesterday at one desk: a committed visit, a refused completion (the seed's pattern),
    a complaint and a PIN lockout; plus an incident at another desk, and one today."""
    a, b = trusted.card("A"), trusted.card("B")
    start_visit(desk, a)
    commit_test_link(desk, a)
    start_visit(desk, a)
    desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-B-0002", "points": 5000}
    )
    checklistkit.tick_before(desk)
    ch = desk_services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(b, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    with pytest.raises(Refusal):
        desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    incidents.incident_complaint(
        recorded_by=supervisor,
        terminal=desk.terminal,
        summary="Resident says staff read the PIN aloud (embarrassing for the contractor).",
        severity=Severity.HIGH,
    )
    incidents.incident_pin_blocked(desk_session=desk, applet="auth", request_id="r-1")
    incidents.incident_record(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="timeout",
        severity=Severity.LOW,
        summary="other desk",
        terminal=factories.terminal(),
    )
    back_one_day()
    incidents.incident_record(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="timeout",
        severity=Severity.LOW,
        summary="the next day",
        terminal=desk.terminal,
    )
    return desk.terminal


def test_report_lists_every_incident_of_the_day(busy_day, yesterday):
    r = services.build_daily(busy_day, yesterday)
    kinds = sorted(i["kind"] for i in r["incidents"])
    # The refused completion also ended its visit with the procedure pending; the committed
    # visit was superseded with its after-completion checklist items unticked.
    assert kinds == [
        "checklist_unticked",
        "complaint",
        "completion_refused",
        "pin_locked",
        "visit_ended_with_pending",
    ]
    summaries = " ".join(i["summary"] for i in r["incidents"])
    assert "embarrassing for the contractor" in summaries
    assert "other desk" not in summaries
    assert "the next day" not in summaries
    assert r["counts"]["visits"] == 2
    assert r["counts"]["completions"] == 1
    assert r["counts"]["refusals"] == {"completion_refused:certificate_mismatch": 1}
    assert r["counts"]["incidents"]["complaint"] == 1
    assert r["counts"]["incidents_total"] == len(r["incidents"])


def test_the_supervisors_note_refuses_a_long_number(busy_day, yesterday, supervisor):
    """The note is frozen into the report officials read: an individual number or account
    number pasted into it is refused as the resident's comment is (plaintext.long_number)."""
    with pytest.raises(Refusal) as exc:
        services.daily_report_submit(
            actor=supervisor, terminal=busy_day, day=yesterday, note="個人番号 1234 5678 9012"
        )
    assert exc.value.code == "note_number"
    assert "ここには番号を書かないでください" in exc.value.message_ja
    assert "Do not write numbers here" in exc.value.message_en
    assert not DailyReport.objects.exists()


def test_supervisor_submits_and_the_report_is_frozen(busy_day, yesterday, supervisor):
    report = services.daily_report_submit(
        actor=supervisor, terminal=busy_day, day=yesterday, note="所見"
    )
    assert services.verify(report)
    n = report.snapshot["counts"]["incidents_total"]
    assert n >= 3
    assert report.snapshot["note"] == "所見"
    ev = AuditEvent.objects.get(event_name="reports.daily_submitted")
    assert ev.payload["sha256"] == report.sha256
    assert ev.actor_id == str(supervisor.pk)
    # A late record for that day does not change what was submitted.
    late = incidents.incident_record(
        kind=IncidentKind.COMPLAINT,
        reason_code="complaint",
        severity=Severity.LOW,
        summary="late",
        terminal=busy_day,
    )
    Incident.objects.filter(pk=late.pk).update(occurred_at=F("occurred_at") - timedelta(days=1))
    report.refresh_from_db()
    assert report.snapshot["counts"]["incidents_total"] == n
    assert services.verify(report)
    assert services.build_daily(busy_day, yesterday)["counts"]["incidents_total"] == n + 1
    report.note = "changed"
    with pytest.raises(ReportFrozenError):
        report.save()
    with pytest.raises(ReportFrozenError):
        report.delete()
    # Once only.
    with pytest.raises(services.ReportRefused) as exc:
        services.daily_report_submit(actor=supervisor, terminal=busy_day, day=yesterday)
    assert exc.value.code == "already_submitted"
    # Nor through a queryset (round 19: its update and delete went around save and delete).
    with pytest.raises(ReportFrozenError):
        DailyReport.objects.filter(pk=report.pk).update(note="changed")
    with pytest.raises(ReportFrozenError):
        DailyReport.objects.filter(pk=report.pk).delete()
    # Nor by the application's SQL: the database's trigger refuses it.
    for sql in ("UPDATE reports_dailyreport SET note = 'x'", "DELETE FROM reports_dailyreport"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    # Tampering with the stored snapshot by the tables' owner, triggers lifted, is detectable.
    with owner_without_triggers() as cursor:
        cursor.execute(
            "UPDATE reports_dailyreport SET snapshot = %s WHERE id = %s",
            [json.dumps({**report.snapshot, "incidents": []}), report.pk],
        )
    report.refresh_from_db()
    assert not services.verify(report)


@pytest.mark.parametrize("who", ["other_supervisor", "official", "desk_staff"])
def test_only_the_desks_own_supervisor_submits(busy_day, yesterday, request, who):
    user = factories.staff() if who == "desk_staff" else request.getfixturevalue(who)
    with pytest.raises(services.ReportRefused) as exc:
        services.daily_report_submit(actor=user, terminal=busy_day, day=yesterday)
    assert exc.value.code == "not_contractor_supervisor"
    assert exc.value.message_ja
    assert not DailyReport.objects.exists()


def test_today_cannot_be_submitted(desk, supervisor):
    from django.utils import timezone

    with pytest.raises(services.ReportRefused) as exc:
        services.daily_report_submit(
            actor=supervisor, terminal=desk.terminal, day=timezone.localdate()
        )
    assert exc.value.code == "day_not_over"


def test_todays_page_says_when_it_can_be_submitted_instead_of_offering_the_form(
    client, desk, supervisor
):
    """Today's report offered the note and "submit to the city"; the submission was refused
    (the day is not over) and the note typed into it was lost. Today's page says from when it
    can be submitted and offers no form; yesterday's offers it."""
    from django.urls import reverse
    from django.utils import timezone

    client.force_login(supervisor)
    today = timezone.localdate()
    url = reverse("reports:daily", args=[desk.terminal.pk, today.isoformat()])
    for lang, said in (("ja", "この日はまだ終わっていません"), ("en", "This day is not over yet")):
        page = client.get(f"{url}?reason=daily_check&lang={lang}").content.decode()
        assert 'data-testid="day-not-over"' in page
        assert said in page
        assert 'name="note"' not in page
    url = reverse("reports:daily", args=[desk.terminal.pk, (today - timedelta(days=1)).isoformat()])
    page = client.get(f"{url}?reason=daily_check").content.decode()
    assert 'name="note"' in page
    assert 'data-testid="day-not-over"' not in page


def test_a_future_days_page_says_its_report_is_due_from_the_day_after_it(client, desk, supervisor):
    """Probe F: the English page of a day still to come (next week's) said its report could be
    submitted "from tomorrow"; it can be from the day after that day (翌日から in Japanese)."""
    from django.urls import reverse
    from django.utils import timezone

    client.force_login(supervisor)
    future = timezone.localdate() + timedelta(days=7)
    url = reverse("reports:daily", args=[desk.terminal.pk, future.isoformat()])
    english = client.get(f"{url}?reason=daily_check&lang=en").content.decode()
    assert "can be submitted from the day after it" in english
    assert "tomorrow" not in english
    japanese = client.get(f"{url}?reason=daily_check&lang=ja").content.decode()
    assert "翌日から提出できます" in japanese


def test_a_refused_note_stays_in_its_field_to_be_put_right(client, desk, supervisor, yesterday):
    """A note the submission refused (a long number in it, a control character) was lost: the
    page came back with the refusal and an empty field, and the supervisor wrote it again from
    memory. The page comes back with the refusal and the note as written; nothing is
    submitted until it is put right."""
    from django.urls import reverse

    client.force_login(supervisor)
    url = reverse("reports:daily", args=[desk.terminal.pk, yesterday.isoformat()])
    url += "?reason=daily_check"
    note = "窓口で受付番号 1234 5678 9012 を確認しました。\n待ち時間が長かった。"
    refused = client.post(url, {"note": note})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "ここには番号を書かないでください" in page
    assert f'<textarea id="note" name="note" rows="3">\n{note}</textarea>' in page
    assert not DailyReport.objects.exists()
    sent = client.post(url, {"note": "待ち時間が長かった。"})
    assert sent.status_code == 302
    assert DailyReport.objects.get().note == "待ち時間が長かった。"


def test_a_day_before_the_desk_was_registered_has_no_report_to_submit(client, desk, supervisor):
    """A supervisor submitted, and froze for good, a report of 1900-01-01 for a desk registered
    in 2026; the city's grid marks such a day 登録前, no report due. Its page says so and
    offers no form; a submission is refused, nothing stored."""
    from django.urls import reverse
    from django.utils import timezone

    from madoguchi.reports.models import DailyReport

    registered = timezone.localdate(desk.terminal.created_at)
    for day in (registered - timedelta(days=1), date(1900, 1, 1)):
        with pytest.raises(services.ReportRefused) as exc:
            services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
        assert exc.value.code == "before_registration"
        assert "まだ登録されていない" in exc.value.message_ja
        client.force_login(supervisor)
        url = reverse("reports:daily", args=[desk.terminal.pk, day.isoformat()])
        page = client.get(f"{url}?reason=daily_check").content.decode()
        assert 'data-testid="before-registration"' in page
        assert 'name="note"' not in page
        assert client.post(f"{url}?reason=daily_check", {"note": "x"}).status_code == 400
    assert not DailyReport.objects.exists()
    services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=registered)
    assert DailyReport.objects.count() == 1
