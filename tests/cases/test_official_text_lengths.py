"""Free text staff type into a case has a length limit: a desk's intake of 200,000 characters
(a form may carry 2.5 MB) was stored, and the case report's PDF, which an official opens and
the city publishes, then took minutes to lay out (measured: 30 s for a 20,000-character
summary, 182 s for 200,000, under load), holding a server worker the whole time; the page
and the PDF of every later reader the same (docs/security.md, side doors round 12). The
resident's comment and a complaint already had theirs (500)."""

from django.urls import reverse

from madoguchi.cases.forms import NOTE_MAX, REPORT_MAX, SESSION_LOG_MAX
from madoguchi.cases.models import Case, LegacyLink, TimelineEntry
from tests.cases.conftest import legacy_form, open_case, report_url

SAID = "文字以下"  # Django's own sentence: この値は N 文字以下でなければなりません


def test_an_intake_longer_than_the_limit_is_refused_saying_why(client, desk_staff):
    client.force_login(desk_staff)
    intake = {
        "resident_label": "A氏",
        "reported_by": "A氏",
        "channel": "in_person",
        "date_precision": "unknown",
    }
    r = client.post(reverse("cases:new"), {**intake, "summary": "あ" * (NOTE_MAX + 1)})
    assert r.status_code == 200
    assert SAID in r.content.decode()
    assert not Case.objects.exists()
    assert (
        client.post(reverse("cases:new"), {**intake, "summary": "あ" * NOTE_MAX}).status_code == 302
    )


def test_a_note_a_report_and_a_session_log_have_their_limits(client, official):
    case = open_case(official)
    client.force_login(official)
    entries = TimelineEntry.objects.filter(case=case).count()
    note = {"note-summary": "い" * (NOTE_MAX + 1), "note-date_precision": "unknown"}
    r = client.post(reverse("cases:step", args=[case.pk, "note"]), note)
    assert SAID in client.get(r["Location"]).content.decode()
    assert TimelineEntry.objects.filter(case=case).count() == entries
    r = client.post(report_url(case), {"prevention": "う" * (REPORT_MAX + 1)})
    assert SAID in r.content.decode()
    case.refresh_from_db()
    assert case.report_prevention == ""
    log = "2022-08-10 10:02, card_read, A氏\n" * (SESSION_LOG_MAX // 30)
    r = client.post(reverse("cases:legacy_link", args=[case.pk]), legacy_form(session_log=log))
    assert SAID in client.get(r["Location"]).content.decode()
    assert not LegacyLink.objects.exists()
