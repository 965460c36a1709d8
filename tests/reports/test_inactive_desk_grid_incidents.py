"""停止中 ("nothing to report") was read from visits alone: a desk whose day held only an
incident (a refused visit start) was 停止中 once set inactive, its report never asked for."""


def test_an_inactive_desk_with_incidents_but_no_visit_on_a_day_still_owes_its_report(
    client, desk, official
):
    """停止中 means "nothing to report", read from visits alone. A desk whose day had only a
    refused visit start (a revoked card: an incident, HIGH, and no visit row), then set
    inactive, reads 停止中 that day and is not counted missing: the day's report, which lists
    that incident, is never asked for."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from madoguchi.incidents.constants import IncidentKind, Severity
    from madoguchi.incidents.services import incident_record
    from madoguchi.reports import services as report_services
    from madoguchi.terminals.models import Terminal

    today = timezone.localdate()
    day = today - timedelta(days=1)
    incident_record(
        kind=IncidentKind.VISIT_START_REFUSED,
        reason_code="certificate_revoked",
        severity=Severity.HIGH,
        summary="refused",
        terminal=desk.terminal,
        staff=desk.staff,
        occurred_at=timezone.now() - timedelta(days=1),
    )
    # The day's report has something to report: the refusal.
    assert report_services.build_daily(desk.terminal, day)["counts"]["incidents_total"] == 1
    Terminal.objects.filter(pk=desk.terminal.pk).update(is_active=False)
    client.force_login(official)
    response = client.get(reverse("reports:city") + "?days=2")
    (row,) = response.context["rows"]
    assert [c["status"] for c in row["cells"]][1] == "missing"
    assert response.context["missing"] == 1


def test_an_inactive_desk_owes_the_report_of_a_day_a_completion_was_committed(
    client, desk, trusted, official
):
    """A visit started before midnight and completed after it: the next day's report counts
    the completion, so that day is due too."""
    from datetime import timedelta

    from django.db.models import F
    from django.urls import reverse
    from django.utils import timezone

    from madoguchi.desk import services as desk_services
    from madoguchi.desk.models import Completion, Visit
    from madoguchi.reports import services as report_services
    from madoguchi.terminals.models import Terminal
    from tests.visits import sign_completion, start_visit

    card = trusted.card("A")
    start_visit(desk, card)
    desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-A-0001", "points": 5000}
    )
    ch, token = sign_completion(desk, card)
    desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    Visit.objects.update(started_at=F("started_at") - timedelta(days=2))
    Completion.objects.update(committed_at=F("committed_at") - timedelta(days=1))
    day = timezone.localdate() - timedelta(days=1)
    assert report_services.build_daily(desk.terminal, day)["counts"]["completions"] == 1
    Terminal.objects.filter(pk=desk.terminal.pk).update(is_active=False)
    client.force_login(official)
    response = client.get(reverse("reports:city") + "?days=3")
    (row,) = response.context["rows"]
    # Today (nothing), the completion's day, the visit's day: both days owe their report.
    assert [c["status"] for c in row["cells"]] == ["inactive", "missing", "missing"]
    assert response.context["missing"] == 2
