"""The desk as staff and residents see it, in chromium, against a live server and the card agent."""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from madoguchi.accounts.constants import Role
from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.incidents.models import Incident
from tests import factories

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BEFORE = ["card_face_matches", "pin_by_resident", "payment_card_in_name", "summary_confirmed"]


def assert_accessible(page):
    """Every visible control is labelled, the page has a language, focus is visible."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, iframe')]
          .filter(e => e.getClientRects().length)
          .filter(e => e.tagName === 'IFRAME' ? !e.title
                       : !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
          .map(e => e.outerHTML.slice(0, 120))"""
    )
    assert unlabelled == []
    assert page.locator("html").get_attribute("lang") == "ja"


def tab_to(page, testid, limit=30):
    """Move the focus with Tab until the element is focused; its focus ring must show."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.testid") == testid:
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none"
            return
    raise AssertionError(f"{testid} is not reachable with the keyboard")


def start_visit(desk, card="A", *, typed=False):
    desk.insert(card)
    page = desk.page
    desk.go("/desk/")
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    if typed:  # like a person: keyboard for staff, the PIN pad for the resident
        assert_accessible(page)
        tab_to(page, "start-visit")
        page.keyboard.press("Enter")
    else:
        page.get_by_test_id("start-visit").click()
    if typed:
        desk.type_pin()
    else:
        desk.test_pin()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    expect(page.get_by_test_id("card-state")).to_have_attribute("data-state", "present")
    return Visit.objects.get(ended_at__isnull=True, terminal=desk.terminal)


def add_test_link(desk, account, points="3000"):
    page = desk.page
    page.get_by_test_id("add-test_link").click()
    page.fill("input[name=account]", account)
    page.fill("input[name=points]", points)
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))


def ended_on_screen(page):
    """The in-page notice (shown at once) or the ended page (after the server confirmed)."""
    return page.locator("[data-testid=ended-notice]:visible, [data-testid=ended-page]").first


def tick(desk, codes):
    for code in codes:
        box = desk.page.locator(f"#ck-{code}")
        box.check()
        expect(desk.page.locator(f"#ck-{code}")).to_be_checked()
        # htmx swapped the fieldset back from the server: the tick is recorded.
        expect(desk.page.locator(f"#ck-{code} ~ .tick-meta")).to_be_visible()


def test_happy_path_test_link(desk):
    page = desk.page
    desk.shot("01-waiting")
    visit = start_visit(desk, "A", typed=True)
    banner = page.get_by_test_id("visit-banner")
    expect(banner).to_contain_text(visit.reference)
    add_test_link(desk, "PAY-A-0001")
    expect(page.get_by_test_id("procedures")).to_contain_text("テスト用の紐付け")
    desk.shot("02-visit")
    assert_accessible(page)
    page.get_by_test_id("to-confirm").click()
    assert_accessible(page)
    lines = page.get_by_test_id("commit-lines")
    expect(lines).to_contain_text("口座 PAY-A-0001 に 3000 ポイント")
    expect(lines).to_contain_text(f"受付 {visit.reference}")
    tick(desk, BEFORE)
    desk.shot("03-confirm")
    page.get_by_test_id("sign-completion").click()
    frame = page.frame_locator("[data-testid=pinpad-frame]")
    # The PIN pad shows the same lines the card signs.
    expect(frame.locator("body")).to_contain_text("PAY-A-0001")
    desk.shot("04-pinpad")
    desk.type_pin()
    desk.wait_for_receipt()
    expect(page.get_by_test_id("receipt")).to_contain_text("PAY-A-0001")
    completion = Completion.objects.get(visit=visit)
    assert completion.procedures.get().status == ProcedureStatus.COMMITTED
    assert b"PAY-A-0001" in bytes(completion.transaction_bytes)
    tick(desk, ["receipt_handed", "visit_ended"])
    desk.shot("05-receipt")
    page.get_by_test_id("next-resident").click()
    page.wait_for_url(re.compile(r"/desk/$"))
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.NEXT_RESIDENT
    ticks = ChecklistTick.objects.filter(visit=visit)
    assert set(ticks.values_list("item__code", flat=True)) == {
        *BEFORE,
        "receipt_handed",
        "visit_ended",
    }
    assert all(t.staff_id == desk.staff.pk for t in ticks)


def test_next_resident_reaches_the_waiting_page_when_its_answer_is_slow(desk):
    """The next-resident form ends the visit on the server; while its answer was on its way the
    page's once-a-second poll saw the visit gone and went to the ended page ("the visit ended"),
    cutting the answer off (seen on a loaded CI machine). The poll stops once the page sends a
    form of its own. The answer is held here for seconds, as the load held it."""
    page = desk.page
    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0001")
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    page.get_by_test_id("sign-completion").click()
    desk.type_pin()
    desk.wait_for_receipt()
    tick(desk, ["receipt_handed", "visit_ended"])

    def slow(route):
        answer = route.fetch(max_redirects=0)  # the server ends the visit now
        time.sleep(4)  # the page's poll sees no visit meanwhile
        # The page may have left already (the old behaviour): nothing to fulfil then.
        with contextlib.suppress(Exception):
            route.fulfill(response=answer)

    page.route("**/desk/visit/end/", slow)
    page.get_by_test_id("next-resident").click()
    page.wait_for_url(re.compile(r"/desk/$"), timeout=20_000)
    # The waiting page writes its card line once its script has run: wait for it, not a glance.
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    assert re.search(r"/desk/$", page.url)


def test_unticked_checklist_item_blocks_completion(desk):
    page = desk.page
    visit = start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0009", "100")
    page.get_by_test_id("to-confirm").click()
    tick(desk, [c for c in BEFORE if c != "summary_confirmed"])
    page.get_by_test_id("sign-completion").click()
    error = page.get_by_test_id("flow-error")
    expect(error).to_contain_text("チェックリストの必須項目が確認されていないため、確定できません")
    expect(error).to_contain_text("確定内容を来庁者本人が画面で確認した")
    desk.shot("06-checklist-blocks")
    expect(page.locator("[data-role=pinpad-panel]")).to_be_hidden()
    assert not Completion.objects.exists()
    # Refused before the card was asked: the visit stays open and staff can finish the list.
    visit.refresh_from_db()
    assert visit.ended_at is None
    tick(desk, ["summary_confirmed"])
    page.get_by_test_id("sign-completion").click()
    desk.test_pin()
    desk.wait_for_receipt()
    assert Completion.objects.get(visit=visit).procedures.count() == 1


def test_a_changed_summary_and_a_second_completion_are_ticked_again(desk):
    """A second account added after the resident confirmed the summary: the page shows the
    summary's items unticked, saying why; once signed, the same resident's next procedure (the
    receipt's 受付の画面に戻る) starts from an empty checklist, its receipt's items too."""
    page = desk.page
    visit = start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0001", "100")
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    desk.go("/desk/visit/")
    add_test_link(desk, "PAY-A-0002", "200")
    page.get_by_test_id("to-confirm").click()
    for code in ("summary_confirmed", "payment_card_in_name"):
        expect(page.locator(f"#ck-{code}")).not_to_be_checked()
        expect(page.get_by_test_id(f"withdrawn-{code}")).to_contain_text(
            "チェックの後に確定内容が変わりました"
        )
    expect(page.locator("#ck-card_face_matches")).to_be_checked()
    for code in ("summary_confirmed", "payment_card_in_name"):
        page.locator(f"#ck-{code}").check()
        expect(page.get_by_test_id(f"withdrawn-{code}")).to_have_count(0)
    page.get_by_test_id("sign-completion").click()
    desk.test_pin()
    desk.wait_for_receipt()
    tick(desk, ["receipt_handed"])
    page.get_by_test_id("back-to-visit").click()
    add_test_link(desk, "PAY-A-0003", "300")
    page.get_by_test_id("to-confirm").click()
    for code in BEFORE:
        expect(page.locator(f"#ck-{code}")).not_to_be_checked()
    tick(desk, BEFORE)
    page.get_by_test_id("sign-completion").click()
    desk.test_pin()
    desk.wait_for_receipt()
    expect(page.get_by_test_id("receipt")).to_contain_text("PAY-A-0003")
    for code in ("receipt_handed", "visit_ended"):
        expect(page.locator(f"#ck-{code}")).not_to_be_checked()
    assert Completion.objects.filter(visit=visit).count() == 2


def test_a_confirmation_tab_left_on_an_earlier_summary_confirms_nothing(desk):
    """Tab 1 shows the confirmation page for one account; tab 2 adds a second account. Tab 1's
    box 「確定内容を来庁者本人が画面で確認した」 (its page still showing one account) ticks nothing:
    the page reloads with the second account and says to confirm it with the resident."""
    page = desk.page
    visit = start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0001", "100")
    page.get_by_test_id("to-confirm").click()
    other = page.context.new_page()
    other.goto(desk.url + "/desk/visit/")
    other.get_by_test_id("add-test_link").click()
    other.fill("input[name=account]", "PAY-A-0002")
    other.fill("input[name=points]", "200")
    other.get_by_test_id("procedure-submit").click()
    other.wait_for_url(re.compile(r"/desk/visit/$"))
    other.close()
    expect(page.get_by_test_id("commit-lines")).not_to_contain_text("PAY-A-0002")
    page.locator("#ck-summary_confirmed").check()
    # htmx follows the server's HX-Redirect: the page as it is now, saying why.
    expect(page.get_by_test_id("commit-lines")).to_contain_text("PAY-A-0002")
    expect(page.locator("body")).to_contain_text("前の確定内容か前の確定のときのものなので")
    expect(page.locator("#ck-summary_confirmed")).not_to_be_checked()
    assert not ChecklistTick.objects.filter(visit=visit).exists()
    tick(desk, BEFORE)
    assert {t.item.code for t in ChecklistTick.objects.filter(visit=visit)} == set(BEFORE)


def test_a_refusal_on_an_english_desk_page_is_in_english(desk):
    """The server's refusal shows in the page's language: English on a page read in English
    (it showed the Japanese beside it on every desk page)."""
    page = desk.page
    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0009", "100")
    page.get_by_test_id("to-confirm").click()
    page.goto(page.url.split("?")[0] + "?lang=en")
    tick(desk, [c for c in BEFORE if c != "summary_confirmed"])
    page.get_by_test_id("sign-completion").click()
    error = page.get_by_test_id("flow-error")
    expect(error).to_contain_text("Required checklist items are not ticked")
    expect(error).not_to_contain_text("チェックリスト")
    assert not Completion.objects.exists()


def test_a_refusal_without_a_sentence_says_the_pages_own(desk):
    """A refused call whose answer carries no sentence (a proxy's HTML page in front of the
    server) shows the page's own generic sentence in Japanese, and nothing is committed."""
    page = desk.page
    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0009", "100")
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    page.route(
        "**/api/v1/visits/current/completion-challenge",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>502</h1>"),
    )
    page.get_by_test_id("sign-completion").click()
    error = page.get_by_test_id("flow-error")
    expect(error).to_have_text("問題が発生しました。もう一度お試しください。")
    assert not Completion.objects.exists()


def signed_then_card_taken(desk, account, points):
    """A test link signed with card A, then the card taken back: the ended page is shown."""
    page = desk.page
    visit = start_visit(desk, "A")
    add_test_link(desk, account, points)
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    page.get_by_test_id("sign-completion").click()
    desk.test_pin()
    desk.wait_for_receipt()
    desk.remove()
    expect(ended_on_screen(page)).to_be_visible(timeout=30_000)
    page.wait_for_url(re.compile(r"/desk/ended/$"))
    return visit


def test_the_card_taken_right_after_the_pin_leaves_the_receipt_at_the_desk(desk):
    """The resident takes the card back as soon as the PIN is typed: the visit ends on screen,
    and the ended page says what was committed and opens that visit's receipt."""
    page = desk.page
    visit = signed_then_card_taken(desk, "PAY-A-0007", "500")
    expect(page.get_by_test_id("ended-committed")).to_contain_text(
        "1 件は、来庁者のカードで確定済み"
    )
    page.get_by_test_id("ended-receipt").click()
    page.wait_for_url(re.compile(r"/desk/ended/receipt/$"))
    expect(page.get_by_test_id("receipt")).to_contain_text("PAY-A-0007")
    expect(page.get_by_test_id("receipt-ended")).to_be_visible()
    expect(page.get_by_test_id("next-resident")).to_have_count(0)
    # The receipt page of an ended visit stays (no poll sends it to the ended page).
    page.wait_for_timeout(2500)
    assert page.url.endswith("/desk/ended/receipt/")
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_REMOVED


def test_card_removal_ends_the_visit_on_screen_and_back_shows_nothing(desk):
    page = desk.page
    # No visit once the card left is a normal state: the page's script asked /current, got a
    # 404, and the browser logged it in the console as an error.
    refused = []
    page.on(
        "response",
        lambda r: (
            refused.append(f"{r.status} {r.url}")
            if "/api/v1/visits/current" in r.url and r.status >= 400
            else None
        ),
    )
    visit = start_visit(desk, "C")
    add_test_link(desk, "PAY-C-4242", "700")
    response = page.goto(desk.url + "/desk/visit/confirm/")
    assert "no-store" in response.headers["cache-control"]
    expect(page.get_by_test_id("commit-lines")).to_contain_text("PAY-C-4242")
    desk.remove()
    # The page says by itself that the visit ended once the card left the reader (it polls
    # every second or so; the bound is generous, for a loaded machine, and only catches a page
    # that never notices).
    expect(ended_on_screen(page)).to_be_visible(timeout=30_000)
    page.wait_for_url(re.compile(r"/desk/ended/$"))
    expect(page.get_by_test_id("ended-reason")).to_contain_text("カードが取り外されました")
    expect(page.get_by_test_id("ended-discarded")).to_contain_text("1 件は確定されていません")
    desk.shot("07-card-removed")
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_REMOVED
    assert refused == []
    # Back: the server answers again (no-store) and shows nothing of the ended visit.
    page.go_back()
    page.wait_for_load_state()
    assert "/desk/visit/confirm/" not in page.url
    body = page.locator("body").inner_text()
    assert "PAY-C-4242" not in body
    assert "受付中" not in body
    assert not page.get_by_test_id("visit-banner").count()


def test_a_cut_off_card_check_on_page_load_leaves_the_visit_on_screen(desk):
    """The agent's 200 with its body cut off says nothing about the card. A navigation cuts the
    page's card check off like this while the page being replaced still runs its script; read
    as "no card", it blanked the visit and sent the page to the ended one. Made certain here:
    every check the visit page makes on load gets such an answer."""
    page = desk.page
    visit = start_visit(desk, "C")
    status_url = re.compile(re.escape(desk.agent_url) + r"/status$")
    page.route(status_url, lambda route: route.fulfill(status=200, body=""))
    for _ in range(2):  # two page loads, each with its card check answered cut off
        with page.expect_request(status_url, timeout=10_000):
            page.goto(desk.url + "/desk/visit/")
        expect(page.get_by_test_id("visit-banner")).to_contain_text(visit.reference)
    # The server's state poll runs a few times meanwhile; the visit stays on screen and open.
    with page.expect_request(re.compile(r"/current/state$"), timeout=10_000):
        pass
    expect(page.get_by_test_id("add-test_link")).to_be_visible()
    assert not ended_on_screen(page).count()
    visit.refresh_from_db()
    assert visit.ended_at is None
    page.unroute(status_url)
    # A real removal still ends it on screen.
    desk.remove()
    expect(ended_on_screen(page)).to_be_visible(timeout=30_000)
    page.wait_for_url(re.compile(r"/desk/ended/$"))
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_REMOVED


def test_seed_incident_b_keyed_into_as_open_visit_commits_nothing(desk, browser):
    """The seed's incident: A's visit left open, B arrives, B's application keyed into A's visit,
    B's card put on the reader. The visit ends at once, nothing is linked, the city sees it."""
    page = desk.page
    visit_a = start_visit(desk, "A")
    add_test_link(desk, "PAY-B-0002", "5000")  # B's application, keyed into A's visit
    page.get_by_test_id("to-confirm").click()
    desk.remove()
    desk.insert("B")
    expect(ended_on_screen(page)).to_be_visible(timeout=30_000)
    page.wait_for_url(re.compile(r"/desk/ended/$"))
    expect(page.get_by_test_id("ended-discarded")).to_be_visible()
    desk.shot("08-incident-ended")
    # Staff try to carry on with B's application in A's visit: refused, in Japanese, with why.
    page.goto(desk.url + "/desk/visit/confirm/")
    expect(page.get_by_test_id("messages")).to_contain_text(
        "受付が開始されていません。来庁者のカードで受付を開始してください。"
    )
    assert "PAY-B-0002" not in page.locator("body").inner_text()
    assert not Completion.objects.exists()
    assert Procedure.objects.get(visit=visit_a).status == ProcedureStatus.DISCARDED
    incident = Incident.objects.get(visit=visit_a, kind="visit_ended_with_pending")

    # The city official sees the incident and the visit's audit trail.
    official = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(official)
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    try:
        o = ctx.new_page()
        o.goto(desk.url + "/accounts/sign-in/")
        o.fill("input[name=username]", official.username)
        o.fill("input[name=password]", factories.PASSWORD)
        o.fill("input[name=otp_token]", f"{totp(device.bin_key):06d}")
        o.locator("main form button[type=submit]").click()
        o.wait_for_url(re.compile(r"/officials/$"))
        expect(o.get_by_test_id("visits")).to_contain_text(visit_a.reference)
        # The list of residents' visits' incidents asks why first, as the visit does.
        o.goto(desk.url + "/officials/incidents/")
        o.get_by_test_id("reason-form").get_by_label("窓口業務の日次確認").check()
        o.get_by_test_id("reason-submit").click()
        row = o.get_by_test_id("incidents").locator("tr", has_text=visit_a.reference)
        # The sentence says why (the end reason in words); the code stays in the API.
        expect(row.first).to_contain_text("（カードが取り外されました）。何も確定していません。")
        expect(row.first).not_to_contain_text(incident.reason_code)
        o.screenshot(path=str(ARTIFACTS / "09-officials-incidents.png"))
        row.first.get_by_role("link", name=visit_a.reference).click()
        # Officials say why they open a visit: on a card like every page, each reason a row
        # to press.
        expect(o.locator("section.card [data-testid=reason-form]")).to_be_visible()
        choices = o.locator("[data-testid=reason-form] .choice")
        expect(choices).to_have_count(5)
        assert all(c.bounding_box()["height"] >= 44 for c in choices.all())
        o.locator("#reason-incident").check()
        o.get_by_test_id("reason-submit").click()
        trail = o.get_by_test_id("audit-trail")
        expect(trail).to_contain_text(f"受付を開始しました（受付 {visit_a.reference}）")
        expect(trail).to_contain_text("カードが取り外されました")
        o.screenshot(path=str(ARTIFACTS / "10-officials-visit.png"), full_page=True)
    finally:
        ctx.close()


def test_the_ended_visits_after_items_are_ticked_from_the_ended_page_and_its_receipt(desk):
    """The resident took the card back right after the PIN: the after-completion items are
    still ticked for that visit, one from the ended page and one from the ended visit's
    receipt (each swapped back from the server as recorded), and nothing is left for the
    incident of unticked items when the desk moves on."""
    from madoguchi.terminals import services as terminal_services
    from madoguchi.terminals.constants import DeskSessionCloseReason

    page = desk.page
    visit = signed_then_card_taken(desk, "PAY-A-0008", "700")
    ended = page.get_by_test_id("ended-checklist")
    expect(ended).to_contain_text("次の受付が始まるまで")
    expect(page.locator("#ck-receipt_handed")).not_to_be_checked()
    tick(desk, ["receipt_handed"])
    desk.shot("desk-ended-checklist")
    page.get_by_test_id("ended-receipt").click()
    page.wait_for_url(re.compile(r"/desk/ended/receipt/$"))
    expect(page.get_by_test_id("receipt")).to_contain_text("PAY-A-0008")
    # What the ended page recorded shows on the receipt, ticked, with who and when.
    expect(page.locator("#ck-receipt_handed")).to_be_checked()
    expect(page.locator("#ck-receipt_handed ~ .tick-meta")).to_be_visible()
    tick(desk, ["visit_ended"])
    ticks = ChecklistTick.objects.filter(visit=visit, item__stage="after_completion")
    assert set(ticks.values_list("item__code", flat=True)) == {"receipt_handed", "visit_ended"}
    assert all(t.staff_id == desk.staff.pk for t in ticks)
    page.reload()
    expect(page.locator("#ck-visit_ended")).to_be_checked()
    terminal_services.desk_session_close(
        session=visit.desk_session, reason=DeskSessionCloseReason.SIGNED_OUT, actor=desk.staff
    )
    assert not Incident.objects.filter(visit=visit, kind="checklist_unticked").exists()


def test_the_desk_pages_give_the_work_the_width_of_a_narrow_window(desk):
    """At 390 px the demo tray kept its 16rem beside the work, which was left about 60 px wide
    and broke every sentence one character per line (the visit, confirmation and ended pages,
    in both languages): the tray goes below the work in a narrow window. The open visit's
    sticky banner, one item a line, covered about half of the screen: two a line."""
    page = desk.page

    def work_takes_the_width(testid):
        for lang in ("ja", "en"):
            page.goto(page.url.split("?")[0] + f"?lang={lang}")
            page.set_viewport_size({"width": 390, "height": 844})
            width = page.evaluate("document.documentElement.clientWidth")
            box = page.locator(".desk-main").bounding_box()
            assert box["width"] > width * 0.8, (testid, lang, box, width)
            banner = page.get_by_test_id("visit-banner")
            if banner.count():  # sticky: it must leave most of the screen to the work
                assert banner.bounding_box()["height"] < 844 * 0.35, (testid, lang)
            expect(page.get_by_test_id(testid)).to_be_visible()
            page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(page.url.split("?")[0] + "?lang=ja")

    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0010", "900")
    work_takes_the_width("procedures")
    page.get_by_test_id("to-confirm").click()
    work_takes_the_width("commit-lines")
    desk.remove()
    expect(ended_on_screen(page)).to_be_visible(timeout=30_000)
    page.wait_for_url(re.compile(r"/desk/ended/$"))
    work_takes_the_width("ended-page")


def test_a_procedures_check_boxes_keep_their_label_beside_them_on_a_phone(desk):
    """At 390 px a check box whose label was longer than the line stood alone on its line, its
    label under it (the public-fund form's three confirmations, in Japanese): the label now
    wraps beside its box."""
    page = desk.page
    start_visit(desk, "A")
    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("ja", "en"):
        page.goto(desk.url + f"/desk/visit/procedures/public_fund_account/?lang={lang}")
        checks = page.locator(".field-check")
        assert checks.count() >= 3
        for i in range(checks.count()):
            # Both boxes in one turn of the page's script, so that nothing on the page moves
            # between the two: measured one after the other, the label was once 29.9 px lower
            # than its box (under it) with the page's CSS applied, in 1 of 4 SQLite runs.
            box, label = checks.nth(i).evaluate(
                "c => [c.querySelector('input[type=checkbox]'), c.querySelector('label')]"
                ".map(e => e.getBoundingClientRect())"
                ".map(r => ({x: r.x, y: r.y, width: r.width, height: r.height}))"
            )
            assert label["x"] >= box["x"] + box["width"], (lang, i)
            assert label["y"] < box["y"] + box["height"], (lang, i)


def test_a_pending_procedures_status_and_remove_stay_whole_on_a_phone(desk):
    """At 390 px the visit's procedures table broke a pending procedure's status and its remove
    button a few characters a line ("Pendi / ng", "Re / m / ov / e", 送信待 / ち, 取り消 / す)
    beside the procedure's name: they stay on one line and the name wraps instead."""
    from .test_narrow_window import LINES

    page = desk.page
    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0011", "900")
    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("ja", "en"):
        page.goto(desk.url + f"/desk/visit/?lang={lang}")
        row = page.locator("[data-testid=procedures] tbody tr").first
        for cell in (row.locator("td").nth(1), row.locator("td button")):
            assert cell.evaluate(LINES) == 1, (lang, cell.inner_text())


def test_a_sign_out_in_another_tab_ends_the_visit_on_screen(desk, browser):
    """Signing out in another tab closes the desk session and ends its open visit on the server;
    the visit page's poll got 401 and kept showing the visit until the staff's next click. It
    now ends on screen and goes to the sign-in page (the browser is signed out)."""
    page = desk.page
    visit = start_visit(desk, "C")
    other = page.context.new_page()
    other.goto(desk.url + "/desk/")
    other.get_by_role("button", name="サインアウト").click()
    other.wait_for_url(re.compile(r"/accounts/sign-in/"))
    # The page polls every second or so; the bound only catches a page that never notices.
    page.wait_for_url(re.compile(r"/accounts/sign-in/"), timeout=30_000)
    visit.refresh_from_db()
    assert visit.ended_at is not None


def test_staff_who_moved_to_another_desk_are_told_so_on_the_one_they_left(desk):
    """Lunch: the staff member signs in on another desk without signing out here. This desk's
    next page sent them to the sign-in saying their sign-in ended because they signed out or
    were idle, neither of which they did; it names the desk they moved to."""
    from madoguchi.terminals import services as terminal_services

    other = factories.terminal()
    terminal_services.desk_session_open(terminal=other, staff=desk.staff)
    desk.go("/desk/")
    expect(desk.page).to_have_url(re.compile(r"/accounts/sign-in/"))
    notice = desk.page.locator("main")
    expect(notice).to_contain_text(
        f"別の端末（{other.name}）でサインインしたため、この端末での窓口のサインインは終了しました。"
    )
    expect(notice).not_to_contain_text("サインアウトしたか")
    desk.shot("desk-sign-in-moved-elsewhere")


def test_a_background_tab_on_an_earlier_visit_reads_no_card_into_the_next(desk, trusted):
    """A tab left on resident A's visit page, its once-a-second poll held back (a background tab
    is throttled; here the poll's answers never arrive), while A's visit ends and the next one
    starts. "Read the name from the card" in that tab sent the card's basic four into the new
    visit: its resident's name and birth date were another's read. The page names its visit in
    every call (`X-Madoguchi-Visit`): the server refuses it, nothing recorded, and the page
    leaves the visit saying why, then shows the visit now open (docs/security.md, round 14)."""
    from madoguchi.desk import services
    from madoguchi.terminals.models import DeskSession
    from tests import cardkit

    page = desk.page
    a = start_visit(desk, "C")
    state = re.compile(r"/api/v1/visits/current/state$")
    page.route(state, lambda route: route.abort())
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=desk.staff)
    session = DeskSession.objects.get(staff=desk.staff, closed_at__isnull=True)
    nonce = services.auth_challenge(desk_session=session).value
    token = cardkit.auth_token(trusted.card("C"), desk.url, nonce)
    b = services.visit_start(desk_session=session, token=token, nonce=nonce)

    page.get_by_role("button", name="カードから氏名を読み取る").click()
    desk.test_pin()
    notice = page.get_by_test_id("ended-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("この画面は前の来庁のものです")
    b.refresh_from_db()
    assert (b.ended_at, b.card_name, b.card_birth_date) == (None, "", None)
    # Once the server's answers arrive again, the page goes on to the visit open now.
    page.unroute(state)
    page.wait_for_url(re.compile(r"/desk/visit/$"), timeout=30_000)
    expect(page.get_by_test_id("visit-banner")).to_contain_text(b.reference)


def test_a_ticked_checklist_keeps_to_a_phones_width(desk):
    """A fieldset is as wide as its widest line: at 390 px in English the ticked checklist, each
    tick's time and staff name kept whole beside its label, ran 17 px past the page. It keeps
    to the page, and each tick's time and name go under its label."""
    from .test_narrow_window import overflow

    page = desk.page
    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0012", "900")
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("en", "ja"):
        page.goto(desk.url + f"/desk/visit/confirm/?lang={lang}")
        expect(page.locator(".tick-meta")).to_have_count(len(BEFORE))
        assert overflow(page) <= 0, lang
        fieldset = page.get_by_test_id("checklist-before_completion")
        assert fieldset.evaluate("e => e.getBoundingClientRect().right") <= 390, lang
        for code in BEFORE:
            label, meta = page.locator(f"#ck-{code} ~ label, #ck-{code} ~ .tick-meta").evaluate_all(
                "es => es.map(e => e.getBoundingClientRect()).map(r => ({top: r.top, bottom: r.bottom}))"
            )
            assert meta["top"] >= label["bottom"] - 1, (lang, code)
    page.set_viewport_size({"width": 1280, "height": 900})
