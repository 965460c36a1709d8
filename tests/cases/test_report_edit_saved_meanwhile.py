"""Two officials edit one case's report: the edit opened first and saved last silently wrote
over the other official's saved edit (docs/security.md round 13 said a tab kept open after
another official saved saves nothing). The form now carries the edit's revision it was shown
with; a save from a page shown before another's is refused, saying so, the draft kept."""

import re

from django.test import Client
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from tests import factories
from tests.cases.conftest import open_case


def _form(page: str) -> dict[str, str]:
    def value(name: str) -> str:
        return re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)

    prevention = re.search(r'<textarea name="prevention"[^>]*>\n?(.*?)</textarea>', page, re.S)
    return {
        "once": value("once"),
        "revision": value("revision"),
        "title_shown": value("title_shown"),
        "prevention_shown": value("prevention_shown"),
        "title": value("title"),
        "prevention": prevention.group(1),
    }


def test_a_report_edit_from_a_page_shown_before_anothers_save_is_refused_and_kept(official):
    other = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official)
    url = reverse("cases:report", args=[case.pk]) + "?reason=case_work&lang=ja"
    a, b = Client(), Client()
    a.force_login(official)
    b.force_login(other)
    form_a = _form(a.get(url).content.decode())  # A opens the report's edit
    form_b = _form(b.get(url).content.decode())  # B opens it too
    b.post(url, {**form_b, "title": "Bが直した題"})
    case.refresh_from_db()
    assert case.report_title == "Bが直した題"
    edits = AuditEvent.objects.filter(event_name="cases.report_edited").count()
    # A, from the page shown before B saved, changes only the measures.
    mine = form_a["prevention"] + "\nAの対策"
    r = a.post(url, {**form_a, "prevention": mine}, follow=True)
    case.refresh_from_db()
    said = [str(m) for m in r.context["messages"]]
    assert case.report_title == "Bが直した題"  # B's title kept
    assert "Aの対策" not in case.report_prevention
    assert AuditEvent.objects.filter(event_name="cases.report_edited").count() == edits
    assert any("誰かが保存しました（別の職員か、別のタブのあなた）" in m for m in said), said
    page = r.content.decode()
    assert "Aの対策" in page  # A's draft kept in the form
    assert "Bが直した題" in page  # B's report shown
    # Sent again from that page (now shown with B's save), A's text is saved.
    again = _form(page)
    assert again["revision"] != form_a["revision"]
    a.post(url, {**again, "title": "Bが直した題"})
    case.refresh_from_db()
    assert "Aの対策" in case.report_prevention
    assert case.report_title == "Bが直した題"


def test_a_report_edit_without_its_revision_saves_as_one_without_its_key_does(official):
    """A script's post (no one-time key, no revision) is written as before."""
    case = open_case(official)
    client = Client()
    client.force_login(official)
    url = reverse("cases:report", args=[case.pk]) + "?reason=case_work&lang=ja"
    client.post(url, {"title": "題", "prevention": "対策"})
    client.post(url, {"title": "次の題", "prevention": "対策"})
    case.refresh_from_db()
    assert (case.report_title, case.report_revision) == ("次の題", 2)


def test_the_kept_draft_sent_again_keeps_the_title_saved_meanwhile(official):
    """Refused as stale, the kept form gives the fields the official left as shown the value
    saved meanwhile: sent again as given back, it saves their measures and keeps the other
    official's title."""
    other = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official)
    url = reverse("cases:report", args=[case.pk]) + "?reason=case_work&lang=ja"
    a, b = Client(), Client()
    a.force_login(official)
    b.force_login(other)
    form_a = _form(a.get(url).content.decode())
    form_b = _form(b.get(url).content.decode())
    b.post(url, {**form_b, "title": "Bが直した題"})
    r = a.post(url, {**form_a, "prevention": form_a["prevention"] + "\nAの対策"}, follow=True)
    kept = _form(r.content.decode())
    assert kept["title"] == "Bが直した題"
    assert "Aの対策" in kept["prevention"]
    a.post(url, kept)
    case.refresh_from_db()
    assert "Aの対策" in case.report_prevention
    assert case.report_title == "Bが直した題"


def test_a_title_changed_by_both_keeps_the_officials_own_in_the_kept_draft(official):
    other = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official)
    url = reverse("cases:report", args=[case.pk]) + "?reason=case_work&lang=ja"
    a, b = Client(), Client()
    a.force_login(official)
    b.force_login(other)
    form_a = _form(a.get(url).content.decode())
    form_b = _form(b.get(url).content.decode())
    b.post(url, {**form_b, "title": "Bが直した題", "prevention": "Bの対策"})
    r = a.post(url, {**form_a, "title": "Aが直した題"}, follow=True)
    kept = _form(r.content.decode())
    assert kept["title"] == "Aが直した題"
    assert "Bの対策" in kept["prevention"]
