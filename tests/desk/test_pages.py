"""Desk pages through Django's test client (the browser suite drives the card operations)."""

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.checklists import services as checklists
from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk import services
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.models import DeskSession
from tests import cardkit, checklistkit, factories

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


_HIDDEN = re.compile(r'<input type="hidden" name="(visit|stage|round|summary)" value="([^"]*)"')


def shown_form(page: str) -> dict[str, str]:
    """The hidden fields of the page's (first) checklist form as the browser sends them back:
    the visit, the stage, the completion round and (before completion) the summary shown."""
    fields: dict[str, str] = {}
    for name, value in _HIDDEN.findall(page):
        fields.setdefault(name, value)
    return fields


@pytest.fixture
def staff_client(client, db):
    """A browser enrolled as a terminal, with desk staff signed in on it."""
    _terminal, _raw, staff = _enrolled_and_signed_in(client)
    client.desk = DeskSession.objects.get(staff=staff, closed_at__isnull=True)
    return client


def start(client, card):
    desk = client.desk
    nonce = services.auth_challenge(desk_session=desk).value
    return services.visit_start(
        desk_session=desk, token=cardkit.auth_token(card, ORIGIN, nonce), nonce=nonce
    )


def prepare(client, account="PAY-A-0001", points=1200):
    return services.procedure_prepare(
        desk_session=client.desk, kind="test_link", fields={"account": account, "points": points}
    )


def test_desk_needs_staff_on_a_terminal(client, db):
    assert client.get("/desk/").status_code == 302
    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    r = client.get("/desk/")
    assert r.status_code == 302
    assert r["Location"] == reverse("accounts:login")


def test_desk_staff_whose_desk_sign_in_ended_are_told_so_not_to_find_a_terminal(staff_client):
    """The sweeper closed the desk session as idle (or another tab signed out): the desk page
    sent its staff to the sign-in page of this registered terminal saying 「窓口の画面は、登録さ
    れた端末でサインインして使ってください。」, as if it were not one (a walk of the demo)."""
    terminal_services.desk_session_close(
        session=staff_client.desk, reason=DeskSessionCloseReason.IDLE, actor=None
    )
    page = staff_client.get("/desk/", follow=True)
    assert page.redirect_chain[-1][0] == reverse("accounts:login")
    text = page.content.decode()
    assert "この端末での窓口のサインインは終了しました" in text
    assert "登録された端末でサインインして使ってください" not in text


def test_a_colleague_signing_in_on_the_desk_is_the_reason_given(staff_client):
    """A colleague takes over the desk at lunch (signs in on this terminal): the one who left
    is told a colleague signed in here, not that they signed out or were idle."""
    terminal_services.desk_session_open(
        terminal=staff_client.desk.terminal, staff=factories.staff()
    )
    text = staff_client.get("/desk/", follow=True).content.decode()
    assert "この端末で別の職員がサインインしたため" in text
    assert "サインアウトしたか" not in text


def test_a_sign_in_elsewhere_after_a_colleague_took_over_is_not_the_reason(staff_client):
    """The colleague's sign-in here closed it; the staff member's own sign-in on another desk
    came later and is not what ended it."""
    terminal_services.desk_session_open(
        terminal=staff_client.desk.terminal, staff=factories.staff()
    )
    terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=staff_client.desk.staff
    )
    text = staff_client.get("/desk/", follow=True).content.decode()
    assert "この端末で別の職員がサインインしたため" in text
    assert "別の端末（" not in text


def test_an_idle_sign_in_says_it_was_idle(staff_client):
    terminal_services.desk_session_close(
        session=staff_client.desk, reason=DeskSessionCloseReason.IDLE, actor=None
    )
    text = staff_client.get("/desk/", follow=True).content.decode()
    assert "操作のない時間が続いたため、この端末での窓口のサインインは終了しました" in text


def test_home_sends_staff_to_the_desk_and_officials_to_their_pages(staff_client, client, db):
    assert staff_client.get("/")["Location"] == reverse("desk:terminal")


def test_home_sends_officials_to_their_pages(client, db):
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    assert client.get("/")["Location"] == reverse("officials:today")


def test_the_demo_trays_card_face_reads_as_one_sentence_in_either_language(staff_client, settings):
    """The tray's line 'Printed on the card: 鈴木　一郎, born 1975-09-30, Male' took the form's
    capitalised choice into the middle of its English sentence; it reads 'male' now."""
    settings.DEMO = True
    english = staff_client.get("/desk/?lang=en").content.decode()
    assert "Printed on the card: {name}, born {birth}, {sex}" in english
    assert '<template id="msg-tray-sex-1">male</template>' in english
    assert '<template id="msg-tray-sex-2">female</template>' in english
    assert '<template id="msg-tray-sex-9">not applicable</template>' in english
    japanese = staff_client.get("/desk/?lang=ja").content.decode()
    assert '<template id="msg-tray-sex-1">男性</template>' in japanese
    assert '<template id="msg-tray-sex-2">女性</template>' in japanese


def test_waiting_page_in_japanese_without_inline_script(staff_client, settings):
    settings.CARD_AGENT_ORIGIN = "http://127.0.0.1:47110"
    r = staff_client.get("/desk/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "来庁者のマイナンバーカードを" in html
    assert 'data-agent-origin="http://127.0.0.1:47110"' in html
    # CSP: scripts only from files, no inline script or style attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html
    assert "no-store" in r["Cache-Control"]
    assert r.headers["Content-Language"] == "ja"


def test_open_visit_page_shows_banner_and_is_not_cached(trusted, staff_client):
    visit = start(staff_client, trusted.card("A"))
    assert staff_client.get("/desk/")["Location"] == reverse("desk:visit")
    r = staff_client.get("/desk/visit/")
    html = r.content.decode()
    assert visit.reference in html
    assert 'data-testid="visit-banner"' in html
    assert f'data-card-fingerprint="{visit.certificate.fingerprint}"' in html
    assert "no-store" in r["Cache-Control"]
    assert "テスト用の紐付け" in html  # the procedure is offered


def test_the_stand_in_procedure_is_offered_after_the_residents_real_ones(
    trusted, staff_client, settings
):
    """The demo desk (the stand-in enabled for its incident scenario) offered 「テスト用の紐付け」
    as its first button, above the point application a new user came to make."""
    settings.DESK_TEST_PROCEDURE = True
    start(staff_client, trusted.card("A"))
    html = staff_client.get("/desk/visit/").content.decode()
    offered = re.findall(r'data-testid="add-([a-z_]+)"', html)
    assert offered[-1] == "test_link", offered
    assert offered[0] == "point_application", offered
    assert len(offered) == len(set(offered)) >= 2


def test_the_banners_seconds_keep_their_unit_on_the_same_line(trusted, staff_client):
    """At 390 px the English banner broke 'confirmed by the server 0 / s ago' between the
    number and its unit: the two are joined by a no-break space, in either language."""
    start(staff_client, trusted.card("A"))
    english = staff_client.get("/desk/visit/?lang=en").content.decode()
    assert "confirmed by the server {n}\u00a0s ago</template>" in english
    japanese = staff_client.get("/desk/visit/?lang=ja").content.decode()
    assert "{n}\u00a0秒前にサーバーが確認</template>" in japanese


def test_the_banners_time_left_reads_as_the_pages_clock_counts_it(trusted, staff_client):
    """The banner showed the time left as the server wrote it ("299 s") until the page's first
    tick rewrote it as minutes and seconds ("4:58"): the server writes it as the clock counts."""
    visit = start(staff_client, trusted.card("A"))
    for lang in ("ja", "en"):
        html = staff_client.get(f"/desk/visit/?lang={lang}").content.decode()
        shown = re.search(r'data-testid="time-left">([0-9]+):([0-5][0-9])<', html)
        assert shown, html
        minutes, seconds = map(int, shown.groups())
        assert abs(minutes * 60 + seconds - services.seconds_left(visit)) <= 2


def test_procedure_form_prepares_a_pending_procedure(trusted, staff_client):
    visit = start(staff_client, trusted.card("A"))
    shown = {"visit": visit.reference}
    r = staff_client.post("/desk/visit/procedures/test_link/", {**shown, "points": "9"})
    assert r.status_code == 400
    assert not Procedure.objects.exists()
    r = staff_client.post(
        "/desk/visit/procedures/test_link/", {**shown, "account": "PAY-A-7", "points": "300"}
    )
    assert r["Location"] == reverse("desk:visit")
    p = Procedure.objects.get(visit=visit)
    assert p.fields == {"account": "PAY-A-7", "points": 300}
    # The page says what was added, the procedure's name in 「」 as Japanese quotes a name (it
    # read 「テスト用の紐付け を追加しました」, a space where no Japanese sentence has one).
    page = staff_client.get(r["Location"]).content.decode()
    assert "「テスト用の紐付け」を追加しました。来庁者がカードで確定するまで" in page
    assert p.status == ProcedureStatus.PENDING
    assert staff_client.get("/desk/visit/procedures/nonexistent/").status_code == 404


def test_a_prepared_procedure_waits_for_the_cards_confirmation_in_the_desks_words(
    trusted, staff_client
):
    """The visit's table says a prepared procedure waits for the card's confirmation (確定待ち,
    beside 確定済み once signed), not that it waits to be sent: nothing is sent before it."""
    start(staff_client, trusted.card("A"))
    prepare(staff_client)
    html = staff_client.get("/desk/visit/").content.decode()
    assert '<td class="status-pending nowrap">確定待ち</td>' in html
    assert "送信待ち" not in html


def test_confirmation_shows_exactly_the_transactions_display_lines(trusted, staff_client):
    visit = start(staff_client, trusted.card("A"))
    prepare(staff_client, "PAY-A-0042", 4200)
    r = staff_client.get("/desk/visit/confirm/")
    html = r.content.decode()
    lines = services.build_transaction(visit)["display"]
    # Each line as it reads (its names' words and masked numbers are kept whole in spans).
    text = re.sub(r'<span class="nowrap">([^<]*)</span>', r"\1", html)
    for line in lines:
        assert f"<li>{line}</li>" in text
    data = re.search(r'data-lines="([^"]*)"', html).group(1)
    assert json.loads(data.replace("&quot;", '"')) == lines
    assert "no-store" in r["Cache-Control"]
    # The lines are Japanese on every page (what the card signs); the English page says so.
    assert 'data-testid="lines-in-japanese"' not in html
    english = staff_client.get("/desk/visit/confirm/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The lines are in Japanese: the card signs them exactly as written." in english


def test_the_desks_links_are_reversed_once_and_follow_the_script_prefix(
    trusted, staff_client, monkeypatch
):
    """The desk's fixed URLs are reversed once per process and script prefix, not on every page
    (issue 15, ninth round); behind a prefix (a city's server under /city/) they carry it."""
    import django.urls

    checklists.template_install_default()
    start(staff_client, trusted.card("A"))
    prepare(staff_client)
    assert staff_client.get("/desk/visit/confirm/").status_code == 200
    reversed_names = []
    real = django.urls.reverse

    def recording(viewname, *args, **kwargs):
        reversed_names.append(viewname)
        return real(viewname, *args, **kwargs)

    monkeypatch.setattr(django.urls, "reverse", recording)
    html = staff_client.get("/desk/visit/confirm/").content.decode()
    assert [name for name in reversed_names if name.startswith("desk:")] == []
    for name in ("checklist", "visit", "terminal", "ended", "receipt"):
        assert f'"{real(f"desk:{name}")}"' in html
    # As Django's WSGI handler sets it from SCRIPT_NAME (the test client does not).
    django.urls.set_script_prefix("/city/")
    try:
        prefixed = staff_client.get("/desk/visit/confirm/").content.decode()
    finally:
        django.urls.clear_script_prefix()
    assert 'action="/city/desk/visit/checklist/"' in prefixed
    assert 'href="/city/desk/visit/"' in prefixed
    assert 'hx-post="/city/desk/visit/checklist/"' in prefixed


def test_confirmation_without_pending_goes_back_to_the_visit(trusted, staff_client):
    start(staff_client, trusted.card("A"))
    assert staff_client.get("/desk/visit/confirm/")["Location"] == reverse("desk:visit")


def test_checklist_post_records_ticks_and_answers_htmx_with_the_fieldset(trusted, staff_client):
    checklists.template_install_default()
    visit = start(staff_client, trusted.card("A"))
    prepare(staff_client)
    form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    assert form["visit"] == visit.reference
    r = staff_client.post(
        "/desk/visit/checklist/",
        {**form, "item": ["card_face_matches", "pin_by_resident"]},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200
    assert b'id="checklist-before_completion"' in r.content
    assert b"<html" not in r.content
    ticked = set(ChecklistTick.objects.filter(visit=visit).values_list("item__code", flat=True))
    assert ticked == {"card_face_matches", "pin_by_resident"}
    # Unticking one appends a withdrawal (the form shows what it showed ticked); ticking again
    # nothing changed appends nothing.
    assert r.content.count(b'name="shown"') == 2
    staff_client.post(
        "/desk/visit/checklist/",
        {**form, "item": ["pin_by_resident"], "shown": ["card_face_matches", "pin_by_resident"]},
    )
    rows = ChecklistTick.objects.filter(visit=visit).order_by("pk")
    assert [(t.item.code, t.ticked) for t in rows] == [
        ("card_face_matches", True),
        ("pin_by_resident", True),
        ("card_face_matches", False),
    ]
    bogus = {"visit": visit.reference, "stage": "bogus"}
    assert staff_client.post("/desk/visit/checklist/", bogus).status_code == 400


def test_end_records_after_items_ends_the_visit_and_pages_forget_it(trusted, staff_client):
    checklists.template_install_default()
    a = trusted.card("A")
    visit = start(staff_client, a)
    prepare(staff_client)
    for item in checklists.items_for(visit, "before_completion"):
        checklists.tick(visit=visit, item=item, staff=staff_client.desk.staff)
    checklistkit.tick_before(staff_client.desk)
    ch = services.completion_challenge(desk_session=staff_client.desk)
    token = cardkit.completion_token(a, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    services.completion_commit(desk_session=staff_client.desk, token=token, nonce=ch.nonce.value)
    r = staff_client.get("/desk/visit/receipt/")
    assert "PAY-A-0001" in r.content.decode()
    assert "no-store" in r["Cache-Control"]
    # The digest is named for what it is (it read 「記録: 92d5…」, a bare code).
    digest = Completion.objects.get().transaction_digest[:16]
    said = "カードが署名した内容の照合番号（監査ログとの照合に使います）: <code>"
    assert said + digest in r.content.decode()
    english = staff_client.get("/desk/visit/receipt/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Fingerprint of what the card signed (to match the audit log): <code>" in english
    # The signed lines stay Japanese on the English receipt, as on the confirmation: it says so.
    assert "The lines are in Japanese: the card signed them exactly as written." in english
    assert 'data-testid="lines-in-japanese"' not in r.content.decode()
    r = staff_client.post(
        "/desk/visit/end/",
        {**shown_form(r.content.decode()), "item": ["receipt_handed", "visit_ended"]},
    )
    assert r["Location"] == reverse("desk:terminal")
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.NEXT_RESIDENT
    assert ChecklistTick.objects.filter(visit=visit, item__code="receipt_handed").exists()
    for path in ("/desk/visit/", "/desk/visit/confirm/", "/desk/visit/receipt/"):
        r = staff_client.get(path)
        assert r["Location"] == reverse("desk:ended")
    html = staff_client.get("/desk/ended/").content.decode()
    assert "PAY-A-0001" not in html
    assert "受付を開始してください" in html  # the refusal message carried to the page


def test_ended_page_says_why_a_completion_was_refused(trusted, staff_client):
    """The seed's incident: B's card signs B's application in A's visit."""
    a, b = trusted.card("A"), trusted.card("B")
    visit = start(staff_client, a)
    prepare(staff_client, "PAY-B-0002")
    checklistkit.tick_before(staff_client.desk)
    ch = services.completion_challenge(desk_session=staff_client.desk)
    token = cardkit.completion_token(b, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    with pytest.raises(Refusal):
        services.completion_commit(
            desk_session=staff_client.desk, token=token, nonce=ch.nonce.value
        )
    html = staff_client.get("/desk/ended/").content.decode()
    assert f"受付 {visit.reference} は終了しました" in html
    assert "署名したカードが、受付を開始したカードと異なります" in html
    assert "準備中の手続き 1 件は確定されていません" in html
    assert Visit.objects.get(pk=visit.pk).end_reason == VisitEndReason.COMPLETION_REFUSED


def test_agent_origin_per_terminal(staff_client, settings):
    name = staff_client.desk.terminal.name
    settings.CARD_AGENT_ORIGINS = {name: "http://127.0.0.1:47111"}
    assert (
        'data-agent-origin="http://127.0.0.1:47111"' in staff_client.get("/desk/").content.decode()
    )
    settings.CARD_AGENT_ORIGINS = {"another": "http://127.0.0.1:47112"}
    settings.CARD_AGENT_ORIGIN = "http://127.0.0.1:47110"
    assert (
        'data-agent-origin="http://127.0.0.1:47110"' in staff_client.get("/desk/").content.decode()
    )


def test_the_poll_answers_304_while_nothing_changed_in_few_queries(trusted, staff_client):
    """The desk page's once-a-second poll: the visit's state with an ETag, 304 Not Modified
    while it is unchanged, 200 with a new ETag once something happened, 204 once it ended."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    visit = start(staff_client, trusted.card("A"))
    first = staff_client.get("/api/v1/visits/current/state")
    assert first.status_code == 200
    body = first.json()
    assert body["reference"] == visit.reference
    assert 0 < body["seconds_left"] <= 3600
    etag = first["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = staff_client.get("/api/v1/visits/current/state", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    # Compared as RFC 9110 compares it: weak (what a compressing proxy makes of it), in a
    # list, or `*` (round 19: an exact string only).
    for sent in (f"W/{etag}", f'"other", {etag}', "*"):
        r = staff_client.get("/api/v1/visits/current/state", HTTP_IF_NONE_MATCH=sent)
        assert r.status_code == 304, sent
    # The session, the desk session with its binding and staff member, the visit.
    assert len(queries.captured_queries) <= 3, [q["sql"][:80] for q in queries]
    prepare(staff_client)  # activity: the visit's inactivity limit moves
    changed = staff_client.get("/api/v1/visits/current/state", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    gone = staff_client.get("/api/v1/visits/current/state", HTTP_IF_NONE_MATCH=changed["ETag"])
    # No visit is the desk's normal state once the resident left, not an error for the
    # browser's console: 204 No Content.
    assert gone.status_code == 204
    assert gone.content == b""
    assert gone["Cache-Control"] == "no-store"
    doc = staff_client.get("/api/v1/openapi.json").json()
    answers = doc["paths"]["/api/v1/visits/current/state"]["get"]["responses"]
    assert {"200", "204", "304"} <= set(answers)


@pytest.mark.parametrize(
    ("kind", "english", "japanese"),
    [
        ("point_application", "Payment service ID", "決済サービスID"),
        ("public_fund_account", "Bank code", "金融機関コード"),
        ("public_fund_account", ">Savings</option>", ">貯蓄</option>"),
        ("health_insurance_use", "Insurer number", "保険者番号"),
        ("health_insurance_use", ">Female</option>", ">女性</option>"),
    ],
)
def test_procedure_forms_speak_the_pages_language(trusted, staff_client, kind, english, japanese):
    """The benefits forms' labels were Japanese literals: the English desk page asked for
    「決済サービスID」 under English headings."""
    start(staff_client, trusted.card("A"))
    url = f"/desk/visit/procedures/{kind}/"
    en = staff_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english in en
    assert "The resident confirmed the kana" in en
    assert japanese not in en
    assert "ご本人" not in en
    ja = staff_client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert japanese in ja
    assert "ご本人がフリガナを確認しました" in ja


def test_a_checklist_stage_that_does_not_exist_is_refused_with_a_reason(trusted, staff_client):
    visit = start(staff_client, trusted.card("A"))
    r = staff_client.post(
        "/desk/visit/checklist/", {"visit": visit.reference, "stage": "made-up", "item": "x"}
    )
    assert r.status_code == 400
    assert "リクエストを読み取れませんでした" in r.content.decode()


def test_the_receipt_is_headed_with_what_the_card_did_not_a_state_it_may_not_have(
    trusted, staff_client
):
    """The receipt page was headed 登録済み (registered) whatever its procedures' states: above a
    health-insurance registration still waiting for the insurer (登録手続き中) or refused by it
    (登録できませんでした), the heading said the opposite of the line below it. It says what the
    card did, true of every receipt, and leaves each procedure's state to its own line."""
    a = trusted.card("A")
    start(staff_client, a)
    prepare(staff_client)
    checklistkit.tick_before(staff_client.desk)
    ch = services.completion_challenge(desk_session=staff_client.desk)
    token = cardkit.completion_token(a, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    services.completion_commit(desk_session=staff_client.desk, token=token, nonce=ch.nonce.value)
    for lang, heading in (
        ("ja", "ご本人のカードで確定しました"),
        ("en", "Confirmed with the resident's card"),
    ):
        html = staff_client.get(f"/desk/visit/receipt/?lang={lang}").content.decode()
        shown = re.search(r'data-testid="receipt-heading">([^<]*)<', html)
        assert shown, html
        assert shown.group(1) == heading


def test_a_visit_ended_right_after_its_completion_offers_its_receipt_until_the_next(
    trusted, staff_client
):
    """The resident takes the card back right after the PIN: the visit ends (card removed) and
    the desk went to the ended page, which said only that the visit ended, so staff could not
    hand the receipt of what the card did commit. The ended page says what was committed and
    offers that visit's receipt, read-audited as the receipt page, until the next visit starts
    (the rule of the receipt PDF and the notice email); another desk session never sees it."""
    from madoguchi.audit.models import AuditEvent

    def reads():
        return AuditEvent.objects.filter(
            event_name="identity.record_read", payload__page="desk.receipt"
        ).count()

    a, b = trusted.card("A"), trusted.card("B")
    visit = start(staff_client, a)
    prepare(staff_client)
    checklistkit.tick_before(staff_client.desk)
    ch = services.completion_challenge(desk_session=staff_client.desk)
    token = cardkit.completion_token(a, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    services.completion_commit(desk_session=staff_client.desk, token=token, nonce=ch.nonce.value)
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)

    html = staff_client.get("/desk/ended/").content.decode()
    assert "この受付の手続き 1 件は、来庁者のカードで確定済みです。" in html
    assert 'href="/desk/ended/receipt/"' in html
    assert "PAY-A-0001" not in html  # the ended page names what was done, not its data
    english = staff_client.get("/desk/ended/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 procedure of this visit was committed with the resident's card." in english

    before = reads()
    r = staff_client.get("/desk/ended/receipt/")
    assert r.status_code == 200
    assert "no-store" in r["Cache-Control"]
    page = r.content.decode()
    assert "PAY-A-0001" in page
    assert f"受付 {visit.reference}" in page
    assert "この受付は終了しています" in page
    assert 'data-testid="next-resident"' not in page  # nothing reopens the ended visit
    assert 'data-testid="back-to-visit"' not in page
    # The notice email's address is a field like the desk's others (its label above, the
    # card's width), not a bare input a few letters wide after a line break.
    assert re.search(r'<div class="field">\s*<label for="completion-email-address">', page), (
        "the email address input is not a .field"
    )
    assert reads() == before + 1
    # The notice email from it comes back to it.
    completion = Completion.objects.get(visit=visit)
    r = staff_client.post(
        reverse("residents:desk_email", args=[completion.pk]), {"address": "not an address"}
    )
    assert r["Location"] == reverse("desk:ended_receipt")

    # The next visit started: A's receipt is never shown to the next resident.
    nxt = start(staff_client, b)
    assert staff_client.get("/desk/ended/receipt/")["Location"] == reverse("desk:receipt")
    services.visit_end(visit=nxt, reason=VisitEndReason.CARD_REMOVED)
    before = reads()
    r = staff_client.get("/desk/ended/receipt/")
    assert r["Location"] == reverse("desk:ended")
    html = staff_client.get("/desk/ended/").content.decode()
    assert "確定済み" not in html
    assert "PAY-A-0001" not in html
    assert "終了した受付で確定した手続きはありません" in html
    assert reads() == before

    # Another desk session on the terminal (another staff member signs in): nothing of A's.
    other = factories.staff()
    staff_client.post(
        reverse("accounts:login"), {"username": other.username, "password": factories.PASSWORD}
    )
    assert staff_client.get("/desk/ended/receipt/")["Location"] == reverse("desk:ended")
    assert "PAY-A-0001" not in staff_client.get("/desk/ended/").content.decode()


def _enrolled_and_signed_in(client):
    """Like `staff_client`, keeping the terminal's credential (another browser enrols with it)."""
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert client.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    staff = factories.staff()
    r = client.post(
        reverse("accounts:login"), {"username": staff.username, "password": factories.PASSWORD}
    )
    assert r.status_code == 302, r.content.decode()
    return terminal, raw, staff


def test_a_browser_whose_terminal_was_enrolled_elsewhere_is_told_so(client, db):
    """`make scenario` enrols a browser as desk-02: the desk-02 browser of a walk of the README
    was sent to the sign-in page saying its staff had signed out or been idle, beside "this
    browser is not a registered terminal". It is told that another browser became the
    terminal, and that this one must be enrolled again."""
    terminal, raw, staff = _enrolled_and_signed_in(client)
    other = Client()
    assert other.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    other.post(
        reverse("accounts:login"), {"username": staff.username, "password": factories.PASSWORD}
    )
    text = client.get("/desk/", follow=True).content.decode()
    assert f"このブラウザは端末 {terminal.name} ではなくなりました" in text
    assert "別のブラウザがこの端末として登録されました" in text
    assert "サインアウトしたか" not in text


def test_a_browser_whose_terminal_credential_was_revoked_is_told_so(client, db):
    terminal, _raw, _staff = _enrolled_and_signed_in(client)
    credential = terminal.credentials.get()
    terminal_services.credential_revoke(credential=credential, actor=None)
    text = client.get("/desk/", follow=True).content.decode()
    assert "端末の認証情報が失効しました" in text
    assert "サインアウトしたか" not in text


def test_a_browser_unbound_by_an_operator_is_told_so(client, db):
    terminal, _raw, _staff = _enrolled_and_signed_in(client)
    terminal_services.binding_revoke(terminal=terminal, actor=None)
    text = client.get("/desk/", follow=True).content.decode()
    assert "運用担当者が登録を取り消しました" in text
    assert "サインアウトしたか" not in text


def test_the_api_tells_a_browser_whose_terminal_was_enrolled_elsewhere_why(client, db):
    """The open visit's page polls the API: its 401 said "signed out, or idle too long" too,
    and the page showed that sentence as the visit's end."""
    terminal, raw, _staff = _enrolled_and_signed_in(client)
    assert Client().post("/terminal/enrol/", {"credential": raw}).status_code == 200
    r = client.get("/api/v1/visits/current/state")
    assert r.status_code == 401
    body = r.json()
    assert body["code"] == "terminal_enrolled_elsewhere"
    assert f"このブラウザは端末 {terminal.name} ではなくなりました" in body["message_ja"]
    assert f"no longer terminal {terminal.name}: another browser was enrolled" in body["message"]


def test_the_api_s_401_without_a_terminal_stays_as_it_was(client, db):
    r = client.get("/api/v1/visits/current/state")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
