"""A desk set inactive in the admin was 未提出 on every day of the city's grid, and counted in its
missing reports, for as long as it stayed there: an inactive desk with no visit on a day has
nothing to report and no report is due (停止中, not counted); a day it had visits still is."""

from datetime import timedelta

from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from madoguchi.desk.models import Visit
from madoguchi.reports import services
from madoguchi.terminals.models import Terminal
from tests.visits import start_visit


def test_an_inactive_desk_owes_reports_only_for_days_it_served(
    client, desk, trusted, supervisor, official
):
    today = timezone.localdate()
    start_visit(desk, trusted.card("A"))
    Visit.objects.update(started_at=F("started_at") - timedelta(days=2))
    services.daily_report_submit(
        actor=supervisor, terminal=desk.terminal, day=today - timedelta(days=3)
    )
    Terminal.objects.filter(pk=desk.terminal.pk).update(is_active=False)
    client.force_login(official)
    response = client.get(reverse("reports:city") + "?days=5")
    cells = {
        row["terminal"].pk: [c["status"] for c in row["cells"]] for row in response.context["rows"]
    }
    # Today first: no visit (not due), no visit, a visit (due, missing), submitted, no visit.
    assert cells[desk.terminal.pk] == ["inactive", "inactive", "missing", "submitted", "inactive"]
    assert response.context["missing"] == 1
    assert "停止中" in response.content.decode()


def test_an_active_desk_without_visits_still_owes_its_reports(client, desk, official):
    client.force_login(official)
    response = client.get(reverse("reports:city") + "?days=3")
    (row,) = response.context["rows"]
    assert [c["status"] for c in row["cells"]] == ["open", "missing", "missing"]
