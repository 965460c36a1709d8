"""Side doors, round 22: a supervisor's note that shows nothing (white space, a zero-width
space, a Hangul filler, blank Braille) was frozen into the daily report as written: the
report, its PDF and workbook carried a 「監督者の所見」 heading over nothing. Such a note is no
note (`plaintext.blank`)."""

import pytest
from django.urls import reverse

from madoguchi.reports import services
from madoguchi.reports.models import DailyReport

NOTHING = ["\u200b", "\u3164", "\u2800\uffa0", " \u3164\n\u200b "]


@pytest.mark.parametrize("note", NOTHING)
def test_a_note_that_shows_nothing_is_no_note(desk, supervisor, yesterday, note):
    report = services.daily_report_submit(
        actor=supervisor, terminal=desk.terminal, day=yesterday, note=note
    )
    assert report.note == ""
    assert report.snapshot["note"] == ""
    assert services.verify(report)


def test_the_report_page_shows_no_note_heading_for_it(client, desk, supervisor, yesterday):
    client.force_login(supervisor)
    url = reverse("reports:daily", args=[desk.terminal.pk, yesterday.isoformat()])
    url += "?reason=daily_check&lang=ja"
    assert client.post(url, {"note": "\u3164"}).status_code == 302
    assert DailyReport.objects.get().note == ""
    assert "監督者の所見" not in client.get(url).content.decode()


def test_a_note_with_words_is_kept_as_written(desk, supervisor, yesterday):
    note = "\u3164待ち時間が長かった。"
    report = services.daily_report_submit(
        actor=supervisor, terminal=desk.terminal, day=yesterday, note=note
    )
    assert report.note == note
