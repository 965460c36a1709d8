"""Round 20 on the resident's page: a long "this was not me" comment kept whole, the kiosk's
language back to its own after a resident, the receipt and letters never left on the screen
(or the disk) of a shared kiosk, and the call centre's number on a narrow screen."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from madoguchi.accounts.constants import Role
from madoguchi.cases import document
from madoguchi.cases import services as cases
from madoguchi.cases.models import Case
from madoguchi.incidents.models import Incident
from madoguchi.incidents.text import incident_text
from madoguchi.residents import services
from madoguchi.residents.constants import EndReason
from madoguchi.residents.models import Notice, NotMeReport, ResidentSession
from tests import factories
from tests.residents.test_resident_page import (  # noqa: F401
    _linked_at_a_desk,
    _origins,
    desk_completion,
    open_case,
    sign_in,
)
from tests.residents.test_resident_page import desk as desk

pytestmark = pytest.mark.django_db

# 500 characters, the limit, its last words past the 400th.
LONG_COMMENT = ("その日は窓口に行っていません。" * 34)[:494] + "最後まで届く"


def test_a_comment_of_500_characters_reaches_the_case_the_incident_and_the_report_whole(
    trusted, desk
):
    """docs/resident.md: the comment reaches the case, the incident and the city's report as
    written, at most 500 characters, never cut. The intake's summary, its English form, the
    incident's stored summary and its sentence were each cut at the 400th character (and the
    incident's summary at 500 with the sentence before it)."""
    assert len(LONG_COMMENT) == 500
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    r = client.post(
        f"/me/not-me/completion/{completion.pk}/",
        {"reason": "not_at_desk", "comment": LONG_COMMENT},
    )
    assert r.status_code == 302, r.content.decode()[:300]
    report = NotMeReport.objects.get()
    assert report.comment == LONG_COMMENT
    intake = report.case.timeline.get()
    assert intake.summary.endswith("本人のコメント: " + LONG_COMMENT)
    assert LONG_COMMENT in json.dumps(intake.detail, ensure_ascii=False)
    with translation.override("en"):
        assert intake.shown_summary.endswith(LONG_COMMENT)
    incident = Incident.objects.get(reason_code="resident_not_me")
    assert incident.summary.endswith(LONG_COMMENT)  # the stored English record (the API)
    for language in ("ja", "en"):
        with translation.override(language):
            assert incident_text(incident).endswith(LONG_COMMENT), language
    assert LONG_COMMENT in document.to_markdown(document.build(report.case))


def test_a_long_comment_added_to_a_visits_case_is_whole_in_its_note(trusted, desk):
    """A second record of a visit already reported: the note added to the first report's case
    cut the comment at the 400th character too, in Japanese and in its English form."""
    card, link, completion = _linked_at_a_desk(trusted, desk)
    client = Client()
    sign_in(client, card)
    client.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    r = client.post(
        f"/me/not-me/completion/{completion.pk}/",
        {"reason": "not_at_desk", "comment": LONG_COMMENT},
    )
    assert r.status_code == 302
    note = Case.objects.get().timeline.order_by("seq").last()
    assert note.kind == "note"
    assert note.summary.endswith(LONG_COMMENT)
    with translation.override("en"):
        assert note.shown_summary.endswith(LONG_COMMENT)


def _kiosk_signed_in(card) -> Client:
    kiosk = Client()
    kiosk.get("/me/?kiosk=1")
    sign_in(kiosk, card)
    return kiosk


def _language_cookie(client: Client) -> str:
    cookie = client.cookies.get(settings.LANGUAGE_COOKIE_NAME)
    return cookie.value if cookie is not None else ""


@pytest.mark.parametrize("how", ["finish", "script", "ended_on_the_server"])
def test_the_next_resident_on_a_kiosk_gets_the_kiosks_language_not_the_last_ones(
    trusted, desk, how
):
    """Resident A chose English on the kiosk and left: resident B's start page (and records)
    were in English, A's choice kept in the language cookie. A session's end on a kiosk now
    forgets the choice: the kiosk's own language (Japanese, or its browser's) comes back."""
    a, b = trusted.card("A"), trusted.card("B")
    desk_completion(desk, a)
    kiosk = _kiosk_signed_in(a)
    assert '<html lang="en">' in kiosk.get("/me/records/?lang=en").content.decode()
    assert _language_cookie(kiosk) == "en"
    if how == "finish":  # the Finish button (a form)
        start = kiosk.post("/me/end", {"reason": "signed_out"}, follow=True)
    elif how == "script":  # the page's script, on the card's removal
        r = kiosk.post(
            "/me/end", json.dumps({"reason": "card_removed"}), content_type="application/json"
        )
        start = kiosk.get(r.json()["next"])
    else:  # the card agent's report ended it; the kiosk's next page finds it ended
        services.session_end(ResidentSession.objects.get(), EndReason.CARD_REMOVED)
        start = kiosk.get("/me/records/", follow=True)
    assert _language_cookie(kiosk) == ""
    assert '<html lang="ja">' in start.content.decode()
    again = kiosk.get("/me/?kiosk=1")
    assert '<html lang="ja">' in again.content.decode()
    # The kiosk's browser asking for English keeps English: the default is the browser's.
    assert '<html lang="en">' in kiosk.get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # B's choice on the start page, before signing in, is kept for B's own records.
    kiosk.get("/me/?lang=en")
    sign_in(kiosk, b)
    assert '<html lang="en">' in kiosk.get("/me/records/").content.decode()


def test_a_residents_own_computer_keeps_their_language_after_finishing(trusted, desk):
    """Not a kiosk: the resident's own browser keeps the language they chose."""
    a = trusted.card("A")
    desk_completion(desk, a)
    own = Client()
    sign_in(own, a)
    own.get("/me/records/?lang=en")
    own.post("/me/end", {"reason": "signed_out"})
    assert _language_cookie(own) == "en"
    assert '<html lang="en">' in own.get("/me/").content.decode()


def _notice_of(holder) -> Notice:
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, holder=holder)
    cases.case_close(case, actor=official, summary="完了", event_date=timezone.localdate())
    return Notice.objects.get(case=case)


def _directive(response, name: str) -> list[str]:
    """One directive's sources in a response's Content-Security-Policy."""
    for directive in response["Content-Security-Policy"].split(";"):
        words = directive.split()
        if words and words[0] == name:
            return words[1:]
    return []


def test_the_kiosk_shows_a_receipt_and_a_letter_inside_its_page_never_on_their_own(trusted, desk):
    """The receipt and the letters were served inline and opened in the kiosk's tab by a plain
    link: chromium's PDF viewer took the page's place, with no script watching the card, and
    the first resident's receipt stayed on the screen after the card was taken out. On a kiosk
    they are shown inside the records page (a frame its script removes with the card): loaded
    as a page of their own (a new tab, no script) they lead back to the records page."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    notice = _notice_of(completion.visit.holder)
    kiosk = _kiosk_signed_in(a)
    records = kiosk.get("/me/records/")
    page = records.content.decode()
    receipt_url = f"/me/receipts/{completion.pk}.pdf"
    notice_url = f"/me/notices/{notice.pk}.pdf"
    # The links open the in-page viewer; the page may frame its own PDFs, nothing else.
    assert f'href="{receipt_url}" data-action="show-pdf"' in page
    assert f'href="{notice_url}" data-action="show-pdf"' in page
    assert "'self'" in _directive(records, "frame-src")
    assert records["X-Frame-Options"] == "DENY"
    for url, anchor in ((receipt_url, f"completion-{completion.pk}"), (notice_url, "h-cases")):
        framed = kiosk.get(url, HTTP_SEC_FETCH_DEST="iframe")
        assert framed.status_code == 200
        assert framed["Content-Type"] == "application/pdf"
        assert framed["Content-Disposition"].startswith("inline;")
        assert framed["X-Frame-Options"] == "SAMEORIGIN"
        assert _directive(framed, "frame-ancestors") == ["'self'"]
        assert "no-store" in framed["Cache-Control"]
        alone = kiosk.get(url, HTTP_SEC_FETCH_DEST="document")
        assert alone.status_code == 302
        assert alone["Location"] == f"/me/records/#{anchor}"
        assert "no-store" in alone["Cache-Control"]


def test_a_residents_own_device_downloads_the_receipt_and_keeps_the_page(trusted, desk):
    """On the resident's own phone or computer the receipt and the letters are downloaded
    (an attachment): the records page stays, its script still watching the card."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    notice = _notice_of(completion.visit.holder)
    own = Client()
    sign_in(own, a)
    page = own.get("/me/records/").content.decode()
    assert 'data-action="show-pdf"' not in page
    for url in (f"/me/receipts/{completion.pk}.pdf", f"/me/notices/{notice.pk}.pdf"):
        r = own.get(url, HTTP_SEC_FETCH_DEST="document")
        assert r.status_code == 200
        assert r["Content-Disposition"].startswith("attachment;")
        assert r["X-Frame-Options"] == "DENY"


def test_the_call_centres_number_breaks_only_at_its_hyphens(trusted, desk, settings):
    """At 200% zoom on a phone the number, kept on one line (`nowrap`), ran past the screen;
    it breaks after a hyphen now, never inside a group of digits."""
    settings.RESIDENT_CALL_CENTRE = "0120-95-0178"
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    whole = (
        '<span class="phone"><span class="nowrap">0120-</span><wbr>'
        '<span class="nowrap">95-</span><wbr><span class="nowrap">0178</span></span>'
    )
    records = client.get("/me/records/").content.decode()
    assert records.count(whole) >= 1
    assert "0120-95-0178" not in records
    r = client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
    reported = client.get(r["Location"]).content.decode()
    assert whole in reported
    assert "0120-95-0178" not in reported
