"""Incidents had no state of their own: an official reading the list could not tell which ones
someone was handling. The list and the incident's page show the case opened from it and the
case's state (open, at which step; or closed), or "no case yet" with the action to open one."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.cases import services
from madoguchi.incidents.models import Incident
from tests import factories
from tests.cases.conftest import open_case
from tests.cases.test_case_page import _incident as incident

pytestmark = pytest.mark.django_db
LIST = reverse("incidents:list")
D = {"event_date": date(2026, 11, 30), "date_precision": "day"}


def states(html: str) -> list[str]:
    import re

    found = re.findall(
        r'<span data-testid="incident-case-state">((?:<span class="nowrap">[^<]*</span>|.)*?)</span>',
        html,
    )
    return [re.sub(r"<[^>]+>", "", s) for s in found]


def test_the_incident_list_and_page_show_the_case_state_or_no_case_yet(client):
    official = factories.staff(Role.CITY_OFFICIAL)
    handled, closed, waiting = incident("desk-01"), incident("desk-02"), incident("desk-03")
    open_case(official, incident=handled)
    done = open_case(official, incident=closed)
    services.case_close(done, actor=official, summary="誤りはなかった。", **D)
    client.force_login(official)
    html = client.get(LIST + "?lang=en").content.decode()
    # Newest first: waiting, closed, handled.
    case_of = {i.pk: getattr(i, "case", None) for i in (handled, closed, waiting)}
    handled_ref = Incident.objects.get(pk=handled.pk).case.reference
    assert states(html) == [
        "no case yet",
        f"{case_of[closed.pk].reference}: case closed",
        f"{handled_ref}: case open (Intake)",
    ]
    assert f'href="{reverse("cases:detail", args=[done.pk])}"' in html  # the official's link
    # The reference stays on one line in a narrow column (it broke CASE- / 00001).
    ref = case_of[closed.pk].reference
    assert f'<a class="nowrap" href="{reverse("cases:detail", args=[done.pk])}">{ref}</a>' in html
    assert html.count('data-testid="incident-list-open-case"') == 1
    assert f'href="{reverse("cases:new")}?incident={waiting.pk}"' in html
    ja = client.get(LIST + "?lang=ja").content.decode()
    assert states(ja) == [
        "ケース未作成",
        f"{case_of[closed.pk].reference}: ケース完了",
        f"{handled_ref}: ケース対応中（受付）",
    ]
    assert ">ケースを開く</a>" in ja
    page = client.get(reverse("incidents:detail", args=[handled.pk]) + "?lang=en")
    assert states(page.content.decode()) == [f"{handled_ref}: case open (Intake)"]
    page = client.get(reverse("incidents:detail", args=[waiting.pk]) + "?lang=en")
    assert states(page.content.decode()) == ["no case yet"]
    assert 'data-testid="incident-open-case"' in page.content.decode()
    # A supervisor reads the state too, without a link to the official's case page.
    client.force_login(factories.staff(Role.SUPERVISOR))
    html = client.get(LIST + "?lang=en").content.decode()
    assert f"{handled_ref}: case open (Intake)" in states(html)
    assert reverse("cases:detail", args=[done.pk]) not in html
    assert f'<span class="nowrap">{handled_ref}</span>' in html


def test_the_case_states_are_read_in_statements_constant_in_the_rows(client):
    official = factories.staff(Role.CITY_OFFICIAL)
    open_case(official, incident=incident("desk-01"))
    client.force_login(official)

    def counted() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    one = counted()
    for name in ("desk-02", "desk-03", "desk-04"):
        case = open_case(official, incident=incident(name))
        services.case_close(case, actor=official, summary="誤りはなかった。", **D)
    assert counted() == one
