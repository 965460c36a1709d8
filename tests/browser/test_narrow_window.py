"""Officials' pages in a 1024 px window (a desk PC's or a laptop's): the header, the incidents
table and the daily reports' grid keep their words whole and stay within the window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.incidents import services as incidents
from madoguchi.terminals.models import Terminal
from tests import factories
from tests.cases.conftest import open_case

from .test_case_page import official_page  # noqa: F401

COMPLAINT = "受付の後、カードを返却しないまま次の方の手続きを始めたとの申出がありました。"


def complaint(official, summary=COMPLAINT):
    """A resident's complaint an official recorded at desk-01, as the incident pages list it."""
    return incidents.incident_complaint(
        recorded_by=official,
        terminal=factories.terminal(name="desk-01"),
        summary=summary,
        reported_by="来庁者",
    )


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# How many lines an element's text takes: the distinct tops of its text's line boxes (a table
# cell is as tall as its row, so its own height says nothing).
LINES = """e => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
    .map(r => Math.round(r.top)));
  return tops.size;
}"""

# The words of the given elements that a line break splits, each with the text around it: a word
# whose parts lie on two lines. A word is a run of Latin letters and digits, with a code's
# number after a hyphen (CASE-00001, 2026-12-04); a break after a hyphen in prose
# ("after-|completion") or between Japanese characters is not a broken word.
BROKEN_WORDS = r"""cells => cells.flatMap(cell => {
    const broken = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of node.data.matchAll(/[A-Za-z0-9]+(?:-[0-9]+)*/g)) {
            const range = document.createRange();
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                .map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(m[0] + " in " + cell.innerText.slice(0, 60));
        }
    }
    return broken;
})"""


def overflow(page) -> int:
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.fixture
def narrow(official_page):  # noqa: F811
    page, official, url = official_page
    page.set_viewport_size({"width": 1024, "height": 800})
    return page, official, url


def test_the_header_keeps_its_words_whole(narrow):
    """An official's header at 1024 px broke the subtitle, the user's name and "Sign out" letter
    by letter and ran them together ("…手続き支市役 四子")."""
    page, _official, url = narrow
    for lang in ("ja", "en"):
        page.goto(f"{url}/officials/?lang={lang}")
        nav = page.locator("header .topnav")
        for item in (
            nav.locator(".user-name"),
            nav.get_by_role("link").first,
            nav.locator("button[type=submit]").first,
        ):
            assert item.evaluate(LINES) == 1, (lang, item.inner_text())
        brand = page.locator("header .brand").bounding_box()
        name = nav.locator(".user-name").bounding_box()
        assert brand is not None
        assert name is not None
        same_row = (
            name["y"] < brand["y"] + brand["height"] and brand["y"] < name["y"] + name["height"]
        )
        assert not same_row or brand["x"] + brand["width"] < name["x"], (lang, brand, name)
        assert overflow(page) <= 0, lang


def test_incident_codes_stay_on_one_line(narrow):
    """The severity, the visit reference, the terminal and the staff member's name were broken
    into columns of two or three letters ("776 D5D FA", "des k-01") beside a long summary, the
    kind inside its word ("Comp / laint"), and the time a character or two a line."""
    page, official, url = narrow
    complaint(official, summary=COMPLAINT * 3)
    for lang in ("ja", "en"):
        page.goto(f"{url}/officials/incidents/?lang={lang}")
        row = page.locator("[data-testid=incidents] tbody tr").first
        cells = row.locator("td")
        for index in (1, 2, 4):  # kind (one word: 苦情, Complaint), severity, terminal
            assert cells.nth(index).evaluate(LINES) == 1, (lang, cells.nth(index).inner_text())
        # The time, a link to the incident's page, stays whole (it broke a character or two a
        # line: 「令和8年 / 12月2 / 日 / 05:59:0 / 7」).
        assert cells.nth(0).evaluate(LINES) == 1, (lang, cells.nth(0).inner_text())
        assert overflow(page) <= 0, lang


def test_the_daily_reports_grid_keeps_its_words_and_the_page_its_width(narrow):
    """The grid of fourteen days at 1024 px broke "missing" into "missi / ng" and pushed the
    page past the window; now each state is one line and the grid scrolls inside its box.
    desk-01 was registered a month ago, so its fourteen days are links; desk-02 today, so its
    earlier days are the unlinked "before registration" state, which must stay whole too."""
    page, _official, url = narrow
    older = factories.terminal(name="desk-01")
    Terminal.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=30))
    factories.terminal(name="desk-02")
    for lang in ("ja", "en"):
        page.goto(f"{url}/reports/?lang={lang}")
        grid = page.locator("[data-testid=report-grid]")
        assert grid.locator("td a").count() >= 14
        assert grid.locator("td > span").count() >= 13
        cells = grid.locator("td > a, td > span")
        for i in range(cells.count()):
            assert cells.nth(i).evaluate(LINES) == 1, (lang, cells.nth(i).inner_text())
        assert overflow(page) <= 0, lang


def test_a_visits_times_and_numbers_stay_on_one_line(narrow, trusted, settings):
    """A visit's audit trail at 1024 px printed its event numbers and times broken in two
    ("1 / 1", "23:12: / 57"), and today's visits table its references and times."""
    from tests.officials.test_pages import ORIGIN, visit_on

    settings.MADOGUCHI_ORIGIN = ORIGIN
    page, _official, url = narrow
    visit = visit_on(factories.terminal(name="desk-01"), trusted.card("A"), pending=True)
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    for lang in ("ja", "en"):
        page.goto(f"{url}/officials/?lang={lang}")
        cells = page.locator("[data-testid=visits] tbody tr").first.locator("td")
        for index in (0, 1, 2, 3):  # reference, terminal, staff, started
            assert cells.nth(index).evaluate(LINES) == 1, (lang, cells.nth(index).inner_text())
        page.goto(f"{url}/officials/visits/{visit.public_id}/?reason=incident&lang={lang}")
        rows = page.locator("[data-testid=audit-trail] tbody tr")
        assert rows.count() >= 3
        for i in range(rows.count()):
            for index in (0, 1):  # the event's number, its time
                cell = rows.nth(i).locator("td").nth(index)
                assert cell.evaluate(LINES) == 1, (lang, cell.inner_text())
        assert overflow(page) <= 0, lang


def test_on_a_phone_a_visits_checklist_and_trail_keep_room_for_their_sentences(
    official_page,  # noqa: F811
    trusted,
    settings,
):
    """At 390 px the officials' visit page gave a ticked checklist item 58 px, two or three
    characters a line (カード / の顔写 / 真が…), and its audit trail's events 76 px: both are
    sentences and keep 14rem, the tables scrolling in their own box."""
    from madoguchi.checklists import services as checklists
    from tests.officials.test_pages import ORIGIN, visit_on

    settings.MADOGUCHI_ORIGIN = ORIGIN
    page, _official, url = official_page
    page.set_viewport_size({"width": 390, "height": 844})
    template = checklists.template_install_default()
    visit = visit_on(factories.terminal(name="desk-01"), trusted.card("A"), pending=True)
    checklists.tick(
        visit=visit,
        item=template.items.get(code="card_face_matches"),
        staff=visit.desk_session.staff,
    )
    for lang in ("ja", "en"):
        page.goto(f"{url}/officials/visits/{visit.public_id}/?reason=incident&lang={lang}")
        item = page.locator("[data-testid=visit-checklist] tbody td").nth(
            2
        )  # after the time and the completion
        assert item.bounding_box()["width"] >= 200, (lang, item.inner_text())
        event = page.locator("[data-testid=audit-trail] tbody td").nth(2)
        assert event.bounding_box()["width"] >= 200, (lang, event.inner_text())
        assert overflow(page) <= 0, lang


def test_on_a_phone_a_daily_reports_incidents_keep_their_codes_and_labels_whole(
    official_page,  # noqa: F811
):
    """At 390 px a daily report's incidents broke the time, the kind and who recorded it two or
    three characters a line beside the summary's 14rem (令和8 / 年12 / 月2日, 手続き / 未確定 /
    のまま…): the codes stay on one line and each label keeps 8rem."""
    from django.utils import timezone

    page, official, url = official_page
    page.set_viewport_size({"width": 390, "height": 844})
    terminal = complaint(official).terminal
    day = timezone.localdate().isoformat()
    for lang in ("ja", "en"):
        page.goto(f"{url}/reports/{terminal.pk}/{day}/?reason=daily_check&lang={lang}")
        cells = page.locator("[data-testid=report-incidents] tr:has(td)").first.locator("td")
        for index in (0, 1, 4):  # the incident's number, its time, its severity
            assert cells.nth(index).evaluate(LINES) == 1, (lang, cells.nth(index).inner_text())
        for index in (2, 7):  # its kind, who recorded it
            assert cells.nth(index).bounding_box()["width"] >= 120, (lang, index)
        assert overflow(page) <= 0, lang


@pytest.mark.parametrize("width", [390, 1024])
def test_an_incidents_audit_trail_keeps_its_codes_whole_and_its_sentences_room(
    official_page,  # noqa: F811
    trusted,
    settings,
    width,
):
    """The audit trail of an incident's (and a case's) page broke each row's number and the
    terminal (1 / 3, desk- / 01) and, on a phone, its event three or four characters a line
    beside a terminal column given the sentence's room. Number, time and terminal are one line
    each; the event keeps at least 14 characters' room."""
    from madoguchi.incidents.models import Incident
    from tests.officials.test_pages import ORIGIN, visit_on

    settings.MADOGUCHI_ORIGIN = ORIGIN
    page, _official, url = official_page
    page.set_viewport_size({"width": width, "height": 800})
    visit = visit_on(factories.terminal(name="desk-01"), trusted.card("A"), pending=True)
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    incident = Incident.objects.filter(visit=visit).first()
    assert incident is not None
    for lang in ("ja", "en"):
        page.goto(f"{url}/incidents/{incident.pk}/?reason=incident&lang={lang}")
        rows = page.locator("[data-testid=audit-trail] tr:has(td)")
        assert rows.count() >= 3
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td")
            for index in (0, 1, 4):  # the number, the time, the terminal
                assert cells.nth(index).evaluate(LINES) == 1, (lang, cells.nth(index).inner_text())
            assert cells.nth(2).bounding_box()["width"] >= 200, (lang, cells.nth(2).inner_text())
        assert overflow(page) <= 0, lang


def recorded_scan(tmp_path):
    """A recorded scan run of 5,000 generated links (input tmp_path/d, output tmp_path/o)."""
    import io

    from django.core.management import call_command

    from madoguchi.scans.models import ScanRun

    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("scan", "generate", "--links", "5000", "--seed", "1", str(tmp_path / "d"), **quiet)
    call_command(
        "scan", "run", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--record", "--no-pdf",
        **quiet,
    )  # fmt: skip
    return ScanRun.objects.get()


def test_scan_findings_keep_their_ids_on_one_line(narrow, tmp_path):
    """A recorded scan's findings at 1024 px broke the link and resident IDs in two
    ("L00000 / 1405", "R0001200 / 6"), so the IDs an official copies into a case were misread;
    the terminal's ID broke in three ("131016- / B0000- / T000"), and the run list's number
    and engine ("実 / 行", "duckd / b")."""
    page, _official, url = narrow
    run = recorded_scan(tmp_path)
    for lang in ("ja", "en"):
        page.goto(f"{url}/scans/{run.pk}/?reason=case_work&lang={lang}")
        rows = page.locator("[data-testid=scan-findings] tr:has(td)")
        assert rows.count() >= 3
        for i in range(rows.count()):
            for index in (0, 3, 4, 7):  # link, resident, other resident, terminal
                cell = rows.nth(i).locator("td").nth(index)
                assert cell.evaluate(LINES) <= 1, (lang, cell.inner_text())
        # The short headers over the score and the case stay whole ("スコ / ア", "ケー / ス").
        heads = page.locator("[data-testid=scan-findings] th")
        for index in (2, 8):
            assert heads.nth(index).evaluate(LINES) == 1, (lang, heads.nth(index).inner_text())
        assert overflow(page) <= 0, lang
        # The list of runs: the run's number and its engine ("duckd / b") whole too.
        page.goto(f"{url}/scans/?lang={lang}")
        cells = page.locator("[data-testid=scan-runs] tr:has(td)").first.locator("td")
        # and its start time, which broke inside the date (「令和8年12月2 / 日 06:07」).
        for index in (0, 1, 2):
            assert cells.nth(index).evaluate(LINES) == 1, (lang, cells.nth(index).inner_text())
        # Their headers too: "実行" broke in the middle of the word ("実 / 行") above the numbers.
        heads = page.locator("[data-testid=scan-runs] th")
        for index in (0, 1, 2):
            assert heads.nth(index).evaluate(LINES) == 1, (lang, heads.nth(index).inner_text())
        assert overflow(page) <= 0, lang


def test_on_a_phone_a_scans_causes_and_desk_events_keep_their_words(official_page, tmp_path):  # noqa: F811
    """At 390 px a scan run's count per cause gave the count 14rem and its cause 57 px, a few
    characters a line (ログアウ / ト漏れ, 家族名 / 義の口 / 座…), and a finding's desk events
    broke the time and the staff member's ID a few characters a line (1310 / 16-B0 / 000-…)."""
    page, _official, url = official_page
    page.set_viewport_size({"width": 390, "height": 844})
    run = recorded_scan(tmp_path)
    for lang in ("ja", "en"):
        page.goto(f"{url}/scans/{run.pk}/?reason=case_work&lang={lang}")
        for row in page.locator("[data-testid=scan-causes] tr:has(td)").all():
            name, count = row.locator("td").nth(0), row.locator("td").nth(1)
            assert name.bounding_box()["width"] > count.bounding_box()["width"], lang
        page.locator("[data-testid=scan-findings] tr:has(td) a").first.click()
        page.wait_for_load_state()
        rows = page.locator("[data-testid=finding-timeline] tr:has(td)")
        assert rows.count() >= 1
        for index in (0, 2, 3):  # the time, the staff member's ID, the resident's ID
            cell = rows.first.locator("td").nth(index)
            assert cell.evaluate(LINES) == 1, (lang, cell.inner_text())
        assert overflow(page) <= 0, lang


# Each chart's box, its figure's, and its key's entries (text, box, lines, font size).
LEGEND_BOXES = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const fig = svg.closest('figure').getBoundingClientRect();
  const legend = [...svg.closest('figure').querySelectorAll('.chart-legend li')].map(li => {
    const r = li.getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(li.lastChild);  // the name's text, not its swatch
    const lines = new Set([...range.getClientRects()].filter(x => x.width > 0)
      .map(x => Math.round(x.top))).size;
    return {text: li.textContent, left: r.left, right: r.right, top: r.top, lines,
      size: parseFloat(getComputedStyle(li).fontSize),
      swatch: getComputedStyle(li.querySelector('.swatch')).backgroundColor};
  });
  return {left: box.left, right: box.right, bottom: box.bottom,
    figLeft: fig.left, figRight: fig.right, legend};
})"""


@pytest.mark.parametrize("width", [390, 1024, 1366])
def test_the_dashboards_legends_are_whole_at_common_widths(official_page, width):  # noqa: F811
    """The dashboard's chart legends were cut off: drawn in the SVG's right margin, they shrank
    with the chart (two charts a row at 1366 px) and cut longer names with an ellipsis, so the
    two desks below read the same. Each key now names every series whole (a desk's name on one
    line) in readable text under its chart, inside its figure and the window, at 1024 and 1366 px, in
    Japanese and English; and on a phone (390 px), where each chart's 520 px minimum ran 160 px
    past the screen."""
    from madoguchi.incidents.constants import IncidentKind, Severity

    page, official, url = official_page
    page.set_viewport_size({"width": width, "height": 900})
    desks = [factories.terminal(name=f"本庁舎1階 総合窓口 第{n}番") for n in (1, 2)]
    codes = ["certificate_mismatch", "visit_ended", "nothing_pending", "challenge_other_visit"]
    for n, code in enumerate(codes * 2):
        incidents.incident_record(
            kind=IncidentKind.COMPLETION_REFUSED,
            reason_code=code,
            severity=Severity.LOW,
            summary="窓口での手続きが確定されませんでした。",
            terminal=desks[n % 2],
        )
    incidents.incident_complaint(
        recorded_by=official, terminal=desks[0], summary="申出", reported_by="来庁者"
    )
    for lang in ("ja", "en"):
        page.goto(f"{url}/reports/dashboard/?lang={lang}")
        charts = page.evaluate(LEGEND_BOXES)
        assert len(charts) >= 4
        for chart in charts:
            assert chart["figLeft"] - 1 <= chart["left"]
            assert chart["right"] <= chart["figRight"] + 1
            assert chart["right"] <= width, (lang, chart)
            assert chart["legend"], chart
            for entry in chart["legend"]:
                assert "…" not in entry["text"], (lang, width, entry)
                assert entry["size"] >= 12, (lang, width, entry)
                assert entry["top"] >= chart["bottom"] - 0.5, (lang, width, entry, chart)
                assert chart["figLeft"] - 0.5 <= entry["left"], (lang, width, entry, chart)
                assert entry["right"] <= chart["figRight"] + 0.5, (lang, width, entry, chart)
        named = [e for chart in charts for e in chart["legend"] if e["text"].startswith("本庁舎")]
        assert {e["text"] for e in named} == {d.name for d in desks}  # each desk whole
        assert all(e["lines"] == 1 for e in named), named
        assert overflow(page) <= 0, (lang, width)


def test_on_a_phone_the_incident_list_scrolls_its_table_not_the_page(official_page):  # noqa: F811
    """At 390 px the incident list's table widened the page past the window (the header stayed
    390 px wide above it) and its summary broke one character a line. The table scrolls in its
    own box now; the sentence keeps at least 14 characters' room."""
    page, official, url = official_page
    page.set_viewport_size({"width": 390, "height": 800})
    complaint(official)
    for lang in ("ja", "en"):
        page.goto(f"{url}/incidents/?lang={lang}")
        assert overflow(page) <= 0, lang
        summary = page.locator("[data-testid=incident-list] [data-testid=incident-summary]").last
        assert summary.bounding_box()["width"] >= 200, lang
        size = page.locator("input[name=day]").evaluate("e => getComputedStyle(e).fontSize")
        assert float(size.removesuffix("px")) >= 15, lang


def test_on_a_phone_the_officials_tables_keep_their_headings_whole(official_page):  # noqa: F811
    """At 390 px the desks' and visits' tables of the officials' day broke their headings one
    character a line (委 / 託 / 事 / 業 / 者): they keep them whole and scroll in their own box."""
    page, _official, url = official_page
    page.set_viewport_size({"width": 390, "height": 800})
    factories.terminal(name="desk-01")
    for lang in ("ja", "en"):
        page.goto(f"{url}/officials/?lang={lang}")
        heads = page.locator("[data-testid=desks] th, [data-testid=visits] th")
        assert heads.count() >= 10
        for i in range(heads.count()):
            assert heads.nth(i).evaluate(LINES) == 1, (lang, heads.nth(i).inner_text())
        assert overflow(page) <= 0, lang


def test_on_a_phone_the_officials_sentences_keep_room_for_their_words(official_page):  # noqa: F811
    """At 390 px the officials' incident list gave its summary about 100 px beside the columns
    kept whole and broke it inside its words ("committe / d", "51C9BCD / 0"), and the case list
    squeezed a case's title to a few characters a line beside its opening time. Each sentence
    keeps at least 14 characters' room; the tables scroll in their own box."""
    page, official, url = official_page
    page.set_viewport_size({"width": 390, "height": 800})
    complaint(official)
    open_case(
        official, title="支援窓口におけるマイナポイントの誤付与の申し出", other_resident_label="B氏"
    )
    for lang in ("ja", "en"):
        for path, sentence in (
            ("/officials/incidents/?reason=daily_check", "[data-testid=incidents] td:last-child"),
            ("/cases/?reason=case_work", "[data-testid=case-list] td:nth-child(2)"),
        ):
            page.goto(f"{url}{path}&lang={lang}")
            cell = page.locator(sentence).first
            assert cell.bounding_box()["width"] >= 200, (lang, path)
            assert overflow(page) <= 0, (lang, path)
