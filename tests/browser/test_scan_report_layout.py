"""A scan's findings in a 1280 px window (a desk PC's) and a 390 px one (a phone's): the
officials' run page and the report (report.html, as `scan run` writes it and the officials'
pages serve it) keep their tables' headings whole, the IDs and the desk log's rows on one line,
and stay within the window (a table wider than a phone scrolls in its own box)."""

from __future__ import annotations

import pytest

from .test_case_page import official_page  # noqa: F401
from .test_narrow_window import BROKEN_WORDS, LINES, overflow, recorded_scan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 1024, 390])
def test_the_findings_tables_keep_their_headings_whole(official_page, tmp_path, width):  # noqa: F811
    """At 1280 px the run page's findings table broke its headings in the middle of a word
    ("関係する別の住 / 民", "名義照 / 合"); at 390 px the report's desk log broke its events and
    staff IDs one character a line ("カ / ー / ド / 読 / み …", "131016- / B0000- / S000")."""
    page, _official, url = official_page
    run = recorded_scan(tmp_path)
    page.set_viewport_size({"width": width, "height": 900})
    for lang in ("ja", "en"):
        page.goto(f"{url}/scans/{run.pk}/?reason=case_work&lang={lang}")
        heads = page.locator("[data-testid=scan-findings] th")
        assert heads.count() == 9
        for i in range(heads.count()):
            assert heads.nth(i).evaluate(LINES) == 1, (lang, width, heads.nth(i).inner_text())
        rows = page.locator("[data-testid=scan-findings] tr:has(td)")
        assert rows.count() >= 3
        for i in range(rows.count()):
            for index in (0, 3, 4, 7):  # link, resident, other resident, terminal
                cell = rows.nth(i).locator("td").nth(index)
                assert cell.evaluate(LINES) <= 1, (lang, width, cell.inner_text())
            if width == 1280:  # the cause wraps between words only, in two lines at most
                cause = rows.nth(i).locator("td").nth(1)
                assert cause.evaluate(LINES) <= 2, (lang, cause.inner_text())
        if width >= 1024:  # no word or date broken inside itself ("2022-07- / 01 15:19")
            cells = page.locator("[data-testid=scan-findings] td")
            assert cells.evaluate_all(BROKEN_WORDS) == [], lang
        assert overflow(page) <= 0, (lang, width)
    page.goto(f"file://{tmp_path / 'o' / 'report.html'}")
    page.screenshot(path=str(tmp_path / f"report-{width}.png"), full_page=True)
    heads = page.locator("th")
    assert heads.count() > 20
    for i in range(heads.count()):
        assert heads.nth(i).evaluate(LINES) == 1, (width, heads.nth(i).inner_text())
    cells = page.locator("table.events td")
    assert cells.count() > 50
    for i in range(0, cells.count(), 7):  # a sample of the desk log's cells, every column
        assert cells.nth(i).evaluate(LINES) <= 1, (width, cells.nth(i).inner_text())
    assert overflow(page) <= 0, width
