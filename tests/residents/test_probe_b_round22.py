"""Side doors, round 22 (probe B): the resident's own view, as a resident, a representative
and someone sharing the kiosk or the browser."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from madoguchi.accounts.constants import Role
from madoguchi.residents.models import ResidentSession
from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.residents.test_resident_page import (  # noqa: F401 -- fixtures
    _origins,
    desk_completion,
    enrol,
    open_case,
    plain,
    sign_in,
)


@pytest.fixture
def desk(db):
    return terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )


def _cases_section(html: str) -> str:
    found = re.search(r'data-testid="me-cases">(.*?)</section>', html, re.S)
    assert found is not None
    return plain(found.group(1))


@pytest.mark.parametrize(
    "reported_by", ["B氏（口座の名義人）", "コールセンター", "インシデント（挙動の記録）"]
)
def test_a_case_the_resident_never_reported_is_not_called_their_report(trusted, desk, reported_by):
    """The seed's shape: A's points went to B's account; B (the account's owner), the call
    centre or an incident tells the city, which opens a case about A's link. A's page lists the
    case under 「あなたに関するケース」 with its intake stage 「お申し出を受け付けました。市が確認します。」:
    A is thanked for a report A never made (the closing letter stopped saying so in the
    thirty-second session: `notices.holder_reported`; the page's stage did not)."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(
        official,
        summary="ポイントが自分の口座に入っている",
        reported_by=reported_by,
        channel="phone",
        holder=completion.visit.holder,
    )
    client = Client()
    sign_in(client, card)
    section = _cases_section(client.get("/me/records/?lang=ja").content.decode())
    assert case.reference in section
    assert "お申し出" not in section, section
    english = _cases_section(client.get("/me/records/?lang=en").content.decode())
    assert "Your report" not in english, english


def test_a_browser_enrolled_as_a_kiosk_stays_a_kiosk_whatever_the_address_says(trusted, desk):
    """Kiosk mode is the query `?kiosk=1`, kept in the browser's session, and `?kiosk=0` turns
    it off: anyone at the kiosk (the previous resident, someone waiting) opens
    `/me/?kiosk=0` and leaves. The next resident signs in at that kiosk (the browser enrolled
    as the kiosk terminal, the session bound to it), and their session is not a kiosk's: the
    receipt is downloaded into the kiosk's downloads (`attachment`) for the next person to
    open, the page no longer returns to a clean start by itself, and their language stays
    for the next resident. A browser enrolled as a terminal is a kiosk; the address cannot
    make it something else."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    kiosk = factories.terminal("kiosk-01")
    browser = Client()
    enrol(browser, kiosk)
    browser.get("/me/?kiosk=1")
    browser.get("/me/?kiosk=0")  # the one before, or someone waiting, at the kiosk
    sign_in(browser, card)
    session = ResidentSession.objects.get(ended_at__isnull=True)
    assert session.terminal == kiosk
    assert session.kiosk, "a session bound to a kiosk terminal is a kiosk's"
    pdf = browser.get(f"/me/receipts/{completion.pk}.pdf", HTTP_SEC_FETCH_DEST="iframe")
    assert not pdf["Content-Disposition"].startswith("attachment"), pdf["Content-Disposition"]


def test_a_kiosk_whose_browser_session_expired_is_still_a_kiosk(trusted, desk):
    """The kiosk's mode lives in the browser's Django session (`resident_kiosk`), which expires
    after `STAFF_SESSION_SECONDS` (8 hours) unchanged: a kiosk left overnight loses it, and the
    page's own return to the start (`cfg.startUrl`, `/me/` without `?kiosk=1`) never sets it
    again. The next morning's first resident on that enrolled kiosk is signed in as on their
    own computer: their receipt downloaded onto the kiosk."""
    from django.contrib.sessions.models import Session

    card = trusted.card("A")
    completion = desk_completion(desk, card)
    kiosk = factories.terminal("kiosk-01")
    browser = Client()
    enrol(browser, kiosk)
    browser.get("/me/?kiosk=1")
    Session.objects.all().delete()  # expired overnight (`clearsessions`)
    browser.get("/me/?ended=idle")  # where the page returned to by itself
    sign_in(browser, card)
    session = ResidentSession.objects.get(ended_at__isnull=True)
    assert session.terminal == kiosk
    assert session.kiosk, "a session bound to a kiosk terminal is a kiosk's"
    pdf = browser.get(f"/me/receipts/{completion.pk}.pdf", HTTP_SEC_FETCH_DEST="iframe")
    assert not pdf["Content-Disposition"].startswith("attachment"), pdf["Content-Disposition"]


@pytest.mark.parametrize("reported_by", ["A氏", "本人"])
def test_a_case_the_resident_reported_to_an_official_is_still_called_their_report(
    trusted, desk, reported_by
):
    """The other side of the first test: a case whose intake says the resident reported it
    (their label, 本人), as the closing letter's `holder_reported` reads it, is their report."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    case = open_case(
        factories.staff(Role.CITY_OFFICIAL),
        reported_by=reported_by,
        channel="phone",
        holder=completion.visit.holder,
    )
    client = Client()
    sign_in(client, card)
    section = _cases_section(client.get("/me/records/?lang=ja").content.decode())
    assert case.reference in section
    assert "お申し出を受け付けました。市が確認します。" in section, section


def test_the_city_looking_into_a_case_the_resident_did_not_report_in_words(trusted, desk):
    """What the page says instead, in Japanese and English."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    open_case(
        factories.staff(Role.CITY_OFFICIAL),
        reported_by="コールセンター",
        channel="phone",
        holder=completion.visit.holder,
    )
    client = Client()
    sign_in(client, card)
    ja = _cases_section(client.get("/me/records/?lang=ja").content.decode())
    assert "この件について、市が確認を始めました。" in ja, ja
    en = _cases_section(client.get("/me/records/?lang=en").content.decode())
    assert "The city has started looking into this matter." in en, en


def test_an_unenrolled_browser_is_a_kiosk_only_when_it_asks(trusted, desk):
    """The demo's second browser is no terminal: `?kiosk=1` makes it a kiosk for its browser
    session, `?kiosk=0` (or nothing) leaves it the resident's own device."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    for query, kiosk in (("?kiosk=1", True), ("?kiosk=0", False)):
        browser = Client()
        browser.get("/me/" + query)
        sign_in(browser, card)
        session = ResidentSession.objects.get(ended_at__isnull=True)
        assert session.terminal is None
        assert session.kiosk is kiosk
        pdf = browser.get(f"/me/receipts/{completion.pk}.pdf", HTTP_SEC_FETCH_DEST="iframe")
        assert pdf["Content-Disposition"].startswith("attachment") is not kiosk
        browser.post("/me/end", {"reason": "signed_out"})


def test_an_enrolled_kiosk_forgets_the_language_after_kiosk_0(trusted, desk):
    """`?kiosk=0` does not make the kiosk keep its resident's language for the next one."""
    card = trusted.card("A")
    desk_completion(desk, card)
    browser = Client()
    enrol(browser, factories.terminal("kiosk-01"))
    browser.get("/me/?kiosk=0")
    sign_in(browser, card)
    r = browser.post("/me/end", {"reason": "signed_out"})
    cookie = r.cookies.get("django_language")
    assert cookie is not None, r.cookies
    assert cookie["max-age"] == 0, r.cookies


def test_a_page_whose_agent_went_silent_ends_as_presence_lost_and_says_why(trusted, desk, settings):
    """The page closes itself when its card agent has said nothing for the presence limit
    (`presence_lost`; me.js, `untold`). Its end is recorded as that, and the start page says
    why in the resident's words; the records page tells the script what is left of the limit."""
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = 6
    card = trusted.card("A")
    desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    page = client.get("/me/records/?lang=ja").content.decode()
    assert 'data-presence-seconds="6"' in page
    left = re.search(r'data-presence-left="(\d+)"', page)
    assert left is not None
    assert 0 <= int(left.group(1)) <= 6
    r = client.post("/me/end", {"reason": "presence_lost"}, "application/json")
    assert r.json()["next"] == "/me/?ended=presence_lost"
    assert ResidentSession.objects.get().end_reason == "presence_lost"
    start = plain(client.get("/me/?ended=presence_lost&lang=ja").content.decode())
    assert "6秒のあいだ、カードがカードリーダーに置かれたままか確かめられなかったため" in start
