"""Round 19: a visit that crosses midnight (Japan time) on the officials' day page: its end is
shown with its date, and the page says on which day its completions are counted (the day page
lists a visit on the day it started; the daily report counts a completion on its own day)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from madoguchi.desk.models import Completion, Visit
from madoguchi.terminals.models import Terminal
from tests.reports.conftest import _origin, commit_test_link, desk, official, start_visit  # noqa: F401

JST = ZoneInfo("Asia/Tokyo")


def test_a_visit_crossing_midnight_shows_its_end_with_the_date(client, trusted, desk, official):  # noqa: F811
    Terminal.objects.filter(pk=desk.terminal_id).update(
        created_at=datetime(2026, 10, 1, 9, tzinfo=JST)
    )
    a = trusted.card("A")
    start_visit(desk, a)
    commit_test_link(desk, a)
    visit = Visit.objects.get()
    Visit.objects.filter(pk=visit.pk).update(
        started_at=datetime(2026, 11, 30, 23, 59, tzinfo=JST),
        ended_at=datetime(2026, 12, 1, 0, 2, tzinfo=JST),
    )
    Completion.objects.filter(visit=visit).update(
        committed_at=datetime(2026, 12, 1, 0, 1, tzinfo=JST)
    )
    official.organisation = None
    client.force_login(official)
    page = client.get("/officials/?date=2026-11-30&lang=ja").content.decode()
    row = re.search(rf"<tr><td class=\"nowrap\"><a [^>]*>{visit.reference}</a>.*?</tr>", page, re.S)
    assert row is not None
    text = re.sub(r"<[^>]+>", " ", row.group(0))
    assert "23:59:00" in text
    assert "2026/12/01 00:02:00" in text
    assert "確定した日にかかわらず" in page
