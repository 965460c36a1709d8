"""The intake filled from an incident's page, shown in English, filled the city's Japanese record
(the case's title, who reported, the summary) with English words: sent as shown, the case and
its list and Japanese pages carried "Outside system failure" and "Incident #1". They are filled in
Japanese whatever the page's language, as the scan's cases are, and the English page says so."""

import html
import re

from django.urls import reverse

from madoguchi.cases.models import Case
from tests.cases.test_case_page import _incident


def _value(page: str, name: str) -> str:
    m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'<textarea name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S
    )
    return html.unescape(m.group(1)) if m else ""


def test_an_intake_from_an_incident_on_the_english_page_is_recorded_in_japanese(client, official):
    incident = _incident()
    client.force_login(official)
    url = f"{reverse('cases:new')}?incident={incident.pk}&lang=en&reason=case_work"
    page = client.get(url).content.decode()
    assert 'data-testid="intake-in-japanese"' in page
    sent = {
        n: _value(page, n)
        for n in ("once", "title", "reported_by", "summary", "desk_location", "event_date")
    }
    sent.update(resident_label="A氏", channel="system", date_precision="day")
    client.post(url, sent)
    case = Case.objects.get()
    entry = case.timeline.get(seq=1)
    assert case.title == "外部システムの障害"
    assert entry.party_label == f"インシデント #{incident.pk}"


def test_the_japanese_page_fills_the_same_words(client, official):
    incident = _incident()
    client.force_login(official)
    url = f"{reverse('cases:new')}?incident={incident.pk}&lang=ja&reason=case_work"
    page = client.get(url).content.decode()
    assert 'data-testid="intake-in-japanese"' not in page
    assert _value(page, "title") == "外部システムの障害"
    assert _value(page, "reported_by") == f"インシデント #{incident.pk}"
