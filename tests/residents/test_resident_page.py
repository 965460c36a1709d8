"""The resident's own page: sign-in on its own challenge and origin, only the holder's own
records, the session's end, access history, "this was not me", notices."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.cases import services as cases
from madoguchi.cases.models import Case
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.incidents.models import Incident
from madoguchi.residents import selectors, services
from madoguchi.residents.constants import SESSION_KEY
from madoguchi.residents.models import Notice, NotMeReport, ResidentSession
from madoguchi.terminals import services as terminal_services
from tests import cardkit, checklistkit, factories

ORIGIN = "http://127.0.0.1:8000"
ME_ORIGIN = "http://localhost:8000"


@pytest.fixture(autouse=True)
def _origins(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.RESIDENT_ORIGIN = ME_ORIGIN
    settings.SECURE_SSL_REDIRECT = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The test client sends no card-presence reports, so on a loaded machine a test that renders
    # several PDFs could outlast the 6 s window and see its session end mid-test; the tests of
    # that lapse compute it from this setting.
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = 120


@pytest.fixture
def desk(db):
    return terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )


def open_case(official, **kw):
    """A case opened by an official today (the fields these tests do not look at filled in)."""
    args = dict(
        actor=official,
        title="t",
        resident_label="A氏",
        reported_by="A氏",
        summary="確認",
        event_date=timezone.localdate(),
    )
    args.update(kw)
    return cases.case_open(**args)


def desk_completion(desk, card, account="PAY-A-0001", *, origin=ORIGIN):
    """A visit at the desk and one signed completion (the stand-in test link), signed for the
    desk's origin (a browser test's live server gives its own)."""
    nonce = desk_services.auth_challenge(desk_session=desk).value
    visit = desk_services.visit_start(
        desk_session=desk, token=cardkit.auth_token(card, origin, nonce), nonce=nonce
    )
    desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": account, "points": 5000}
    )
    checklistkit.tick_before(desk)
    ch = desk_services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(card, origin, ch.nonce.value, ch.transaction_bytes)
    completion = desk_services.completion_commit(
        desk_session=desk, token=token, nonce=ch.nonce.value
    )
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    return completion


def report_not_me(trusted, desk, reason: str = "not_at_desk"):
    """Resident A's completion at the desk, reported on their own page as not them: the
    resident's signed-in client and the completion."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": reason})
    return client, completion


def plain(html: str) -> str:
    """A page's text without its tags (a description's parts are set each in its own span)."""
    return re.sub(r"<[^>]+>", "", html)


def sign_in(client: Client, card, origin: str = ME_ORIGIN):
    r = client.post("/me/challenge")
    assert r.status_code == 200
    nonce = r.json()["nonce"]
    assert r.json()["origin"] == ME_ORIGIN
    return client.post(
        "/me/sign-in",
        data=json.dumps({"token": cardkit.auth_token(card, origin, nonce), "nonce": nonce}),
        content_type="application/json",
    )


def test_resident_sees_only_their_own_records_and_every_read_is_audited(trusted, desk):
    a, b = trusted.card("A"), trusted.card("B")
    mine = desk_completion(desk, a, "PAY-A-0001")
    theirs = desk_completion(desk, b, "PAY-B-0002")
    client = Client()
    r = sign_in(client, a)
    assert r.status_code == 200, r.content
    page = client.get("/me/records/")
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert "PAY-A-0001" in text  # the exact signed lines
    assert "PAY-B-0002" not in text
    # Another resident's receipt and item look exactly like a missing one.
    assert client.get(f"/me/receipts/{theirs.pk}.pdf").status_code == 404
    assert client.get(f"/me/not-me/completion/{theirs.pk}/").status_code == 404
    assert client.get(f"/me/receipts/{mine.pk}.pdf")["Content-Type"] == "application/pdf"
    viewed = AuditEvent.objects.filter(event_name="residents.page_viewed")
    assert {e.payload["page"] for e in viewed} == {"records", "receipt"}


def test_a_desk_token_or_another_origin_never_signs_in(trusted, desk):
    a = trusted.card("A")
    client = Client()
    # Signed over the desk origin instead of the resident page's own.
    r = sign_in(client, a, origin=ORIGIN)
    assert r.status_code == 403
    assert r.json()["code"] == "origin_wrong"
    assert r.json()["message_ja"]
    # A desk challenge is not a resident page challenge.
    nonce = desk_services.auth_challenge(desk_session=desk).value
    r = client.post(
        "/me/sign-in",
        data=json.dumps({"token": cardkit.auth_token(a, ME_ORIGIN, nonce), "nonce": nonce}),
        content_type="application/json",
    )
    assert r.json()["code"] == "challenge_unknown"
    # Nor is one issued to another browser.
    other = Client()
    nonce = other.post("/me/challenge").json()["nonce"]
    r = client.post(
        "/me/sign-in",
        data=json.dumps({"token": cardkit.auth_token(a, ME_ORIGIN, nonce), "nonce": nonce}),
        content_type="application/json",
    )
    assert r.json()["code"] == "challenge_other_session"
    assert client.get("/me/records/").status_code == 302
    assert not ResidentSession.objects.exists()


def test_session_ends_on_another_card_on_idle_and_on_silence(trusted, desk, settings):
    a, b = trusted.card("A"), trusted.card("B")
    client = Client()
    sign_in(client, a)
    fp_a = cardkit.fingerprint(a)
    assert client.post("/me/heartbeat", {"fingerprint": fp_a}, "application/json").json()["open"]
    r = client.post("/me/heartbeat", {"fingerprint": cardkit.fingerprint(b)}, "application/json")
    assert r.status_code == 401
    assert ResidentSession.objects.get().end_reason == "card_removed"
    assert client.get("/me/records/").status_code == 302
    # Idle: 2 minutes without a page or action, even while heartbeats keep coming.
    sign_in(client, a)
    s = ResidentSession.objects.get(ended_at__isnull=True)
    ResidentSession.objects.filter(pk=s.pk).update(
        last_activity_at=timezone.now() - timedelta(seconds=121)
    )
    r = client.post("/me/heartbeat", {"fingerprint": fp_a}, "application/json")
    assert r.status_code == 401
    s.refresh_from_db()
    assert s.end_reason == "idle"
    # Silence: the page (and its card agent) stopped reporting.
    sign_in(client, a)
    s = ResidentSession.objects.get(ended_at__isnull=True)
    ResidentSession.objects.filter(pk=s.pk).update(
        last_seen_at=timezone.now()
        - timedelta(seconds=settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS + 1)
    )
    assert client.get("/me/records/").status_code == 302
    s.refresh_from_db()
    assert s.end_reason == "presence_lost"


def test_typing_on_the_page_keeps_the_session_past_the_idle_limit(trusted, desk, settings):
    """Writing a "not me" comment loads no page: the heartbeat says the resident used the page
    (`active`), and the idle limit starts again from it, as from a page view. Without it, a
    comment written for two minutes ended the session as idle and was lost on sending."""
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    fp = cardkit.fingerprint(card)
    s = ResidentSession.objects.get()
    near = timezone.now() - timedelta(seconds=settings.RESIDENT_IDLE_SECONDS - 2)
    ResidentSession.objects.filter(pk=s.pk).update(last_activity_at=near)
    beat = {"fingerprint": fp, "active": True}
    assert client.post("/me/heartbeat", beat, "application/json").json()["open"]

    # Five seconds pass (every time of the session moves back): the idle limit counted from
    # the last page view is over, not from the typing the heartbeat reported.
    later = {
        f: F(f) - timedelta(seconds=5) for f in ("started_at", "last_seen_at", "last_activity_at")
    }
    ResidentSession.objects.filter(pk=s.pk).update(**later)
    url = f"/me/not-me/completion/{completion.pk}/"
    r = client.post(url, {"reason": "not_my_account", "comment": "書いている間に"})
    assert r.status_code == 302
    assert "/me/reported/" in r["Location"], r["Location"]
    assert NotMeReport.objects.get().comment == "書いている間に"

    # A heartbeat that reports no use of the page does not count, and an idle session that
    # has lapsed stays ended whatever a later heartbeat says.
    ResidentSession.objects.filter(pk=s.pk).update(last_activity_at=near)
    assert client.post("/me/heartbeat", {"fingerprint": fp}, "application/json").json()["open"]
    ResidentSession.objects.filter(pk=s.pk).update(**later)
    r = client.post("/me/heartbeat", beat, "application/json")
    assert r.json() == {"open": False, "reason": "idle"}


def test_a_report_sent_after_the_page_closed_says_nothing_was_sent(trusted, desk):
    """A "not me" report sent after the page had closed (the card taken out, the time limit, a
    second tab's "Finish") led to the start page's 「ページを閉じました」 alone: the resident could
    take the report for made. It says nothing reached the city and what to do."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    assert client.get(url).status_code == 200
    client.post("/me/end", {"reason": "signed_out"})
    r = client.post(url, {"reason": "not_my_account", "comment": "閉じた後に"})
    assert r.status_code == 302
    assert not NotMeReport.objects.exists()
    page = client.get(r["Location"], HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "送った内容は市に届いておらず、お申し出は受け付けられていません" in page
    english = client.get(r["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What you sent did not reach the city" in english
    # A page opened after the page closed (no form sent) says only that it closed.
    r = client.get("/me/records/")
    assert 'data-testid="me-unsent"' not in client.get(r["Location"]).content.decode()


def test_a_session_kept_active_and_present_ends_at_its_time_limit(trusted, desk, settings):
    """Where no terminal's agent reports the card (a resident's own computer), a heartbeat
    with the card's fingerprint is the page's word, and page views are activity: a session
    kept at both, or its cookie copied, lasted without end. It ends
    RESIDENT_ABSOLUTE_SECONDS after the card signed in, and the start page says why."""
    a = trusted.card("A")
    client = Client()
    sign_in(client, a)
    fp = cardkit.fingerprint(a)
    s = ResidentSession.objects.get(ended_at__isnull=True)

    def started(seconds_ago):
        ResidentSession.objects.filter(pk=s.pk).update(
            started_at=timezone.now() - timedelta(seconds=seconds_ago)
        )

    started(settings.RESIDENT_ABSOLUTE_SECONDS - 60)
    assert client.get("/me/records/").status_code == 200
    assert client.post("/me/heartbeat", {"fingerprint": fp}, "application/json").json()["open"]
    started(settings.RESIDENT_ABSOLUTE_SECONDS + 1)
    r = client.post("/me/heartbeat", {"fingerprint": fp}, "application/json")
    assert r.status_code == 401
    assert r.json()["reason"] == "absolute_limit"
    s.refresh_from_db()
    assert s.end_reason == "absolute_limit"
    assert client.get("/me/records/").status_code == 302
    page = client.get("/me/?ended=absolute_limit").content.decode()
    assert "カードで確認してから30分が経ったため、ページを閉じました。" in page


def test_staff_and_official_reads_are_in_the_access_history(trusted, desk):
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    official = factories.staff(Role.CITY_OFFICIAL)
    staff_client = Client()
    staff_client.force_login(official)
    url = f"/officials/visits/{completion.visit.public_id}/"
    asked = staff_client.get(url)
    assert b'name="reason"' in asked.content  # a reason first
    assert not AuditEvent.objects.filter(event_name="identity.record_read").exists()
    assert staff_client.get(url + "?reason=resident_inquiry").status_code == 200
    read = AuditEvent.objects.get(event_name="identity.record_read")
    assert read.payload["page"] == "officials.visit"
    assert read.payload["reason"] == "resident_inquiry"
    assert "city_official" in read.payload["role"]
    client = Client()
    sign_in(client, a)
    history = client.get("/me/records/").context["history"]
    assert len(history) == 1
    assert str(history[0]["reason"])
    assert str(history[0]["page"])


def test_a_persons_run_of_reads_of_one_page_is_one_row(trusted, desk):
    """An official working a case reads its page after every step: the resident's page listed
    each read, a dozen rows a minute apart saying the same, and its 200 newest reads pushed the
    desk's out of sight. A person's reads of one page for one reason in a run, each within 30
    minutes of the next and nobody else's between, are one row with how many and since when."""
    from datetime import timedelta
    from unittest import mock

    from django.test import RequestFactory

    from madoguchi.identity.access import record_read

    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    desk_reads = AuditEvent.objects.filter(event_name="identity.record_read").count()
    official = factories.staff(Role.CITY_OFFICIAL)
    colleague = factories.staff(Role.CITY_OFFICIAL)
    request = RequestFactory().get("/cases/1/")
    start = timezone.now()

    def read(who, minutes, seconds=0, reason="case_work"):
        """A read of the case page `minutes` after the start (the audit log's clock)."""
        request.user = who
        when = start + timedelta(minutes=minutes, seconds=seconds)
        with mock.patch("django.utils.timezone.now", return_value=when):
            record_read(request, holder, page="cases.case", reason=reason)

    for second in range(3):
        read(official, 1, second)
    for second in range(5):  # 100 minutes later: a run of its own
        read(official, 101, second)
    read(official, 151)  # 50 minutes later: another run, of two
    read(official, 161)
    read(colleague, 171)
    read(official, 181)  # after the colleague's read: a row of its own
    read(official, 191, reason="resident_inquiry")
    client = Client()
    sign_in(client, a)
    history = client.get("/me/records/").context["history"]
    assert [h["count"] for h in history[:6]] == [1, 1, 1, 2, 5, 3]
    assert sum(h["count"] for h in history) == desk_reads + 3 + 5 + 2 + 3
    assert history[0]["reason"] != history[1]["reason"]
    run = history[4]
    assert run["time"] - run["first"] == timedelta(seconds=4)
    assert history[3]["time"] - history[3]["first"] == timedelta(minutes=10)
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "計5回（最初は" in page
    english = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "5 times, the first at" in english


def test_the_english_visit_page_says_its_signed_lines_are_japanese(trusted, desk):
    """The officials' visit page on ?lang=en showed the completion's signed lines bare under an
    English heading; the resident's page and the desk's receipt say they are in Japanese."""
    completion = desk_completion(desk, trusted.card("A"))
    official = Client()
    official.force_login(factories.staff(Role.CITY_OFFICIAL))
    url = f"/officials/visits/{completion.visit.public_id}/?reason=resident_inquiry"
    english = official.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    japanese = official.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    note = "The lines are in Japanese: the card signed them exactly as written."
    assert note in english
    assert english.index(note) < english.index('<ol lang="ja">')
    assert 'data-testid="lines-in-japanese"' not in japanese
    assert '<ol lang="ja">' in japanese


def test_a_desk_read_names_the_visit_as_its_reason(trusted, desk):
    """The desk's reads of the resident's records showed 理由 — on the resident's page, which read
    as a read without a reason: the desk asks none, since the resident's own visit is the reason,
    and the page now says so; an official's read keeps the reason chosen."""
    from django.test import RequestFactory

    from madoguchi.identity.access import record_read

    a = trusted.card("A")
    completion = desk_completion(desk, a)
    request = RequestFactory().get("/desk/visit/")
    request.user = desk.staff
    record_read(request, completion.visit.holder, page="desk.receipt")
    request.user = factories.staff(Role.CITY_OFFICIAL)
    record_read(request, completion.visit.holder, page="officials.visit", reason="audit")
    # The contractor's supervisor reading a desk's daily report is asked no reason either: the
    # page said —, as if one had been left out.
    request.user = factories.staff(Role.SUPERVISOR)
    record_read(request, completion.visit.holder, page="reports.daily")
    client = Client()
    sign_in(client, a)
    rows = {str(h["page"]): str(h["reason"]) for h in client.get("/me/records/").context["history"]}
    assert (
        rows["窓口：署名後の控え画面"] == "ご来庁時の窓口でのお手続き（窓口では理由を尋ねません）"
    )
    assert rows["市職員：受付の記録"] == "監査・点検"
    assert (
        rows["窓口の日次報告"] == "委託事業者による自社の窓口の確認（責任者には理由を尋ねません）"
    )
    english = client.get("/me/records/?lang=en").content.decode()
    assert "Your visit to the desk (the desk asks no other reason)" in english
    assert "The contractor checking its own desks" in english


def test_a_visit_without_a_procedure_is_not_called_nothing_recorded(trusted, desk):
    """A resident whose card started a visit and nothing more read 「このカードについて、窓口での
    記録はありません。」 above the desk's reads of their records, on the same page (a walk of the
    demo, 2 Dec 2026). The page now says what there is none of: a procedure done at a desk."""
    a = trusted.card("A")
    nonce = desk_services.auth_challenge(desk_session=desk).value
    visit = desk_services.visit_start(
        desk_session=desk, token=cardkit.auth_token(a, ORIGIN, nonce), nonce=nonce
    )
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    from django.test import RequestFactory

    from madoguchi.identity.access import record_read

    request = RequestFactory().get("/desk/visit/")
    request.user = desk.staff
    record_read(request, visit.holder, page="desk.visit")
    client = Client()
    sign_in(client, a)
    page = client.get("/me/records/")
    assert len(page.context["history"]) == 1
    text = page.content.decode()
    assert "記録はありません" not in text
    assert "このカードで窓口で行った手続きは、まだありません。" in text
    english = client.get("/me/records/?lang=en").content.decode()
    assert "No procedure has been done with this card at a desk yet." in english


def test_this_was_not_me_opens_an_incident_and_a_case_officials_see(trusted, desk):
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    assert client.post(url, {"reason": ""}).status_code == 200  # a reason is required
    assert not Case.objects.exists()
    r = client.post(url, {"reason": "not_at_desk", "comment": "その日は出張中でした"})
    assert r.status_code == 302
    report = NotMeReport.objects.get()
    assert report.case.holder == completion.visit.holder
    assert report.incident.visit == completion.visit
    assert Incident.objects.filter(reason_code="resident_not_me").count() == 1
    done = client.get(r["Location"])
    assert report.case.reference.encode() in done.content
    assert "0120-95-0178" in plain(done.content.decode())  # set to break at its hyphens
    # The page says where the report's stage is shown, and that place shows it.
    assert "わたしの記録の「あなたに関する案件」で確認できます" in done.content.decode()
    records = client.get("/me/records/").content.decode()
    assert "あなたに関する案件" in records
    assert report.case.reference in records
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)
    assert report.case.reference.encode() in o.get("/cases/?reason=resident_inquiry").content
    stage = client.get("/me/records/").context["records"].cases[0]["stage"]
    assert str(stage)


def test_a_case_opened_by_a_residents_report_names_the_resident_as_who_reported(trusted, desk):
    """The case's first entry said the report came from 「その他」 (other), beside the resident's
    own words (本人（住民用ページ、カードで本人確認済み）), as a scan's or an incident's case says;
    a further report from the same page already named the resident (来庁者)."""
    report_not_me(trusted, desk)
    intake = NotMeReport.objects.get().case.timeline.get(seq=1)
    assert (intake.party, intake.channel) == ("resident", "system")
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)
    page = o.get(f"/cases/{intake.case.pk}/?reason=resident_inquiry").content.decode()
    assert "来庁者 本人（住民用ページ" in page  # the party (the resident), then their words
    assert "その他 本人（住民用ページ" not in page


def test_this_was_not_me_names_the_visit_in_the_citys_local_time(trusted, desk):
    """The page, the incident and the case name the visit as the records page does: in local
    time (Asia/Tokyo), never in UTC (03:30 UTC was shown to the resident as 03:30, not 12:30)."""
    from datetime import UTC, datetime

    from madoguchi.desk.models import Visit

    a = trusted.card("A")
    completion = desk_completion(desk, a)
    # The records page dates a completion by its commit: so do the page, the incident and the case.
    Visit.objects.filter(pk=completion.visit_id).update(
        started_at=datetime(2026, 11, 30, 3, 29, tzinfo=UTC)
    )
    type(completion).objects.filter(pk=completion.pk).update(
        committed_at=datetime(2026, 11, 30, 3, 30, tzinfo=UTC)
    )
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    page = plain(client.get(url).content.decode())
    assert "令和8年11月30日 12:30" in page
    assert "03:30" not in page
    client.post(url, {"reason": "not_at_desk"})
    assert "2026-11-30 12:30" in Incident.objects.get(reason_code="resident_not_me").summary


def test_case_steps_concerning_a_resident_record_notice_letters(trusted, desk):
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, summary="身に覚えがない", holder=completion.visit.holder)
    cases.case_investigate(case, actor=official, summary="調査", event_date=timezone.localdate())
    cases.case_close(
        case, actor=official, summary="誤りではなかった", event_date=timezone.localdate()
    )
    notice = Notice.objects.get(case=case)
    assert notice.entry.kind == "close"
    assert notice.issued_on_ja.startswith("令和")
    client = Client()
    sign_in(client, a)
    pdf = client.get(f"/me/notices/{notice.pk}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("reported_by", "channel", "themselves"),
    [
        ("A氏", "in_person", True),  # the intake's resident, as the official named them
        ("本人", "phone", True),
        ("本人（住民用ページ、カードで本人確認済み）", "system", True),  # their own page
        ("B氏（口座の名義人）", "phone", False),  # the account's owner found the points
        ("コールセンター", "phone", False),
        ("インシデント（挙動の記録）", "system", False),  # opened from an incident
    ],
)
def test_the_closing_letter_thanks_for_a_report_only_a_resident_made(
    trusted, desk, reported_by, channel, themselves
):
    """The closing letter read 「お申し出いただいた件の対応完了について」 to every resident, one who
    never reported anything included: a case opened from what the account's owner or the call
    centre reported, or from an incident. It says so only when the resident reported it."""
    completion = desk_completion(desk, trusted.card("A"))
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(
        official,
        summary="ポイントが届かない",
        reported_by=reported_by,
        channel=channel,
        holder=completion.visit.holder,
    )
    today = timezone.localdate()
    cases.case_investigate(case, actor=official, summary="調査", event_date=today)
    cases.case_close(case, actor=official, summary="完了", event_date=today)
    notice = Notice.objects.get(case=case, entry__kind="close")
    if themselves:
        assert notice.title == "お申し出いただいた件の対応完了について（お知らせ）"
        assert (
            f"お申し出いただいた件（{case.reference}）の対応をすべて完了しました。"
            in notice.body[0]
        )
    else:
        assert notice.title == "マイナポイントの紐付けに関する対応の完了について（お知らせ）"
        assert "申し出" not in notice.title + "".join(notice.body)
        assert notice.body[0].endswith(
            "あなたに関するマイナポイントの紐付けの件"
            f"（{case.reference}）について、対応をすべて完了しました。"
        )


def test_a_further_report_from_the_residents_own_page_counts_as_theirs(trusted, desk):
    """A case another person reported, to which the resident then added their own report from
    their page: the closing letter answers their report."""
    from madoguchi.cases.services import case_report_added
    from madoguchi.residents.constants import REPORTED_BY

    completion = desk_completion(desk, trusted.card("A"))
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, reported_by="コールセンター", holder=completion.visit.holder)
    case_report_added(
        case, actor=official, reported_by=REPORTED_BY, summary="身に覚えがない", detail={}
    )
    today = timezone.localdate()
    cases.case_investigate(case, actor=official, summary="調査", event_date=today)
    cases.case_close(case, actor=official, summary="完了", event_date=today)
    notice = Notice.objects.get(case=case, entry__kind="close")
    assert notice.title == "お申し出いただいた件の対応完了について（お知らせ）"


@pytest.mark.parametrize(
    ("programme", "title", "reenable", "stage"),
    [
        (
            "public_fund",
            "公金受取口座の登録の利用停止について",
            "公金受取口座の登録ができる",
            "調査の間、問題の登録の利用を停止しています。",
        ),
        (
            "health_insurance",
            "健康保険証としての利用登録の利用停止",
            "健康保険証としての利用登録ができる",
            "調査の間、問題の登録の利用停止を市から保険者に求めています。",
        ),
    ],
)
def test_a_cases_notice_letters_name_what_the_case_is_about(
    trusted, desk, programme, title, reenable, stage
):
    """A case about a public-fund account (or an insurance registration) had letters about
    suspending a Mynapoint link and applying for Mynapoint again; and while it was suspended,
    the resident's page said the link in question was stopped (「問題の紐付け」), which for an
    insurance registration is the insurer's to stop, at the city's request."""
    completion = desk_completion(desk, trusted.card("A"))
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(
        official, summary="身に覚えがない", holder=completion.visit.holder, programme=programme
    )
    today = timezone.localdate()
    cases.case_investigate(case, actor=official, summary="調査", event_date=today)
    cases.case_suspend(case, actor=official, summary="停止", event_date=today)
    client = Client()
    sign_in(client, trusted.card("A"))
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert stage in page
    assert "問題の紐付け" not in page
    english = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "registration in question" in english
    cases.case_contact(
        case, actor=official, party="resident", channel="phone", summary="連絡", event_date=today
    )
    # No points to return: the wrong registration is corrected instead.
    cases.case_correct(case, actor=official, summary="誤った登録を解除", event_date=today)
    cases.case_reenable(case, actor=official, summary="再申込可", event_date=today)
    notices = {n.entry.kind: n for n in Notice.objects.filter(case=case)}
    assert "point_return" not in notices
    assert title in notices["suspension"].title
    assert reenable in " ".join(notices["reenable"].body)
    for kind in ("suspension", "reenable"):
        assert "マイナポイント" not in notices[kind].title + " ".join(notices[kind].body)


def test_completion_email_sends_the_signed_lines(trusted, desk):
    completion = desk_completion(desk, trusted.card("A"))
    services.completion_email(completion, "resident@example.jp")
    assert len(mail.outbox) == 1
    assert "PAY-A-0001" in mail.outbox[0].body
    assert AuditEvent.objects.filter(event_name="residents.completion_emailed").exists()


def test_the_desk_emails_the_notice_in_the_language_of_its_page(trusted, desk):
    """The desk's page in English sent a Japanese notice only: a resident served in English got
    an e-mail they could not read. The lines the card signed stay as signed (Japanese)."""
    completion = desk_completion(desk, trusted.card("A"))
    staff = _staff_at_desk(desk)
    url = f"/me/desk-email/{completion.pk}/"
    assert (
        staff.post(url, {"address": "a@example.jp"}, HTTP_ACCEPT_LANGUAGE="en").status_code == 302
    )
    staff.post(url, {"address": "b@example.jp"}, HTTP_ACCEPT_LANGUAGE="ja")
    english, japanese = mail.outbox
    assert english.subject == "[Notice] Your application at the desk has been confirmed"
    assert "What your card signed (in Japanese, as signed):" in english.body
    assert "(Japan time)" in english.body
    assert "This was not me" in english.body
    assert "確定しました" not in english.body
    assert japanese.subject == "【お知らせ】窓口での手続が確定しました"
    assert "署名された内容:" in japanese.body
    assert "（日本時間）" in japanese.body  # as the receipt names the time's zone
    for line in selectors.signed_lines(completion):
        assert f"  {line}" in english.body
        assert f"  {line}" in japanese.body


def test_nothing_on_the_page_without_a_session(db):
    client = Client()
    assert client.get("/me/records/").status_code == 302
    assert client.post("/me/heartbeat", {}, "application/json").status_code == 401
    assert client.get("/me/receipts/1.pdf").status_code == 302
    assert SESSION_KEY not in client.session


def enrol(client: Client, terminal) -> str:
    """Bind this browser to `terminal`; returns the terminal's credential (its agent's)."""
    credential = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert client.post("/terminal/enrol/", {"credential": credential}).status_code == 200
    return credential


def agent(client: Client, credential: str, kind: str, fingerprint, at=None):
    body = {"kind": kind, "cert_fingerprint": fingerprint, "reader": "r"}
    if at is not None:
        body["at"] = at.isoformat()
    r = client.post(
        "/api/v1/agent/events",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {credential}",
    )
    assert r.status_code == 204, r.content
    return r


def test_the_kiosk_agent_reporting_the_card_gone_ends_the_session_on_the_server(
    trusted, desk, settings
):
    """Whatever the page does (its script bypassed, heartbeats forged with the card's
    fingerprint), the agent's report ends the session and the next request is refused."""
    a, b = trusted.card("A"), trusted.card("B")
    fp_a, fp_b = cardkit.fingerprint(a), cardkit.fingerprint(b)
    kiosk = factories.terminal("kiosk-01")
    resident = Client()
    credential = enrol(resident, kiosk)
    sign_in(resident, a)
    session = ResidentSession.objects.get()
    assert session.terminal == kiosk
    copied = Client()  # the kiosk's session cookie in another browser: nothing
    copied.cookies[settings.SESSION_COOKIE_NAME] = resident.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert copied.get("/me/records/").status_code == 302
    assert (
        copied.post("/me/heartbeat", {"fingerprint": fp_a}, "application/json").status_code == 401
    )
    copied.post("/me/end", {"reason": "signed_out"}, "application/json")
    assert resident.get("/me/records/").status_code == 200  # nor can it end the kiosk's
    beat = {"fingerprint": fp_a}
    assert resident.post("/me/heartbeat", beat, "application/json").json()["open"]
    agent_client = Client()
    agent(agent_client, credential, "presence", fp_a)  # the same card: nothing ends
    assert resident.post("/me/heartbeat", beat, "application/json").json()["open"]
    agent(agent_client, credential, "removed", fp_a)
    session.refresh_from_db()
    assert session.end_reason == "card_removed"
    r = resident.post("/me/heartbeat", beat, "application/json")
    assert r.status_code == 401
    assert r.json()["reason"] == "card_removed"  # the page says the card was taken out
    assert resident.get("/me/records/").status_code == 302
    ended = AuditEvent.objects.filter(event_name="residents.session_ended").get()
    assert ended.payload["reason"] == "card_removed"
    assert ended.payload["reported_by"] == "card_agent"
    assert ended.terminal_label.startswith("kiosk-01")
    # Another card (or none) in the kiosk's reader ends the session bound to that kiosk.
    sign_in(resident, a)
    agent(agent_client, credential, "presence", fp_b)
    assert not ResidentSession.objects.filter(ended_at__isnull=True).exists()
    sign_in(resident, a)
    agent(agent_client, credential, "presence", None)
    assert not ResidentSession.objects.filter(ended_at__isnull=True).exists()


def test_a_removal_ends_that_cards_sessions_and_no_other(trusted, desk):
    """A browser not bound to a terminal (the demo's second browser, a resident's computer):
    the removal of its card from a reader ends it; a report seen before the sign-in does not;
    another card's session is left alone."""
    a, b = trusted.card("A"), trusted.card("B")
    fp_a = cardkit.fingerprint(a)
    credential = terminal_services.credential_issue(terminal=desk.terminal, actor=None).raw
    resident_a, resident_b = Client(), Client()
    sign_in(resident_a, a)
    sign_in(resident_b, b)
    session_a = ResidentSession.objects.get(fingerprint=fp_a)
    assert session_a.terminal is None
    agent_client = Client()
    agent(agent_client, credential, "removed", fp_a, at=session_a.started_at - timedelta(seconds=1))
    agent(agent_client, credential, "presence", None)  # nothing is bound to this desk
    assert resident_a.get("/me/records/").status_code == 200
    agent(agent_client, credential, "removed", fp_a)
    assert resident_a.get("/me/records/").status_code == 302
    session_a.refresh_from_db()
    assert session_a.end_reason == "card_removed"
    assert resident_b.get("/me/records/").status_code == 200


def _open_session(fingerprint, terminal=None, started_at=None) -> ResidentSession:
    at = started_at or timezone.now()
    times = dict.fromkeys(("started_at", "last_activity_at", "last_seen_at"), at)
    return ResidentSession.objects.create(fingerprint=fingerprint, terminal=terminal, **times)


@pytest.mark.parametrize("kind", ["presence", "removed"])
def test_a_card_report_with_no_session_to_end_is_one_unlocked_statement(desk, kind):
    """The common report at a desk (the card before the visit starts, after it ends) ends no
    resident session: one read, no lock and no transaction of its own (issue 15, twelfth round);
    a session it does concern is still ended by the locked path."""
    other_kiosk = factories.terminal("kiosk-02")
    fp, other_fp = "a" * 64, "b" * 64
    _open_session(other_fp, terminal=other_kiosk)  # another card at another kiosk
    seen = timezone.now()
    _open_session(fp, started_at=seen + timedelta(seconds=1))  # a sign-in after the report
    with CaptureQueriesContext(connection) as queries:
        ended = services.card_reported(
            terminal=desk.terminal, kind=kind, cert_fingerprint=fp, observed_at=seen
        )
    assert ended == []
    assert len(queries.captured_queries) == 1, queries.captured_queries
    assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]
    assert not ResidentSession.objects.exclude(ended_at=None).exists()
    # At the desk's own terminal, another card's session is ended by a presence report and
    # this card's by its removal, through the locked path.
    session = _open_session(other_fp if kind == "presence" else fp, terminal=desk.terminal)
    ended = services.card_reported(
        terminal=desk.terminal, kind=kind, cert_fingerprint=fp, observed_at=timezone.now()
    )
    assert ended == [session]
    session.refresh_from_db()
    assert session.end_reason == "card_removed"


def _staff_at_desk(desk) -> Client:
    """The desk's staff member, signed in, in the browser bound to the desk's terminal."""
    staff = Client()
    enrol(staff, desk.terminal)
    staff.force_login(desk.staff)
    session = staff.session
    session["desk_session_id"] = desk.pk
    session.save()
    return staff


def test_the_desk_can_email_the_resident_of_a_completion_once(trusted, desk):
    completion = desk_completion(desk, trusted.card("A"))
    staff = _staff_at_desk(desk)
    url = f"/me/desk-email/{completion.pk}/"
    assert staff.post(url, {"address": "not an address"}).status_code == 302
    assert mail.outbox == []
    assert staff.post(url, {"address": "resident@example.jp"}).status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["resident@example.jp"]
    # Another staff member, or no desk session, gets nothing.
    other = Client()
    other.force_login(factories.staff())
    assert other.post(url, {"address": "x@example.jp"}).status_code == 404
    assert len(mail.outbox) == 1
    assert "resident@example.jp" not in json.dumps(
        [e.payload for e in AuditEvent.objects.filter(event_name="residents.completion_emailed")]
    )


def test_the_desk_email_is_refused_outside_the_desks_own_browser(trusted, desk, settings):
    """The same staff session cookie in another browser, or in a browser bound to another
    terminal, cannot send it (`bound_desk_session`)."""
    completion = desk_completion(desk, trusted.card("A"))
    staff = _staff_at_desk(desk)
    url = f"/me/desk-email/{completion.pk}/"
    cookie = staff.cookies[settings.SESSION_COOKIE_NAME].value
    copied = Client()  # not bound to any terminal
    copied.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert copied.post(url, {"address": "x@example.jp"}).status_code == 404
    elsewhere = Client()
    enrol(elsewhere, factories.terminal())
    elsewhere.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert elsewhere.post(url, {"address": "x@example.jp"}).status_code == 404
    assert mail.outbox == []
    # From the right browser, a completion of another desk session: nothing either.
    other_desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    theirs = desk_completion(other_desk, trusted.card("B"), "PAY-B-0002")
    assert (
        staff.post(f"/me/desk-email/{theirs.pk}/", {"address": "x@example.jp"}).status_code == 404
    )
    assert staff.post(url, {"address": "resident@example.jp"}).status_code == 302
    assert len(mail.outbox) == 1


def test_the_desk_cannot_email_an_earlier_residents_notice_to_the_next(trusted, desk):
    """Side doors round 5: the desk's email took any completion of its desk session, so while
    serving resident B the desk could send resident A's signed lines (name, masked account,
    points) to any address, the door the receipt PDF closed in round 4. Now only the current
    visit's completion, or the just-ended visit's until the next visit starts."""
    earlier = desk_completion(desk, trusted.card("A"))
    staff = _staff_at_desk(desk)
    url = f"/me/desk-email/{earlier.pk}/"
    # Right after A's visit ended, before the next: A's notice may still be sent.
    assert staff.post(url, {"address": "a@example.jp"}).status_code == 302
    assert len(mail.outbox) == 1
    later = desk_completion(desk, trusted.card("B"), "PAY-B-0002")
    page = staff.post(
        url, {"address": "b@example.jp"}, follow=True, HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert len(mail.outbox) == 1
    assert "前の来庁" in page
    assert staff.post(f"/me/desk-email/{later.pk}/", {"address": "b@example.jp"}).status_code == 302
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["b@example.jp"]


def test_a_renewed_card_shows_everything_recorded_with_the_old_certificate(trusted, desk):
    """The holder is keyed by certificate with renewal links: a link made with the old card's
    certificate (and its completion, case, notice and reads) appears when the resident signs in
    with the renewed card; before the renewal link, the new card sees nothing of it."""
    from cryptography.hazmat.primitives import serialization

    from madoguchi.identity.services import certificate_renewal_link
    from tests.benefits import builders

    old_card, renewed = trusted.card("A"), trusted.card("C")  # C stands in for A's renewal
    completion = desk_completion(desk, old_card, "PAY-A-0001")
    holder = completion.visit.holder
    link = builders.link(
        holder, programme=builders.programme(), provider=builders.provider(), account="70100001"
    )
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, holder=holder, payment_link=link)
    cases.case_close(case, actor=official, summary="完了", event_date=timezone.localdate())
    o = Client()
    o.force_login(official)
    assert o.get(f"/cases/{case.pk}/?reason=resident_inquiry").status_code == 200

    before = Client()
    sign_in(before, renewed)
    assert not before.get("/me/records/").context["records"].completions

    certificate_renewal_link(
        old_fingerprint=cardkit.fingerprint(old_card),
        new_certificate_pem=renewed.auth_certificate.public_bytes(serialization.Encoding.PEM),
    )
    client = Client()
    sign_in(client, renewed)
    page = client.get("/me/records/")
    records = page.context["records"]
    assert {c["row"].pk for c in records.completions} == {completion.pk, link.completion_id}
    assert [x["row"].pk for x in records.links] == [link.pk]
    assert [c["row"].pk for c in records.cases] == [case.pk]
    assert [n.case_id for n in records.notices] == [case.pk]
    assert [h["page"] for h in page.context["history"]] != []
    text = page.content.decode()
    assert "PAY-A-0001" in text  # the signed lines of the old card's completion
    assert "＊＊＊＊0001" in text
    assert client.get(f"/me/receipts/{completion.pk}.pdf")["Content-Type"] == "application/pdf"
    notice = records.notices[0]
    assert client.get(f"/me/notices/{notice.pk}.pdf").status_code == 200
    assert client.get(f"/me/not-me/link/{link.pk}/").status_code == 200


def test_officials_download_the_case_notices_and_the_read_is_recorded(trusted, desk):
    a, b = trusted.card("A"), trusted.card("B")
    holder = desk_completion(desk, a).visit.holder
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, holder=holder)
    cases.case_close(case, actor=official, summary="完了", event_date=timezone.localdate())
    notice = Notice.objects.get(case=case)
    o = Client()
    o.force_login(official)
    page = o.get(f"/cases/{case.pk}/?reason=case_work").content.decode()
    url = f"/cases/{case.pk}/notices/{notice.pk}.pdf"
    assert f'href="{url}?reason=case_work"' in page
    assert notice.title in page
    pdf = o.get(url + "?reason=case_work")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    read = AuditEvent.objects.filter(event_name="identity.record_read").order_by("-seq").first()
    assert read.payload["page"] == "cases.notice"
    assert read.payload["reason"] == "case_work"
    assert read.subject_id == str(holder.pk)
    # Without a reason the letter is not served; another case's path, nothing; staff: no.
    fresh = Client()
    fresh.force_login(official)
    assert b"%PDF" not in fresh.get(url).content
    other = open_case(
        official,
        title="u",
        resident_label="B氏",
        reported_by="B氏",
        summary="別件",
        holder=desk_completion(desk, b, "PAY-B-0002").visit.holder,
    )
    assert o.get(f"/cases/{other.pk}/notices/{notice.pk}.pdf?reason=case_work").status_code == 404
    staff = Client()
    staff.force_login(factories.staff())
    assert staff.get(url + "?reason=case_work").status_code == 403
    # The resident sees the official's download in their access history.
    client = Client()
    sign_in(client, a)
    pages = [str(h["page"]) for h in client.get("/me/records/").context["history"]]
    assert any("PDF" in p or "通知" in p for p in pages), pages


def test_incident_lists_and_report_exports_are_reads_the_resident_sees(trusted, desk):
    from madoguchi.incidents.constants import IncidentKind, Severity
    from madoguchi.incidents.services import incident_record

    a, b = trusted.card("A"), trusted.card("B")
    visit_a = desk_completion(desk, a).visit
    visit_b = desk_completion(desk, b, "PAY-B-0002").visit
    for visit in (visit_a, visit_b):
        incident_record(
            kind=IncidentKind.COMPLAINT,
            reason_code="test",
            severity=Severity.LOW,
            summary="確認",
            visit=visit,
        )
    mine = Incident.objects.filter(visit=visit_a, reason_code="test").get()
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)

    def reads(page):
        return AuditEvent.objects.filter(event_name="identity.record_read", payload__page=page)

    assert o.get("/incidents/?reason=daily_check").status_code == 200
    listed = reads("incidents.list")
    assert sorted(e.subject_id for e in listed) == sorted(
        [str(visit_a.holder_id), str(visit_b.holder_id)]
    )
    assert {e.payload["reason"] for e in listed} == {"daily_check"}
    # The lists ask a city official's reason first, as one incident does (nothing recorded).
    assert b'name="reason"' in o.get("/officials/incidents/").content
    assert not reads("officials.incidents").exists()
    assert o.get("/officials/incidents/?reason=daily_check").status_code == 200
    assert reads("officials.incidents").count() == 2
    # One incident of a resident's visit: an official gives a reason first.
    url = f"/incidents/{mine.pk}/"
    assert b'name="reason"' in o.get(url).content
    assert not reads("incidents.incident").exists()
    assert o.get(url + "?reason=incident").status_code == 200
    assert reads("incidents.incident").get().subject_id == str(visit_a.holder_id)
    # The daily report and its exports.
    day = timezone.localdate().isoformat()
    base = f"/reports/{desk.terminal.pk}/{day}/"
    for url in (base, base + "pdf", base + "xlsx"):
        assert o.get(url + "?reason=daily_check").status_code == 200
    for page in ("reports.daily", "reports.daily_pdf", "reports.daily_xlsx"):
        assert sorted(e.subject_id for e in reads(page)) == sorted(
            [str(visit_a.holder_id), str(visit_b.holder_id)]
        ), page
    # Resident A sees each of them (and nothing recorded for B only).
    client = Client()
    sign_in(client, a)
    records = client.get("/me/records/")
    history = records.context["history"]
    assert len(history) == 6
    # The column of reasons, mostly "—", is narrow: its heading broke in two (理 / 由).
    assert '<th class="nowrap">理由</th>' in records.content.decode()
    assert str(history[0]["page"])
    assert str(history[-1]["reason"])


def test_sign_in_challenges_are_limited_per_address_and_tallied_in_the_log(
    db, settings, clock_held
):
    """/me/challenge is unauthenticated: a script asking for challenges in a loop gets a clear
    429 after RESIDENT_CHALLENGES_PER_MINUTE, and fills neither the challenge table nor the
    audit log (the first of the minute is an event, repeats a tally)."""
    from madoguchi.audit import throttle
    from madoguchi.residents.events import CHALLENGE_ISSUED
    from madoguchi.residents.models import SignInChallenge

    settings.RESIDENT_CHALLENGES_PER_MINUTE = 3
    client = Client(REMOTE_ADDR="192.0.2.7")
    nonces = [client.post("/me/challenge").json()["nonce"] for _ in range(3)]
    assert len(set(nonces)) == 3
    r = client.post("/me/challenge")
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "challenge_rate"
    assert "wait a minute" in body["message"]
    assert "待って" in body["message_ja"]
    assert SignInChallenge.objects.count() == 3
    assert AuditEvent.objects.filter(event_name=CHALLENGE_ISSUED.name).count() == 1
    # Another address is not held back by the first one.
    assert Client(REMOTE_ADDR="192.0.2.8").post("/me/challenge").status_code == 200
    # Once the minute is over the repeats are summarised in one event, and asking works again.
    later = timezone.now() + timedelta(minutes=1)
    assert throttle.flush(now=later) == 1
    assert AuditEvent.objects.filter(event_name=throttle.REPEATS.name).count() == 1
    assert throttle.count_this_minute(CHALLENGE_ISSUED, source="192.0.2.7", now=later) == 0


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_not_me_incident_is_read_in_the_pages_language(trusted, desk, language):
    """The incident of a 「これは自分ではない」 report reads in the officials' page language; the
    case (the city's Japanese document) keeps its Japanese sentence."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    client.post(
        f"/me/not-me/completion/{completion.pk}/",
        {"reason": "not_at_desk", "comment": "その日は出張中でした"},
    )
    incident = Incident.objects.get(reason_code="resident_not_me")
    assert incident.summary.startswith("The resident reported on their own page")
    assert "自分ではない" in NotMeReport.objects.get().case.timeline.get().summary
    o = Client()
    o.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = o.get(
        "/officials/incidents/?reason=daily_check", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    reference = completion.visit.reference
    if language == "ja":
        assert "本人が住民用ページで「自分ではない」と申し出: カードで署名された手続" in html
        assert "理由: その日時に窓口に行っていない。本人のコメント: その日は出張中でした" in html
        assert "this was not them" not in html
    else:
        assert (
            "The resident reported on their own page that this was not them: procedure "
            f"signed by the card (visit {reference}," in html
        )
        assert "Reason: I was not at that desk at that time." in html
        assert "The resident&#x27;s comment: その日は出張中でした" in html
        assert "自分ではない" not in html


def test_the_records_page_uses_a_desktops_width(trusted, desk):
    """At 1280 px the records (and the access-history table) get the officials' wide column,
    not the desk's 980 px one; a narrow screen stacks the tray and scrolls tables in their card."""
    card = trusted.card("A")
    desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    html = client.get("/me/records/").content.decode()
    main = re.search(r'<main id="main"[^>]*class="([^"]*)"', html)
    assert main is not None
    assert "wide" in main.group(1).split()
    assert 'data-testid="me-history"' in html


def test_this_was_not_me_pressed_again_opens_no_second_case(trusted, desk):
    """Each press opened one more case and incident: a double click, a reload or a resident
    pressing it twenty times filled the officials' list with copies."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    first = client.post(url, {"reason": "not_at_desk"})
    again = [client.post(url, {"reason": "not_at_desk", "comment": "二度目"}) for _ in range(3)]
    assert {r["Location"] for r in again} == {first["Location"] + "?again=1"}
    # The resident is told the record was already reported, when, and how to add to it (the
    # page read as if a new report had been made, and the second comment went nowhere).
    assert "すでにお申し出を受け付け" not in client.get(first["Location"]).content.decode()
    said = client.get(again[0]["Location"]).content.decode()
    assert "すでにお申し出を受け付け" in said
    assert "新しい申し出は作っていません" in said
    assert re.search(r"令和\d+年\d+月\d+日 \d+:\d+ にすでに", said)
    assert Case.objects.count() == 1
    assert NotMeReport.objects.count() == 1
    assert Incident.objects.filter(reason_code="resident_not_me").count() == 1
    # Once the city closes that case, the same record can be reported again.
    report = NotMeReport.objects.get()
    official = factories.staff(Role.CITY_OFFICIAL)
    cases.case_close(
        report.case, actor=official, summary="確認済み", event_date=timezone.localdate()
    )
    assert client.post(url, {"reason": "not_at_desk"})["Location"] != first["Location"]
    assert Case.objects.count() == 2


def test_this_was_not_me_with_a_nul_in_the_comment_says_why(trusted, desk):
    """A NUL in the comment (``%00`` in the form) was a server error: PostgreSQL cannot store
    it."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    r = client.post(
        f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk", "comment": "a\x00b"}
    )
    assert r.status_code == 200
    assert (
        "コメントに使えない文字（制御文字または壊れた文字）が含まれています" in r.content.decode()
    )
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "number",
    [
        "1234 5678 9012",  # an individual number as written on the card's back
        "１２３４５６７８９０１２",  # typed in full-width digits
        "7010-0000-0000-0001",  # a payment service ID
        "0990 002 3456789",  # bank, branch and account number
        "1234\u00ad5678\u00ad9012",  # soft hyphens between: shown as 123456789012 (round 12)
        "1234、5678、9012",  # Japanese commas between the groups (round 18)
        "1234.5678.9012",
    ],
)
def test_this_was_not_me_refuses_a_long_number_in_the_comment(trusted, desk, number):
    """Side doors round 4: the comment reached the case, the incident and the city's incident
    report as written, so a resident who added their individual number (or an account number
    or payment service ID) had it stored and shown to officials, which the data rules never
    allow. A run of 12 or more digits is refused saying why; a telephone number is not."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    r = client.post(url, {"reason": "not_at_desk", "comment": f"番号は {number} です"})
    assert r.status_code == 200
    assert "ここには番号を書かないでください" in r.content.decode()
    assert not Case.objects.exists()
    assert not Incident.objects.filter(reason_code="resident_not_me").exists()
    r = client.post(url, {"reason": "not_at_desk", "comment": "090-1234-5678 に電話をください"})
    assert r.status_code == 302
    assert Case.objects.count() == 1


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_not_me_page_names_the_record_in_the_pages_language(trusted, desk, language):
    """The 「これは自分ではない」 page named the record in Japanese on the English page too
    (「カードで署名された手続（受付 …」 under "You are reporting this record:")."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    page = client.get(
        f"/me/not-me/completion/{completion.pk}/", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    reference = completion.visit.reference
    if language == "ja":
        assert f"カードで署名された手続（受付 {reference}、" in plain(page)
    else:
        assert f"Procedure signed by the card (visit {reference}, " in plain(page)
        assert "カードで署名された手続" not in page
    # The record is in the page's language, so it carries no lang="ja" of its own (a screen
    # reader read the English sentence with a Japanese voice).
    assert '<strong data-testid="not-me-item">' in page
    assert 'lang="ja"><strong' not in page


@pytest.mark.parametrize("language", ["ja", "en"])
def test_case_and_records_dates_and_provider_read_in_the_pages_language(trusted, desk, language):
    """The English case page dated its timeline and letters in the Japanese era (令和8年…) and
    named the payment service in Japanese; so did the English records page its letters."""
    from tests.benefits import builders

    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    provider = builders.provider()
    provider.display_name_en = "SimPay"
    provider.save()
    link = builders.link(holder, programme=builders.programme(), provider=provider, account="7010")
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, holder=holder, payment_link=link)
    cases.case_close(case, actor=official, summary="完了", event_date=timezone.localdate())
    today = timezone.localdate()
    o = Client()
    o.force_login(official)
    page = o.get(
        f"/cases/{case.pk}/?reason=case_work", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    client = Client()
    sign_in(client, a)
    records = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    notices = re.search(r'data-testid="case-notices">(.*?)</ul>', page, re.S)
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert notices
    assert timeline
    if language == "ja":
        assert "令和" in notices.group(1)
        assert "令和" in timeline.group(1)
        assert "シミュレーションペイ" in page
        assert 'data-testid="notices-in-japanese"' not in page
    else:
        # The letters keep their Japanese titles (they are sent in Japanese): the page says so.
        assert "The letters are in Japanese, as they are sent to the resident" in page
        assert '<span lang="ja">' in notices.group(1)
        for text in (notices.group(1), timeline.group(1)):
            assert "令和" not in text
            assert today.isoformat() in text
        assert "SimPay" in page
        assert "シミュレーションペイ" not in page
        assert f"<li>{today:%Y-%m-%d} <a" in records
        assert "令和" not in records


def test_the_not_me_cases_report_names_the_desks_location_not_the_terminal(trusted, desk):
    """The report of a 「これは自分ではない」 case said 「desk-07において」 (the terminal's name)."""
    from madoguchi.cases import document

    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
    case = NotMeReport.objects.get().case
    # The completion committed nothing linking the resident to money (the stand-in procedure):
    # a point case about no link.
    assert case.programme == "points"
    assert case.payment_link is None
    assert case.desk_location == "本庁 1階"
    content = document.build(case).content[0]
    assert "本庁 1階において" in content
    assert desk.terminal.name not in content


def test_the_english_records_page_says_the_signed_lines_are_japanese(trusted, desk):
    """The English page showed the signed lines in Japanese without a word on why."""
    a = trusted.card("A")
    desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    note = "The lines are in Japanese: your card signed them exactly as written."
    assert note in client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert note not in client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()


def test_the_desk_emails_one_completions_notice_at_most_three_times(trusted, desk):
    """The address is free text: without a limit a desk could send the notice to anyone, any
    number of times. The fourth is refused saying why, in Japanese at the desk."""
    completion = desk_completion(desk, trusted.card("A"))
    staff = _staff_at_desk(desk)
    url = f"/me/desk-email/{completion.pk}/"
    for n in range(3):
        assert staff.post(url, {"address": f"r{n}@example.jp"}).status_code == 302
    assert len(mail.outbox) == 3
    page = staff.post(url, {"address": "r4@example.jp"}, follow=True).content.decode()
    assert "すでに 3 回送信しています" in page
    assert len(mail.outbox) == 3
    with pytest.raises(services.ResidentRefused) as info:
        services.completion_email(completion, "r5@example.jp")
    assert info.value.code == "email_limit"
    assert "already sent 3 times" in info.value.text("en")
    assert len(mail.outbox) == 3


def test_the_desk_email_form_sent_twice_sends_one_email(trusted, desk):
    """Side doors round 14: the form had no one-time key, so a double click or the back button
    and 送信 again sent the notice twice (two emails, two events, both counted against the
    limit). The same form sent again now sends nothing and says so; a new form sends."""
    completion = desk_completion(desk, trusted.card("A"))
    staff = _staff_at_desk(desk)
    receipt = staff.get(reverse("desk:ended_receipt")).content.decode()
    assert 'name="once"' in receipt
    url = f"/me/desk-email/{completion.pk}/"
    form = {"address": "resident@example.jp", "once": "k" * 32}
    assert staff.post(url, form).status_code == 302
    page = staff.post(url, form, follow=True).content.decode()
    assert "このメールのフォームは2回送信されました" in page
    assert len(mail.outbox) == 1
    emailed = AuditEvent.objects.filter(event_name="residents.completion_emailed")
    assert emailed.count() == 1
    # In English on an English page; and a form shown again (a new key) sends again.
    page = staff.post(url, form, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This email form was sent twice" in page
    assert staff.post(url, {**form, "once": "m" * 32}).status_code == 302
    assert len(mail.outbox) == 2
    assert emailed.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_desk_emails_at_once_do_not_pass_the_limit_together(trusted, desk, settings):
    """Side doors round 4: the limit counted the notices already sent, then sent, then recorded
    the sending, with nothing held in between: two requests at once (a double click, or as many
    as a script sends in parallel) both counted below the limit and both sent. Each sending now
    holds the completion's row from the count to the record."""
    import threading
    from unittest import mock

    from django.db import connection

    settings.RESIDENT_EMAILS_PER_COMPLETION = 1
    completion = desk_completion(desk, trusted.card("A"))
    both_counted = threading.Barrier(2, timeout=3)
    real_send = services.EmailMessage.send
    outcomes: list[str] = []

    def send_once_both_counted(message, *args, **kwargs):
        # Without a lock both requests reach the sending together; with one, the second waits
        # for the first to finish, so this wait ends at its timeout and the first sends alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait()
        return real_send(message, *args, **kwargs)

    def request(address):
        try:
            services.completion_email(completion, address)
            outcomes.append("sent")
        except services.ResidentRefused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    with mock.patch.object(services.EmailMessage, "send", send_once_both_counted):
        threads = [threading.Thread(target=request, args=(f"r{n}@example.jp",)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(outcomes) == ["email_limit", "sent"]
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(event_name="residents.completion_emailed").count() == 1


def grant_on_a_link(holder, programme, version, category, points, *, account):
    """A grant of `points` in `category` on a new link of the holder's in `programme`."""
    from madoguchi.benefits import ledger
    from tests.benefits import builders

    link = builders.link(holder, programme=programme, provider=builders.provider(), account=account)
    ledger.grant(
        holder=holder,
        programme=programme,
        version=version,
        category=category,
        points=points,
        link=link,
    )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_records_page_says_a_grant_in_words_and_dates_as_the_letters_do(
    trusted, desk, language
):
    """The points table read 「テスト事業 / c2」 and a bare 1250: the category's code and a number
    without its unit; the Japanese page dated everything 2026-12-01 while its letters said
    令和8年12月1日; the English one named desks in Japanese parentheses."""
    from tests.benefits import builders

    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    programme = builders.programme()
    programme.versions.update(name_en="Test programme")  # versions refuse save()
    version = programme.versions.get()
    grant_on_a_link(holder, programme, version, "c2", 1250, account="7010")
    client = Client()
    sign_in(client, a)
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    grants = re.search(r'id="h-grants">.*?</section>', page, re.S)
    assert grants
    # Each cell names its column for a phone's stacked rows (data-label): the values alone.
    grants = re.search(r".*", re.sub(r' data-label="[^"]*"', "", grants.group(0)), re.S)
    assert grants
    assert "c2" not in grants.group(0)
    now = timezone.localtime()
    if language == "ja":
        assert "<td>テスト事業 / 追加</td><td>1,250ポイント</td>" in grants.group(0)
        assert "令和" in grants.group(0)
        assert f"{now:%Y-%m-%d}" not in page
    else:
        assert "<td>Test programme / 追加</td><td>1,250 points</td>" in grants.group(0)
        assert f"{now:%Y-%m-%d}" in grants.group(0)
        assert "令和" not in page
        # The desk by its location alone (it was 本庁 1階（desk-07）, then 本庁 1階 (desk-07)).
        assert desk.terminal.name not in page
        assert "（" not in page


def test_a_letter_greets_the_resident_not_the_reports_label_and_always_gives_a_number(
    trusted, desk, settings
):
    """The letter began 「A氏　様」 (the incident report's name for the resident, with a second
    honorific), and with no city contact saved its contact line was a bare 「電話：」."""
    from madoguchi.residents import notices
    from tests.cases.pdftext import check_pdf

    completion = desk_completion(desk, trusted.card("A"))
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, holder=completion.visit.holder)
    settings.RESIDENT_CALL_CENTRE = "0120-00-0000"
    settings.CASES_CITY_CONTACT = {}
    cases.case_close(case, actor=official, summary="完了", event_date=timezone.localdate())
    notice = Notice.objects.get(case=case)
    html = notices.notice_html(notice)
    assert "ご本人様" in html
    assert "A氏" not in html
    assert "コールセンター：0120-00-0000" in html
    assert "電話：" not in html
    text = check_pdf(notices.notice_pdf(notice))
    assert "A氏" not in text
    settings.CASES_CITY_CONTACT = {"department": "市民課", "phone": "000-000-0000"}
    # The letter names the contact it was issued with (`Notice.contact`); one issued before
    # letters kept it names the case's city's current one.
    assert "コールセンター：0120-00-0000" in notices.notice_html(notice)
    notice.contact = {}
    html = notices.notice_html(notice)
    assert "電話：000-000-0000" in html
    assert "コールセンター" not in html


def test_the_completion_email_dates_the_completion_in_the_era(trusted, desk):
    completion = desk_completion(desk, trusted.card("A"))
    services.completion_email(completion, "resident@example.jp")
    body = mail.outbox[0].body
    committed = timezone.localtime(completion.committed_at)
    assert f"確定日時: 令和{committed.year - 2018}年{committed.month}月{committed.day}日 " in body
    assert "お申し出ください" in body


def test_this_was_not_me_names_a_public_fund_account_as_the_records_page_does(trusted, desk):
    """The page named the account 「0990-002 ＊＊＊6789」 (the bank's and branch's codes) at the
    visit's start, while the records page beside it shows 「シミュレーション銀行 駅前支店」,
    ＊＊＊＊6789 and the time the account was registered: the resident could not match them."""
    from datetime import UTC, datetime

    from madoguchi.benefits.models import PublicFundAccount
    from madoguchi.residents import selectors
    from madoguchi.residents.constants import ItemKind

    completion = desk_completion(desk, trusted.card("A"))
    account = PublicFundAccount(visit=completion.visit, account_last4="6789")
    account.bank_code, account.bank_name = "0990", "シミュレーション銀行"
    account.branch_code, account.branch_name = "002", "駅前支店"
    account.created_at = datetime(2026, 11, 30, 3, 31, tzinfo=UTC)
    text = selectors.describe_item(ItemKind.PUBLIC_FUND, account)
    assert "シミュレーション銀行 駅前支店 ＊＊＊＊6789" in text
    assert "0990" not in text
    assert "令和8年11月30日 12:31" in text


def _insurance_registration(completion, reason="EXACT_AFTER_NORMALISATION"):
    """A health-insurance use registration on the visit of a completion (as the desk commits
    one), its name check equal once the writing is normalised."""
    from madoguchi.benefits.models import HealthInsuranceRegistration
    from madoguchi.desk.models import Procedure

    return HealthInsuranceRegistration.objects.create(
        holder=completion.visit.holder,
        visit=completion.visit,
        procedure=Procedure.objects.filter(visit=completion.visit).first(),
        completion=completion,
        insurer_number="06270015",
        insured_hash="h" * 64,
        insured_last4="0011",
        registration_ref="REF-1",
        insurer_status="registered",
        name_outcome="match",
        name_reason=reason,
    )


def _point_link(holder, desk, **fields):
    """A point link of `holder` made at `desk`, its name check equal once normalised (and
    `fields` as given)."""
    from madoguchi.benefits.models import PaymentLink
    from tests.benefits import builders

    link = builders.link(
        holder,
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010",
        session=desk,
    )
    PaymentLink.objects.filter(pk=link.pk).update(
        name_outcome="match", name_reason="EXACT_AFTER_NORMALISATION", **fields
    )
    return link


def test_the_records_page_reads_as_a_resident_not_as_staff(trusted, desk):
    """A resident walking the demo read the terminal's internal name beside the desk
    (「本庁 1階（desk-07）」), the name check in staff's terms (「…敬称、法人略語」), the insured
    number with three stars where every other page shows four, and a half-width bracket in
    「CASE-00001 (健康保険証利用登録)」 on the Japanese page."""
    a = trusted.card("A")
    registration = _insurance_registration(desk_completion(desk, a))
    _point_link(registration.holder, desk)
    client = Client()
    sign_in(client, a)
    name = desk.terminal.name
    not_me = client.get(f"/me/not-me/health_insurance/{registration.pk}/").content.decode()
    assert "本庁 1階" in plain(not_me)
    assert name not in not_me
    client.post(f"/me/not-me/health_insurance/{registration.pk}/", {"reason": "never_applied"})
    case = NotMeReport.objects.get().case
    assert name in NotMeReport.objects.get().incident.summary  # staff still read the terminal
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "本庁 1階" in page
    assert name not in page
    assert "<dd>＊＊＊＊0011</dd>" in page
    assert "敬称" not in page
    assert "法人略語" not in page
    assert "口座の名義とあなたのお名前（フリガナ）を比べ、一致しました。" in page
    # "Your reports" names the record reported (the link to it) and its reference, in
    # Japanese brackets.
    assert (
        f'<a href="#health_insurance-{registration.pk}">健康保険証利用登録（保険者 06270015' in page
    )
    ref = f'<span class="nowrap">{case.reference}</span>'  # kept on one line
    assert f"にお申し出（受付番号 {ref}）：" in page
    assert f"<strong>{ref}</strong>（令和" in page
    assert f"{ref} (" not in page
    assert f"{ref}</strong> (" not in page
    english = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert name not in english
    assert "honorifics" not in english
    assert "Small differences in writing" in english
    assert f"<strong>{ref}</strong> (" in english
    assert "（" not in english


def test_a_registration_and_an_account_mask_four_digits_as_every_page_does():
    from madoguchi.benefits.models import HealthInsuranceRegistration, PublicFundAccount

    assert str(HealthInsuranceRegistration(insurer_number="06270015", insured_last4="0011")) == (
        "06270015 ＊＊＊＊0011"
    )
    account = PublicFundAccount(bank_code="0990", branch_code="002", account_last4="6789")
    assert str(account) == "0990-002 ＊＊＊＊6789"


def test_sign_in_refusals_are_in_the_residents_words(trusted, desk):
    """The sign-in page showed the token library's and the server's sentences as they are
    (「この認証要求は発行されていません」, 「カードは別のサイトのアドレスに対して署名しています」):
    words about challenges and origins that tell a resident nothing of what to do next. The
    code stays; the sentence says what to do."""
    a = trusted.card("A")
    client = Client()
    r = sign_in(client, a, origin=ORIGIN)  # a token signed for the desk's origin
    assert (r.status_code, r.json()["code"]) == (403, "origin_wrong")
    ja = r.json()["message_ja"]
    assert "「カードで本人確認する」を押してください" in ja
    assert "0120-95-0178" in ja  # the call centre, if it goes on
    assert "サイト" not in ja
    assert "call centre" in r.json()["message"]
    r = client.post(
        "/me/sign-in",
        data=json.dumps({"token": cardkit.auth_token(a, ME_ORIGIN, "x" * 44), "nonce": "x" * 44}),
        content_type="application/json",
    )
    assert r.json()["code"] == "challenge_unknown"
    ja = r.json()["message_ja"]
    assert "やり直しが必要です" in ja
    assert "認証要求" not in ja
    assert "チャレンジ" not in ja
    # The audit event keeps the code.
    refused = AuditEvent.objects.filter(event_name="residents.sign_in_refused")
    assert {e.payload["code"] for e in refused} == {"origin_wrong", "challenge_unknown"}


def test_the_start_pages_pin_pad_speaks_to_the_resident(db):
    """The resident page used the desk's PIN pad texts: 「職員の方へ：画面を来庁者に向けてください」,
    「読み取り機にカードがありません。来庁者のカードを置いてください」 — staff's words, on a page the
    resident uses alone."""
    html = Client().get("/me/").content.decode()
    assert "来庁者" not in html
    assert "職員の方へ" not in html
    assert "カードの暗証番号を入力してください" in html
    assert (
        "マイナンバーカードを置いてから、もう一度「カードで本人確認する」を押してください" in html
    )
    english = Client().get("/me/?lang=en").content.decode()
    assert "Staff:" not in english
    assert "the resident" not in english


def test_a_missing_or_other_residents_record_leads_back_to_the_resident_page(trusted, desk):
    """A 404 under /me/ said 「このアドレスには何もありません」 and led to 「最初の画面」 at /, the
    staff sign-in: a resident has no start there."""
    a, b = trusted.card("A"), trusted.card("B")
    theirs = desk_completion(desk, b, "PAY-B-0002")
    client = Client()
    sign_in(client, a)
    r = client.get(f"/me/not-me/completion/{theirs.pk}/")
    assert r.status_code == 404
    html = r.content.decode()
    assert 'href="/me/"' in html
    assert 'href="/"' not in html
    assert "あなたの記録ではありません" in html
    assert "わたしの記録に戻る" in html
    # Elsewhere, the start is still the site's.
    assert 'href="/"' in Client().get("/no-such-page/").content.decode()


def test_a_refused_report_keeps_what_the_resident_chose_and_wrote(trusted, desk):
    """After a refusal (a long number in the comment) the form came back empty: the resident
    had to choose the reason and write the whole comment again to take the number out."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    r = client.post(url, {"reason": "not_at_desk", "comment": "番号 123456789012 の日は家にいた"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "長い番号" in html
    assert re.search(r'value="not_at_desk" required checked', html)
    assert "番号 123456789012 の日は家にいた</textarea>" in html
    assert not NotMeReport.objects.exists()


def test_the_english_records_page_names_the_national_programmes_categories_in_english(
    trusted, desk
):
    """The English page's points table read 「MyNaPoint, second phase / 公金受取口座の登録」: the
    national programme's seed names its categories in Japanese only."""
    from madoguchi.benefits.models import Programme

    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    programme = Programme.objects.get(code="mynapoint-2")
    version = programme.versions.get(number=1)
    grant_on_a_link(holder, programme, version, "public_fund", 7500, account="7011")
    client = Client()
    sign_in(client, a)
    en = client.get("/me/records/?lang=en").content.decode()
    grants = re.search(r'id="h-grants">.*?</section>', en, re.S)
    assert grants
    assert "MyNaPoint, second phase / Registering a public-fund receiving account" in grants[0]
    assert "公金受取口座の登録" not in grants[0]
    ja = client.get("/me/records/?lang=ja").content.decode()
    assert "マイナポイント第2弾 / 公金受取口座の登録" in ja


def _linked_at_a_desk(trusted, desk, card_name="A"):
    """A resident's payment link made at the desk, and the completion that signed it (one
    visit)."""
    from tests.benefits import builders

    card = trusted.card(card_name)
    holder = desk_completion(desk, card).visit.holder
    link = builders.link(
        holder,
        programme=builders.programme(),
        provider=builders.provider(),
        account="70100001",
        session=desk,
    )
    return card, link, link.completion


def test_not_me_on_a_link_and_on_its_visits_completion_is_one_case(trusted, desk):
    """A link and the completion that signed it are one event at the desk: "this was not me" on
    both opened two cases and two incidents for it. The second report is added to the first
    (a note on its case, the same incident), and the resident is told so."""
    from tests.lockorder import LockOrder

    card, link, completion = _linked_at_a_desk(trusted, desk)
    client = Client()
    sign_in(client, card)
    first = client.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    assert first.status_code == 302
    with LockOrder() as order:
        second = client.post(
            f"/me/not-me/completion/{completion.pk}/",
            {"reason": "not_at_desk", "comment": "その日は窓口に行っていません"},
        )
    order.assert_rows_before_audit()
    assert second.status_code == 302
    assert "again" not in second["Location"]
    assert Case.objects.count() == 1
    assert Incident.objects.filter(reason_code="resident_not_me").count() == 1
    reports = list(NotMeReport.objects.order_by("pk"))
    assert [r.item_kind for r in reports] == ["link", "completion"]
    assert reports[0].case_id == reports[1].case_id
    assert reports[0].incident_id == reports[1].incident_id
    case = reports[0].case
    entries = list(case.timeline.order_by("seq"))
    assert [e.kind for e in entries] == ["intake", "note"]
    assert entries[1].status == "intake"  # the case stays where it was
    assert "同じ受付の別の記録" in entries[1].summary
    assert completion.visit.reference in entries[1].summary
    assert "その日は窓口に行っていません" in entries[1].summary
    said = client.get(second["Location"]).content.decode()
    assert "お申し出に追加しました" in said
    assert case.reference in said
    # The first report's page does not say it was added to anything.
    assert "お申し出に追加しました" not in client.get(first["Location"]).content.decode()
    english = client.get(second["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This report was added to the one you made on" in english
    # Pressed again on the completion: the report already made, no third one.
    again = client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
    assert again["Location"] == second["Location"] + "?again=1"
    assert NotMeReport.objects.count() == 2


def test_not_me_on_a_visit_whose_case_was_closed_opens_a_new_case(trusted, desk):
    """Once the city closes the case of the first report, another record of that visit gets a
    case of its own (nothing is added to a closed case)."""
    card, link, completion = _linked_at_a_desk(trusted, desk)
    client = Client()
    sign_in(client, card)
    client.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    official = factories.staff(Role.CITY_OFFICIAL)
    cases.case_close(
        Case.objects.get(), actor=official, summary="確認済み", event_date=timezone.localdate()
    )
    r = client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
    assert Case.objects.count() == 2
    assert "お申し出に追加しました" not in client.get(r["Location"]).content.decode()


@pytest.mark.parametrize(
    ("language", "button", "receipt"),
    [
        ("ja", "これは自分ではない", "控えをもう一度ダウンロード"),
        ("en", "This was not me", "Download"),
    ],
)
def test_each_not_me_button_names_its_record_for_a_screen_reader(
    trusted, desk, language, button, receipt
):
    """Every "This was not me" on the records page read the same to a screen reader (and so
    did every receipt download): each now names its record in hidden text, in the page's
    language, so a list of links tells them apart."""
    from html.parser import HTMLParser

    card, link, completion = _linked_at_a_desk(trusted, desk)
    client = Client()
    sign_in(client, card)
    html = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.names: list[str] = []
            self.text: list[str] | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "a":
                self.text = []

        def handle_data(self, data):
            if self.text is not None:
                self.text.append(data)

        def handle_endtag(self, tag):
            if tag == "a" and self.text is not None:
                self.names.append("".join(self.text).strip())
                self.text = None

    parser = Links()
    parser.feed(html)
    not_me = [n for n in parser.names if n.startswith(button)]
    assert len(not_me) == 3  # the link and the two completions
    assert len(set(not_me)) == 3, not_me
    assert any(link.masked_account in n for n in not_me)
    assert any(completion.visit.reference in n for n in not_me)
    receipts = [n for n in parser.names if n.startswith(receipt)]
    assert len(receipts) == 2
    assert len(set(receipts)) == 2
    if language == "en":
        assert all("procedure signed by the card" in n for n in receipts)
    else:
        assert all("カードで署名された手続" in n for n in receipts)


def test_the_demo_tray_on_the_residents_page_speaks_of_their_own_card(db, settings):
    """The resident's page (the demo's card tray beside it) said 「来庁者のカードを置く」, the
    desk's words for someone else's card, to a resident holding their own; the desk's tray
    keeps its words."""
    from django.template.loader import render_to_string
    from django.utils import translation

    settings.DEMO = True
    page = Client().get("/me/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'data-testid="tray-hint"' in page
    assert "ご自身のカードを置く" in page
    assert "来庁者のカード" not in page
    english = Client().get("/me/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "insert or remove your own card" in english
    with translation.override("ja"):
        desk_tray = render_to_string("desk/_tray.html")
    assert "来庁者のカードを置く" in desk_tray


def test_this_was_not_me_refuses_a_comment_over_500_characters_saying_why(trusted, desk):
    """A comment over 500 characters sent by hand (the form's maxlength stops a browser) was cut
    to 500 and kept so, half-written. It is refused saying why, and nothing is recorded; a
    comment of exactly 500 characters, line breaks sent as CR LF counted as one, is kept whole."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    url = f"/me/not-me/completion/{completion.pk}/"
    page = client.get(url).content.decode()
    assert 'maxlength="500"' in page
    r = client.post(url, {"reason": "not_at_desk", "comment": "あ" * 501})
    assert r.status_code == 200
    assert "コメントが500文字を超えています（501文字）" in r.content.decode()
    assert not Case.objects.exists()
    assert not NotMeReport.objects.exists()
    assert not Incident.objects.filter(reason_code="resident_not_me").exists()
    whole = "い" * 249 + "\r\n" + "う" * 250
    r = client.post(url, {"reason": "not_at_desk", "comment": whole})
    assert r.status_code == 302
    assert NotMeReport.objects.get().comment == "い" * 249 + "\n" + "う" * 250


def reported_completion(card, desk):
    """A completion signed with `card`, whose holder signed in (the client) and reported it as
    "not me"; and the report."""
    completion = desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
    return client, completion, NotMeReport.objects.get()


def test_the_not_me_case_keeps_the_complaint_incident_recorded_for_it(trusted, desk):
    """The case opened from "this was not me" said 「このケースに結び付いたインシデントはありません」
    although the report's complaint incident was recorded with it, and that incident's page
    offered to open a second case: the case now keeps its incident, as one opened from an
    incident's page does, in the same transaction and audit event (cases.opened)."""
    *_, report = reported_completion(trusted.card("A"), desk)
    assert report.case.incident == report.incident
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)
    page = o.get(f"/cases/{report.case.pk}/?reason=resident_inquiry").content.decode()
    assert "結び付いたインシデントはありません" not in page
    assert f"#{report.incident.pk}（" in page
    incident_page = o.get(f"/incidents/{report.incident.pk}/?reason=resident_inquiry")
    text = incident_page.content.decode()
    assert report.case.reference in text
    assert 'data-testid="incident-open-case"' not in text
    opened = AuditEvent.objects.filter(event_name="cases.opened")
    assert [e.payload["case"] for e in opened] == [report.case.reference]


def test_the_not_me_case_reads_in_english_on_the_english_pages(trusted, desk):
    """On ?lang=en the case list and the case page showed 「本人からの申し出：身に覚えのない記録」,
    申し出た本人, the reporter and the intake's summary in Japanese: the system wrote them from
    the report, and now renders them in English from it. The stored record stays Japanese, and
    so do the Japanese pages."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    client.post(
        f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk", "comment": "出張中"}
    )
    case = NotMeReport.objects.get().case
    assert case.title == "本人からの申し出：身に覚えのない記録"
    assert case.timeline.get().summary.startswith("本人が住民用ページで「自分ではない」と申し出: ")
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)
    listed = o.get("/cases/?reason=resident_inquiry&lang=en").content.decode()
    assert "The resident&#x27;s report: a record they do not recognise" in listed
    assert "The resident who reported" in listed
    page = o.get(f"/cases/{case.pk}/?reason=resident_inquiry&lang=en").content.decode()
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S).group(1)
    assert "identified by their card" in timeline
    assert "reported on the resident&#x27;s page that this was not them" in timeline
    assert "The resident&#x27;s comment: 出張中" in timeline  # their own words, as written
    assert "申し出" not in timeline
    ja = o.get(f"/cases/{case.pk}/?reason=resident_inquiry&lang=ja").content.decode()
    assert "本人からの申し出：身に覚えのない記録" in ja
    assert case.timeline.get().summary in ja


def closed_by_the_city(report) -> None:
    """An official closes the case of a "this was not me" report."""
    cases.case_close(
        report.case,
        actor=factories.staff(Role.CITY_OFFICIAL),
        summary="確認済み",
        event_date=timezone.localdate(),
    )


def test_a_reported_record_says_when_it_was_reported_instead_of_offering_the_button(trusted, desk):
    """A record already reported as "not me" still offered 「これは自分ではない」, as if nothing
    had been sent: the page now says it was reported, when and under which reference, and the
    button comes back only once the city has closed that case."""
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    button = f'data-testid="not-me-completion-{completion.pk}"'
    assert button in client.get("/me/records/").content.decode()
    url = f"/me/not-me/completion/{completion.pk}/"
    reported = client.post(url, {"reason": "not_at_desk"})["Location"]
    report = NotMeReport.objects.get()
    page = client.get("/me/records/").content.decode()
    assert button not in page
    note = re.search(r'<p[^>]*data-testid="me-reported">(.*?)</p>', page, re.S)
    assert note is not None, page
    assert report.case.reference in note.group(1)
    assert re.search(r"令和\d+年\d+月\d+日 \d+:\d+ に「これは自分ではない」", note.group(1))
    assert "もう一度お申し出いただく必要はありません" in note.group(1)
    english = client.get("/me/records/?lang=en").content.decode()
    assert button not in english
    assert re.search(r"You reported on \d{4}-\d\d-\d\d \d\d:\d\d that this was not you", english)
    # The form itself, reached from a page still open in another tab, says it was reported.
    again = client.get(url)
    assert again["Location"] == reported + "?again=1"
    # The service makes no second report either.
    assert client.post(url, {"reason": "other"})["Location"] == reported + "?again=1"
    assert NotMeReport.objects.count() == 1
    # Once the city closes the case the record can be reported again, and the page says so.
    closed_by_the_city(report)
    page = client.get("/me/records/?lang=ja").content.decode()
    assert button in page
    assert "市はこの件の対応を終えています" in page
    assert client.get(url).status_code == 200


def test_your_reports_name_each_record_link_to_it_and_say_its_stage(trusted, desk):
    """「あなたの申し出」 listed a date, a reference and a kind (「署名された手続」) only: which
    record, and what happens next, were not said. Each report now links to its record on the
    page and gives its case's stage in words."""
    client, completion, report = reported_completion(trusted.card("A"), desk)
    page = client.get("/me/records/?lang=ja").content.decode()
    item = re.search(r'<li data-testid="me-report">(.*?)</li>', page, re.S)
    assert item is not None, page
    anchor = f"completion-{completion.pk}"
    assert f'<a href="#{anchor}">カードで署名された手続（受付 {completion.visit.reference}' in (
        item.group(1)
    )
    assert f'id="{anchor}"' in page  # the record it links to
    assert f'（受付番号 <span class="nowrap">{report.case.reference}</span>）' in item.group(1)
    assert "お申し出を受け付けました。市が確認します。" in item.group(1)
    assert "受付番号を添えてお電話ください" in page
    english = client.get("/me/records/?lang=en").content.decode()
    item = re.search(r'<li data-testid="me-report">(.*?)</li>', english, re.S)
    assert f'<a href="#{anchor}">Procedure signed by the card (visit' in item.group(1)
    assert "Your report has been received; the city will look into it." in item.group(1)
    closed_by_the_city(report)
    page = client.get("/me/records/?lang=ja").content.decode()
    item = re.search(r'<li data-testid="me-report">(.*?)</li>', page, re.S)
    assert "この件の対応は完了しました。" in item.group(1)


def test_an_empty_records_page_says_what_to_do_next(trusted, desk):
    """A card no desk has seen signed in to a page that said only that no procedure was done:
    not where to ask if the resident expected one (a procedure, or a renewed card whose earlier
    card the city has not linked yet). It says so, in Japanese and English, and no longer asks
    them to press a "This was not me" button the page does not have."""
    client = Client()
    assert sign_in(client, trusted.card("C")).status_code == 200
    page = client.get("/me/records/?lang=ja").content.decode()
    empty = re.search(r'<div[^>]*data-testid="me-empty">(.*?)</div>', page, re.S)
    assert empty is not None, page
    assert "このカードで窓口で行った手続きは、まだありません。" in empty.group(1)
    assert "市の窓口でお尋ねいただくか、コールセンター（0120-95-0178）" in plain(empty.group(1))
    assert "カードを更新した場合" in empty.group(1)
    assert "その横の「これは自分ではない」を押して" not in page
    english = client.get("/me/records/?lang=en").content.decode()
    empty = re.search(r'<div[^>]*data-testid="me-empty">(.*?)</div>', english, re.S)
    assert "ask at the city's desk or call the call centre (0120-95-0178)" in plain(empty.group(1))
    assert 'press "This was not me" beside it' not in english


@pytest.mark.django_db(transaction=True)
def test_one_email_form_sent_twice_at_once_sends_once(trusted, desk, settings):
    """The form's key is checked once the completion's row is held, not before: two sends of
    the same form at once (a double click) cannot both find no key and both send."""
    import threading
    from unittest import mock

    from django.db import connection

    completion = desk_completion(desk, trusted.card("A"))
    both_ready = threading.Barrier(2, timeout=3)
    real_send = services.EmailMessage.send
    outcomes: list[bool] = []

    def send_when_both_ready(message, *args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):
            both_ready.wait()
        return real_send(message, *args, **kwargs)

    def request():
        try:
            outcomes.append(
                services.completion_email(completion, "r@example.jp", once_key="k" * 32)
            )
        finally:
            connection.close()

    with mock.patch.object(services.EmailMessage, "send", send_when_both_ready):
        threads = [threading.Thread(target=request) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(outcomes) == [False, True]
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(event_name="residents.completion_emailed").count() == 1


def test_a_case_is_about_the_registration_the_resident_reported_not_their_latest(trusted, desk):
    """A resident's "this was not me" on an older insurance registration (suspended since)
    opened a case that took their latest registration, their own correct one, as its subject:
    the case page showed no registration at all (「No link attached yet.」), and its suspension
    step would have asked the insurer to cancel the registration the resident never reported."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from madoguchi.benefits.constants import LinkStatus
    from madoguchi.cases import document
    from madoguchi.cases import selectors as case_selectors
    from madoguchi.cases.models import LegacyLink

    a = trusted.card("A")
    reported = _insurance_registration(desk_completion(desk, a, "PAY-A-0001"))
    # Made months ago at 08:30 in the city (the day before in UTC), suspended since.
    made = datetime(2026, 6, 1, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    type(reported).objects.filter(pk=reported.pk).update(
        status=LinkStatus.SUSPENDED, insurer_number="39131001", created_at=made
    )
    latest = _insurance_registration(desk_completion(desk, a, "PAY-A-0002"))
    client = Client()
    sign_in(client, a)
    client.post(f"/me/not-me/health_insurance/{reported.pk}/", {"reason": "never_applied"})
    case = NotMeReport.objects.get().case
    assert case_selectors.case_registration(case) == reported
    official = Client()
    official.force_login(factories.staff(Role.CITY_OFFICIAL))
    page = official.get(f"/cases/{case.pk}/?reason=case_work", HTTP_ACCEPT_LANGUAGE="ja")
    html = page.content.decode()
    # Its state in Japanese brackets on the Japanese page (not 「(登録済み, 停止中)」).
    assert (
        '保険者番号 39131001、被保険者番号 <span class="nowrap">＊＊＊＊0011</span>（登録済み・'
        in html
    )
    assert latest.insurer_number not in html
    # The visit it was made in, as a point link's case shows its visit's trail.
    assert reported.visit.reference in html
    # Its subject is known and signed: no legacy link (from before signed completion) is
    # offered to take its place, and one sent anyway is refused, nothing recorded.
    assert 'data-testid="legacy-link-form"' not in html
    refused = official.post(
        f"/cases/{case.pk}/legacy-link/",
        {"legacy-resident_label": "A氏", "legacy-account_number": "1234"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="ja",
    )
    assert "ご本人が申し出た、カードの署名で確定した登録" in refused.content.decode()
    assert not LegacyLink.objects.exists()
    assert case_selectors.case_registration(case) == reported
    # The incident report dates what went wrong on the day the registration was made, not on
    # the day the resident reported it (nor on its UTC day).
    assert document.build(case).content[0].startswith("令和8年6月1日（月）、本庁 1階")


def test_a_report_of_a_whole_completion_opens_a_case_about_what_it_committed(trusted, desk):
    """A resident's "this was not me" on a signed completion (their records page lists each one
    with its signed lines) opened a point case about nothing: its page said no link was
    attached, offered to attach a link from before signed completion in its place and read no
    finding, and a later report of the registration the completion committed, added to that
    case as a note, left it about nothing. The case is about what the completion committed."""
    from madoguchi.cases import findings

    a = trusted.card("A")
    completion = desk_completion(desk, a)
    registration = _insurance_registration(completion)
    client = Client()
    sign_in(client, a)
    client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
    case = NotMeReport.objects.get().case
    assert case.programme == "health_insurance"
    assert findings.signed_subject(case) == registration
    official = Client()
    official.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = official.get(
        f"/cases/{case.pk}/?reason=case_work", HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert '保険者番号 06270015、被保険者番号 <span class="nowrap">＊＊＊＊0011</span>' in html
    assert completion.visit.reference in html  # the visit's audit trail
    assert 'data-testid="legacy-link-form"' not in html
    # The registration itself reported afterwards joins the same case, which stays about it.
    client.post(f"/me/not-me/health_insurance/{registration.pk}/", {"reason": "not_at_desk"})
    assert NotMeReport.objects.count() == 2
    assert findings.signed_subject(Case.objects.get()) == registration


def test_a_residents_report_names_the_staff_who_served_the_visit(trusted, desk):
    """The incident of a resident's "this was not me" named no staff member: the daily report to
    the city read — in its staff column for the visit it was about. It names the staff member
    who served the visit; the audit log says the resident's page recorded it, not they."""
    from madoguchi.reports import services as reports

    _, completion = report_not_me(trusted, desk)
    incident = Incident.objects.get(reason_code="resident_not_me")
    served_by = completion.visit.staff
    assert incident.staff == served_by
    recorded = AuditEvent.objects.get(event_name="incidents.recorded", subject_id=str(incident.pk))
    assert recorded.actor_id != str(served_by.pk)
    assert "住民用ページ" in recorded.actor_label
    day = reports.build_daily(
        completion.visit.terminal, timezone.localdate(completion.visit.started_at)
    )
    (row,) = [i for i in day["incidents"] if i["id"] == incident.pk]
    assert row["staff"] == str(served_by)


def test_the_records_show_the_names_each_check_compared(trusted, desk):
    """After 2023 residents were asked to check their own records. A resident whose card had
    signed another person's account, under that person's reading typed at the desk, read on
    their page a masked number and 「一致」: nothing that was not theirs. The page shows the two
    names each check compared, the account holder's as the provider reported it and the reading
    of the resident's name it was compared with, and an insurance registration's insured name
    as the insurer registered it."""
    from madoguchi.benefits.models import HealthInsuranceRegistration

    b = trusted.card("B")  # 鈴木　一郎
    registration = _insurance_registration(desk_completion(desk, b))
    _point_link(
        registration.holder, desk, account_holder_kana="ﾔﾏﾀﾞ ﾀﾛｳ", resident_kana="ヤマダ タロウ"
    )
    client = Client()
    sign_in(client, b)
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    item = page[page.index('data-testid="me-link"') :]
    assert "口座の名義（事業者・金融機関からの報告）</dt>" in item
    assert '<dd lang="ja" data-testid="holder-kana">ﾔﾏﾀﾞ ﾀﾛｳ</dd>' in item
    assert "照合に使ったあなたのお名前（フリガナ）</dt>" in item
    assert '<dd lang="ja" data-testid="compared-kana">ヤマダ タロウ</dd>' in item
    # The insurer has not answered yet, then has.
    assert '<dd lang="ja" data-testid="insured-kana">まだ報告されていません</dd>' in page
    HealthInsuranceRegistration.objects.filter(pk=registration.pk).update(
        insured_name_kana="ｽｽﾞｷ ｲﾁﾛｳ"
    )
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "name, as the provider or bank reported it</dt>" in page
    assert '<dd lang="ja" data-testid="insured-kana">ｽｽﾞｷ ｲﾁﾛｳ</dd>' in page


@pytest.mark.parametrize(
    ("outcome", "reason", "confirmed", "ja", "en"),
    [
        ("close", "MINOR_TYPO", True, "類似（完全には一致しません）：", "Close (not identical): "),
        ("unavailable", "NAME_UNAVAILABLE", True, "照合できませんでした：", "Not compared: "),
        ("match", "EXACT_AFTER_NORMALISATION", False, "一致：", "Match: "),
    ],
)
def test_a_name_checks_outcome_is_said_in_the_residents_words(
    trusted, desk, outcome, reason, confirmed, ja, en
):
    """The records said a close name 「類似（要確認）」 and one the provider did not report
    「照合不可（要確認）」, the desk's words telling staff to confirm: read by a resident who had
    confirmed the name at the desk long before, as something still asked of them."""
    b = trusted.card("B")
    completion = desk_completion(desk, b)
    _point_link(completion.visit.holder, desk)
    from madoguchi.benefits.models import PaymentLink

    PaymentLink.objects.update(name_outcome=outcome, name_reason=reason, close_confirmed=confirmed)
    client = Client()
    sign_in(client, b)
    for lang, label, words in (
        ("ja", "口座名義の照合結果", ja),
        ("en", "Account holder name check", en),
    ):
        page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        check = re.search(f"<dt>{label}</dt><dd>([^<]*)</dd>", page).group(1)
        assert check.startswith(words), check
        assert "要確認" not in check
        assert "(confirm)" not in check


def test_the_residents_receipt_is_in_the_language_of_their_page(trusted, desk, monkeypatch):
    """A resident reading their own page in English downloaded a Japanese receipt."""
    from madoguchi.residents import views
    from tests.receiptkit import languages_asked

    asked = languages_asked(monkeypatch, views)
    a = trusted.card("A")
    completion = desk_completion(desk, a)
    client = Client()
    sign_in(client, a)
    for lang in ("en", "ja"):
        r = client.get(f"/me/receipts/{completion.pk}.pdf", HTTP_ACCEPT_LANGUAGE=lang)
        assert r["Content-Type"] == "application/pdf"
    assert asked == ["en", "ja"]
