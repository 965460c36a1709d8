"""A step is recorded on the day it happened, which is mostly the day it is recorded: each step
form on the case page shows today's date, to change when the step happened earlier. The forms'
day was empty, and a step recorded without one was refused (「日付を入力するか、「日付は不明」を
選んでください。」) after the official had written its summary. A new case's intake keeps its day
empty: a report is often of something long before."""

import re

from django.urls import reverse
from django.utils import timezone

from madoguchi.cases import services
from madoguchi.cases.models import TimelineEntry
from tests.cases.conftest import open_case


def _forms(page):
    return dict(re.findall(r'<form [^>]*data-step="([a-z_]+)">(.*?)</form>', page, re.S))


def test_each_step_form_shows_todays_date_and_a_step_sent_as_shown_is_recorded(client, official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    forms = _forms(client.get(url).content.decode())
    assert {"note", "close"} <= forms.keys(), forms.keys()
    today = timezone.localdate().isoformat()
    for step, form in forms.items():
        found = re.search(r'<input [^>]*name="[a-z_]+-event_date"[^>]*>', form)
        assert found, step
        assert f'value="{today}"' in found.group(0), (step, found.group(0))
    # Sent as shown, with a summary: recorded on today's date.
    before = TimelineEntry.objects.filter(case=case).count()
    client.post(
        reverse("cases:step", args=[case.pk, "note"]) + "?lang=ja",
        {
            "note-once": re.search(r'name="note-once" value="([^"]+)"', forms["note"]).group(1),
            "note-summary": "A氏へ電話で経緯を説明した。",
            "note-event_date": today,
            "note-date_precision": "day",
        },
    )
    entries = TimelineEntry.objects.filter(case=case).order_by("seq")
    assert entries.count() == before + 1
    assert entries.last().event_date == timezone.localdate()


def test_a_new_cases_intake_keeps_its_day_empty(client, official):
    client.force_login(official)
    page = client.get(reverse("cases:new") + "?lang=ja").content.decode()
    found = re.search(r'<input [^>]*name="[a-z_-]*event_date"[^>]*>', page)
    assert found
    assert "value=" not in found.group(0)
