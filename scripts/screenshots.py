"""Retake the docs' screenshots from a running demo (`make demo`), in headless Debian chromium.

    MADOGUCHI_DEMO=1 .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000] [--out docs/img]

It walks the README's "Trying the demo" on terminal desk-01 (a fresh demo: resident A's point
application can be committed once per demo data directory), the agent's PIN pad of that
completion (before its lines were read, and after a wrong PIN), the ended page after the card left
(then with one after-completion item ticked there) and the receipt it opens of what that visit
committed, and resident A's own page (step 6),
then `make scenario` (the seed's incident on desk-02), the officials' pages, a 404 page, a case
with a legacy link recorded through the case page, the report pages (the dashboard at 1366 px)
and a small generated scan, recorded, with its report, the scans list at 1024 px and the run's
page. Set MADOGUCHI_DATA_DIR
as for the demo (the TOTP code comes from `madoguchi demo_totp`).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

PASSWORD = "madoguchi-demo"
CHROMIUM = "/usr/bin/chromium"


def type_pin(page: Page, pin: str = "1234") -> None:
    """Read the signed lines to the end (the PIN field opens then), type the PIN, Enter."""
    frame = page.frame_locator("[data-testid=pinpad-frame]")
    field = frame.get_by_test_id("pin")
    field.wait_for(state="visible")
    for _ in range(60):
        if field.is_enabled():
            break
        frame.get_by_test_id("signed-lines").press("ArrowDown")
    field.press_sequentially(pin)
    field.press("Enter")


def full(page: Page, path: Path) -> None:
    """The whole page, with the viewport as tall as the page (the sticky visit banner stays at
    the top instead of floating over the content)."""
    size = page.viewport_size or {"width": 1280, "height": 900}
    # A page still navigating has no document yet (under load the walk failed here).
    page.wait_for_load_state()
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 4000)})
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def tick_all(page: Page) -> None:
    ids = page.locator(".checklist input[type=checkbox]").evaluate_all("b => b.map(x => x.id)")
    for box_id in ids:
        page.locator(f"#{box_id}").check()
        expect(page.locator(f"#{box_id} ~ .tick-meta")).to_be_visible()


def sign_in(page: Page, base: str, user: str, code: str = "") -> None:
    page.goto(base + "/accounts/sign-in/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    if code:
        page.fill("input[name=otp_token]", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def pinpad(page: Page, out: Path) -> None:
    """The agent's PIN pad of the point application's completion, on its own at the size the
    desk frames it (docs/agent.md): the signed lines before they were read to the end
    (pinpad-long.png), then read, after one wrong PIN (pinpad.png). The wrong PIN costs the
    card one try; the right one typed next in the desk's frame restores the three."""
    frame = page.get_by_test_id("pinpad-frame")
    box = frame.bounding_box()
    assert box, "the PIN pad frame is not shown"
    # The frame's inside, without its 3 px border.
    size = {"width": int(box["width"]) - 6, "height": int(box["height"]) - 6}
    alone = page.context.new_page()
    alone.set_viewport_size(size)
    alone.goto(str(frame.get_attribute("src")))
    lines = alone.get_by_test_id("signed-lines")
    lines.wait_for(state="visible")
    expect(alone.get_by_test_id("pin")).to_be_disabled()  # nine long lines: read them first
    alone.screenshot(path=str(out / "pinpad-long.png"))
    field = alone.get_by_test_id("pin")
    for _ in range(60):
        if field.is_enabled():
            break
        lines.press("ArrowDown")
    field.press_sequentially("0000")
    field.press("Enter")
    expect(alone.locator(".notice.error")).to_contain_text("暗証番号が違います")
    alone.screenshot(path=str(out / "pinpad.png"), full_page=True)
    alone.close()


def desk(page: Page, base: str, out: Path) -> None:
    page.goto(base + "/terminal/enrol/")
    page.get_by_role("button", name="desk-01", exact=True).click()
    sign_in(page, base, "desk1")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.get_by_test_id("tray-insert-resident-a").click()
    # not "まだカードが置かれていません", shown until the tray answers
    expect(page.get_by_test_id("presence")).to_contain_text("カードが置かれています")
    page.screenshot(path=str(out / "desk-waiting.png"))
    page.get_by_test_id("start-visit").click()
    type_pin(page)
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    page.get_by_test_id("add-point_application").click()
    page.get_by_label("決済サービスID").fill("7010000000000001")
    page.get_by_label("セキュリティコード").fill("123")
    page.get_by_label("ご本人のお名前（フリガナ）").fill("ヤマダ タロウ")
    page.get_by_label("ご本人がフリガナを確認しました").check()
    full(page, out / "desk-form.png")
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    page.get_by_test_id("to-confirm").click()
    tick_all(page)
    full(page, out / "desk-confirm.png")
    page.get_by_test_id("sign-completion").click()
    page.get_by_test_id("pinpad-frame").wait_for(state="visible")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "desk-pinpad.png"))
    pinpad(page, out)
    type_pin(page)
    page.wait_for_url(re.compile(r"/desk/visit/receipt/$"))
    full(page, out / "desk-receipt.png")
    # The incident: B's public-fund account keyed into A's open visit, then the card swap.
    page.get_by_test_id("back-to-visit").click()
    page.get_by_test_id("add-public_fund_account").click()
    page.get_by_label("金融機関コード").fill("0990")
    page.get_by_label("支店コード").fill("002")
    page.get_by_label("口座番号").fill("3456789")
    page.get_by_label("ご本人のお名前（フリガナ）").fill("スズキ イチロウ")
    page.get_by_label("ご本人がフリガナを確認しました").check()
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    page.get_by_test_id("tray-remove").click()
    page.wait_for_url(re.compile(r"/desk/ended/$"), timeout=20_000)
    page.get_by_test_id("tray-insert-resident-b").click()
    page.wait_for_timeout(500)
    expect(page.get_by_test_id("ended-receipt")).to_be_visible()
    full(page, out / "desk-card-removed.png")
    # The ended visit's after-completion checklist: one item ticked on the ended page (htmx
    # swaps the fieldset back with who and when), the other left for the receipt.
    expect(page.get_by_test_id("ended-checklist")).to_be_visible()
    page.locator("#ck-receipt_handed").check()
    expect(page.locator("#ck-receipt_handed ~ .tick-meta")).to_be_visible()
    full(page, out / "desk-ended-checklist.png")
    # A's point application was committed before the card left: the ended page opens its
    # receipt (until the next visit starts; B's card is only on the tray, no visit yet).
    page.get_by_test_id("ended-receipt").click()
    page.wait_for_url(re.compile(r"/desk/ended/receipt/$"))
    expect(page.get_by_test_id("receipt-ended")).to_be_visible()
    full(page, out / "desk-ended-receipt.png")


def resident(page: Page, base: str, out: Path) -> None:
    """Step 6: resident A on their own page (its own origin, `make demo`'s RESIDENT_ORIGIN:
    localhost on the desk's port), then "this was not me"."""
    page.goto(base.replace("127.0.0.1", "localhost") + "/me/?kiosk=1")
    page.get_by_test_id("tray-remove").click()
    page.wait_for_timeout(800)
    page.get_by_test_id("tray-insert-resident-a").click()
    expect(page.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
    page.get_by_test_id("me-sign-in").click()
    type_pin(page)
    page.get_by_test_id("me-link").first.wait_for()
    full(page, out / "resident-records.png")
    page.get_by_test_id("me-link").first.locator("a[href*=not-me]").click()
    page.locator("[data-testid=not-me-form] input[type=radio]").first.check()
    page.get_by_test_id("not-me-submit").click()
    page.get_by_test_id("report-reference").wait_for()
    page.screenshot(path=str(out / "resident-reported.png"))


def scans(page: Page, base: str, out: Path) -> None:
    """A small generated scan, recorded, on the officials' scan-run page."""
    # Run in a scratch folder (the page shows the input folder as given: "data"), on the
    # demo's own data directory.
    data_dir = Path(os.environ.get("MADOGUCHI_DATA_DIR", "var")).resolve()
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(data_dir)}
    with tempfile.TemporaryDirectory() as tmp:
        for args in (
            ["generate", "--links", "20000", "--seed", "1", "data"],
            ["run", "data", "--out", "out", "--record", "--no-pdf"],
        ):
            subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
                [sys.executable, "-m", "madoguchi", "scan", *args],
                check=True,
                capture_output=True,
                cwd=tmp,
                env=env,
            )
        # The report the run wrote (docs/scan.md), its first screen.
        page.set_viewport_size({"width": 1280, "height": 1400})
        page.goto((Path(tmp) / "out" / "report.html").as_uri())
        page.screenshot(path=str(out / "scan-report.png"))
    # The scans list as a city official sees it in a 1024 px window (docs/scan.md).
    page.set_viewport_size({"width": 1024, "height": 800})
    page.goto(base + "/scans/")
    page.screenshot(path=str(out / "scans-list.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("[data-testid=scan-runs] a").first.click()
    give_reason(page, "監査・点検")  # the run's findings name residents: it asks why first
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.screenshot(path=str(out / "scans-run.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def give_reason(page: Page, reason: str) -> None:
    """A page of residents' records asks an official why they open it (the read is recorded)."""
    page.wait_for_load_state()
    form = page.get_by_test_id("reason-form")
    if form.count():
        form.get_by_label(reason).check()
        page.get_by_test_id("reason-submit").click()
        page.wait_for_load_state()


def case_reason(page: Page) -> None:
    """A case page asks an official why they open a resident's case."""
    page.wait_for_url(re.compile(r"/cases/\d+/(\?.*)?$"))
    if page.get_by_test_id("reason-form").count():
        give_reason(page, "ケースの対応")
        page.get_by_test_id("case-status").wait_for()


def scenario() -> None:
    """`make scenario`: the seed's incident replayed on desk-02, so the officials' incident list
    and the dashboard show its refusals, each reason named (the README's step 4)."""
    subprocess.run(
        [sys.executable, "-m", "madoguchi", "scenario", "sakai"],
        check=True,
        capture_output=True,
        env={**os.environ, "DESK_TEST_PROCEDURE": "1"},
    )


def error_page(page: Page, base: str, out: Path) -> None:
    """A refused page as a signed-in official meets it: an address with nothing at it."""
    page.goto(base + "/officials/no-such-page/")
    page.screenshot(path=str(out / "error-404.png"))


def officials(page: Page, base: str, out: Path, code: str) -> None:
    sign_in(page, base, "official", code)
    scenario()
    page.goto(base + "/officials/incidents/?reason=daily_check")  # the list asks why first
    full(page, out / "officials-incidents.png")
    error_page(page, base, out)
    # A case as in the seed document: intake, the legacy link from the old system, steps.
    page.goto(base + "/cases/new/")
    page.locator("input[name=resident_label]").fill("A氏")
    page.locator("input[name=other_resident_label]").fill("B氏")
    page.locator("input[name=reported_by]").fill("A氏")
    page.locator("textarea[name=summary]").fill(
        "マイナポイントの申込をしようとしたところ、すでに申込済みと表示された。"
    )
    page.locator("select[name=date_precision]").select_option("month")
    page.locator("input[name=event_date]").fill("2022-08-01")
    page.locator("main form button[type=submit]").click()
    case_reason(page)
    page.locator("[data-testid=legacy-link-form] summary").click()
    form = page.locator("[data-testid=legacy-link-form] form")
    form.locator("input[name=legacy-resident_label]").fill("A氏")
    form.locator("input[name=legacy-provider_name]").fill("キャッシュレス決済サービス")
    form.locator("input[name=legacy-account_number]").fill("4980-9999-8888-7777")
    form.locator("input[name=legacy-linked_on]").fill("2022-08-01")
    form.locator("input[name=legacy-desk_location]").fill("本庁 1階 支援窓口")
    form.locator("textarea[name=legacy-session_log]").fill(
        "2022-08-10 10:02, login, 職員X\n2022-08-10 10:05, card_read, A氏\n"
        "2022-08-10 10:18, card_read, B氏\n2022-08-10 10:25, committed, B氏"
    )
    form.get_by_role("button").click()
    case_reason(page)
    for step, summary in (("investigate", "調査を開始しました。"),):
        f = page.locator(f"form[data-step={step}]")
        f.locator("select").first.select_option("unknown")
        f.locator("textarea").fill(summary)
        f.get_by_role("button").click()
        case_reason(page)
    full(page, out / "cases-case.png")
    # The case page's link carries the reason given there (the report asks one, too).
    page.get_by_test_id("case-report-link").click()
    page.get_by_test_id("report-markdown").wait_for()
    full(page, out / "cases-report.png")
    # The dashboard at 1366 px, a common office laptop's width, where each chart's key sits under
    # it (docs/reports.md).
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(base + "/reports/dashboard/")
    full(page, out / "reports-dashboard.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/reports/city/")
    full(page, out / "reports-city.png")
    scans(page, base, out)


def shrink(out: Path) -> None:
    """The pages are flat colours and text: 64 colours without dithering keep them sharp at a
    third of the bytes (the docs' images were 3.9 MB)."""
    from PIL import Image

    for path in sorted(out.glob("*.png")):
        with Image.open(path) as im:
            flat = im.convert("RGB").quantize(
                colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
            )
        flat.save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/img", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(20_000)
        desk(ctx.new_page(), args.base, args.out)
        resident(ctx.new_page(), args.base, args.out)
        ctx.close()
        code = subprocess.run(
            [sys.executable, "-m", "madoguchi", "demo_totp"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
        ctx.set_default_timeout(20_000)
        officials(ctx.new_page(), args.base, args.out, code)
        ctx.close()
        browser.close()
    shrink(args.out)
    print(f"screenshots written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
