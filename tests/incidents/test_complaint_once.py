"""A complaint sent twice (a double click, or the back button and Record once more) recorded
two incidents: the complaint counted twice in the desk's daily report and the city's incident
list. Its form carries a one-time key now, as the case pages' forms do (`madoguchi.once`;
docs/security.md, side doors round 13)."""

import re

from django.contrib.messages import get_messages
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from tests import factories


def _complaint(client, desk, lang="ja"):
    page = client.get(reverse("incidents:complaint") + f"?lang={lang}").content.decode()
    key = re.search(r'name="once" value="([^"]+)"', page).group(1)
    return {
        "once": key,
        "terminal": desk.terminal.pk,
        "reported_by": "来庁者",
        "severity": "medium",
        "summary": "待ち時間が長い",
    }


def _said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_complaint_sent_twice_is_recorded_once(client, desk):
    supervisor = factories.staff(Role.SUPERVISOR)
    client.force_login(supervisor)
    sent = _complaint(client, desk)
    url = reverse("incidents:complaint") + "?lang=ja"
    first = client.post(url, sent)
    second = client.post(url, sent)
    incident = Incident.objects.get(kind=IncidentKind.COMPLAINT)
    assert (
        second["Location"] == first["Location"] == reverse("incidents:detail", args=[incident.pk])
    )
    assert f"インシデント {incident.pk} として1回だけ記録され" in _said(second)
    # A new form (its own key) records the next complaint.
    client.post(url, _complaint(client, desk))
    assert Incident.objects.filter(kind=IncidentKind.COMPLAINT).count() == 2


def test_desk_staff_sending_a_complaint_twice_are_told_in_english(client, desk):
    client.force_login(desk.staff)
    sent = _complaint(client, desk, lang="en")
    url = reverse("incidents:complaint") + "?lang=en"
    client.post(url, sent)
    second = client.post(url, sent)
    assert second["Location"] == reverse("incidents:complaint")
    assert "This complaint was sent twice" in _said(second)
    assert Incident.objects.filter(kind=IncidentKind.COMPLAINT).count() == 1


def test_the_desk_choice_says_what_choosing_none_means(client, desk):
    """The desk list opened on Django's "---------": a complaint need not be about one desk,
    and the empty choice says so, in the page's language; sent so, the complaint is recorded
    with no desk."""
    supervisor = factories.staff(Role.SUPERVISOR)
    client.force_login(supervisor)
    for lang, words in (("ja", "特定の窓口についてではない"), ("en", "Not about one desk")):
        page = client.get(reverse("incidents:complaint") + f"?lang={lang}").content.decode()
        assert re.search(rf'<option value="" selected>{words}</option>', page), page
        assert "---------" not in page
    sent = {**_complaint(client, desk), "terminal": ""}
    client.post(reverse("incidents:complaint") + "?lang=ja", sent)
    assert Incident.objects.get(kind=IncidentKind.COMPLAINT).terminal is None
