"""Exports (PDF, Excel) read back, the city's grid, the dashboard, and page permissions."""

import io
import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from madoguchi.incidents import services as incidents
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.plaintext import FORMULA_STARTS
from madoguchi.reports import exports, services
from madoguchi.reports.models import DailyReport
from madoguchi.terminals.models import Terminal
from tests import factories
from tests.cases.pdftext import check_pdf


def yesterdays_incidents(terminal, summaries):
    """Low outside-failure incidents (`timeout0`, `timeout1`, …) of the desk's yesterday."""
    for n, summary in enumerate(summaries):
        incidents.incident_record(
            kind=IncidentKind.OUTSIDE_FAILURE,
            reason_code=f"timeout{n}",
            severity=Severity.LOW,
            summary=summary,
            terminal=terminal,
        )
    Incident.objects.update(occurred_at=F("occurred_at") - timedelta(days=1))
    return terminal, timezone.localdate() - timedelta(days=1)


@pytest.fixture
def day_with_incidents(desk, supervisor):
    return yesterdays_incidents(desk.terminal, [f"提供事業者の応答なし {n}" for n in range(3)])


def test_pdf_and_excel_of_a_submitted_report(day_with_incidents, supervisor):
    terminal, day = day_with_incidents
    report = services.daily_report_submit(
        actor=supervisor, terminal=terminal, day=day, note="特記事項なし"
    )
    text = check_pdf(exports.to_pdf(report.snapshot, submitted=report)).replace("\n", "")
    for n in range(3):
        assert f"提供事業者の応答なし {n}" in text or f"提供事業者の応答なし{n}" in text
    assert "提出済み" in text
    assert terminal.name in text
    wb = load_workbook(io.BytesIO(exports.to_xlsx(report.snapshot, submitted=report)))
    summary = {row[0]: row[1] for row in wb["概要"].iter_rows(values_only=True) if row and row[0]}
    assert summary["日次報告"] == "提出済み"
    assert summary["SHA-256"] == report.sha256
    assert summary["インシデント件数"] == 3
    assert summary["監督者の所見"] == "特記事項なし"
    rows = list(wb["インシデント"].iter_rows(values_only=True))
    assert rows[0][0] == "ID"
    assert len(rows) == 4
    assert {r[3] for r in rows[1:]} == {"—"}  # no reason apart from the sentence, no code
    assert {r[4] for r in rows[1:]} == {"低"}  # the severity and the source in words
    assert {r[7] for r in rows[1:]} == {"自動記録"}


def test_supervisor_submits_through_the_page(client, day_with_incidents, supervisor):
    terminal, day = day_with_incidents
    client.force_login(supervisor)
    url = reverse("reports:daily", args=[terminal.pk, day.isoformat()])
    page = client.get(url)
    assert page.status_code == 200
    assert b'data-testid="draft"' in page.content
    assert page.content.count("提供事業者の応答なし".encode()) == 3
    client.post(url, {"note": "確認済み"})
    report = DailyReport.objects.get()
    assert report.note == "確認済み"
    assert report.submitted_by == supervisor
    page = client.get(url)
    assert b'data-testid="submitted"' in page.content
    assert b'<form method="post" class="card">' not in page.content
    pdf = client.get(reverse("reports:daily_pdf", args=[terminal.pk, day.isoformat()]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    xlsx = client.get(reverse("reports:daily_xlsx", args=[terminal.pk, day.isoformat()]))
    assert load_workbook(io.BytesIO(xlsx.content))["概要"]["B1"].value == "提出済み"


def test_other_contractor_cannot_see_or_submit(client, day_with_incidents, other_supervisor):
    terminal, day = day_with_incidents
    client.force_login(other_supervisor)
    url = reverse("reports:daily", args=[terminal.pk, day.isoformat()])
    # Another contractor's desk answers as a missing one.
    assert client.get(url).status_code == 404
    assert client.post(url, {"note": "x"}).status_code == 404
    assert not DailyReport.objects.exists()


def test_desk_staff_cannot_open_report_pages(client, desk):
    client.force_login(desk.staff)
    assert client.get(reverse("reports:index")).status_code == 403
    assert client.get(reverse("reports:city")).status_code == 403


def test_city_grid_shows_submitted_and_missing(client, day_with_incidents, supervisor, official):
    terminal, day = day_with_incidents
    other = factories.terminal()
    # Desks registered long before the days shown (a desk's days before it existed are not due).
    Terminal.objects.update(created_at=timezone.now() - timedelta(days=30))
    services.daily_report_submit(actor=supervisor, terminal=terminal, day=day)
    client.force_login(official)
    page = client.get(reverse("reports:city") + "?days=3").content.decode()
    cells = re.findall(r'data-status="(\w+)"', page)
    assert len(cells) == 3 * Terminal.objects.count()
    assert cells.count("submitted") == 1
    # Per desk: the two days before today are missing except the one submitted; today is open.
    assert cells.count("open") == Terminal.objects.count()
    assert cells.count("missing") == 2 * Terminal.objects.count() - 1
    assert other.name in page
    # Supervisors do not get the city's view.
    client.force_login(supervisor)
    assert client.get(reverse("reports:city")).status_code == 403


def test_a_desk_registered_today_has_no_missing_reports_before_it(client, official):
    """A desk registered today showed each earlier day of the grid as 未提出 (a report missing
    for days it did not exist), and the city's missing count took them. Those days now say
    登録前 and are not counted; a desk registered earlier still has its missing days."""
    new = factories.terminal()
    old = factories.terminal()
    Terminal.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    client.force_login(official)
    response = client.get(reverse("reports:city") + "?days=5")
    page = response.content.decode()
    rows = {
        row["terminal"].pk: [c["status"] for c in row["cells"]] for row in response.context["rows"]
    }
    assert rows[new.pk] == ["open"] + ["before"] * 4  # today first
    assert rows[old.pk] == ["open"] + ["missing"] * 4
    assert "登録前" in page
    assert response.context["missing"] == 4  # the earlier desk's only


def test_the_grids_start_with_today(client, supervisor, official):
    """The grids listed their days oldest first: today's column, the report a supervisor opens
    most, was the last of fourteen (of up to 62 on the city's), beyond the page's right edge.
    Both grids start with today and go back a day a column; each cell's link is its column's
    day."""
    terminal = factories.terminal()  # the contractor of every test desk, the supervisor's
    Terminal.objects.update(created_at=timezone.now() - timedelta(days=30))
    today = timezone.localdate()
    for user, url, n in (
        (supervisor, reverse("reports:index"), 14),
        (official, reverse("reports:city") + "?days=20", 20),
    ):
        client.force_login(user)
        page = client.get(url).content.decode()
        header = re.findall(r"<th>(\d+/\d+)</th>", page)
        assert header == [
            f"{d.month}/{d.day}" for d in (today - timedelta(days=i) for i in range(n))
        ]
        links = re.findall(rf"/reports/{terminal.pk}/(\d{{4}}-\d\d-\d\d)/", page)
        assert links == [(today - timedelta(days=i)).isoformat() for i in range(n)]


@pytest.mark.parametrize("bad", ["abc", "0", "100", "-3", "１２"])
def test_city_grid_days_that_are_not_a_number_are_said_so(client, official, bad):
    """?days= is typed by people: anything but 1 to 62 is a Japanese sentence on the page (it
    was a 500 for a word), and the usual 14 days are shown."""
    client.force_login(official)
    response = client.get(reverse("reports:city") + f"?days={bad}")
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [f"「{bad}」は 1〜62 の日数として読めません。直近 14 日を表示しています。"]
    assert len(response.context["days"]) == 14
    assert len(client.get(reverse("reports:city") + "?days=62").context["days"]) == 62


def test_dashboard_is_inline_svg_without_scripts_or_styles(client, day_with_incidents, official):
    terminal, _day = day_with_incidents
    refusal = incidents.incident_record(
        kind=IncidentKind.COMPLETION_REFUSED,
        reason_code="certificate_mismatch",
        severity=Severity.HIGH,
        summary="x",
        terminal=terminal,
    )
    Incident.objects.filter(pk=refusal.pk).update(occurred_at=F("occurred_at") - timedelta(days=1))
    client.force_login(official)
    page = client.get(reverse("reports:dashboard")).content.decode()
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 4 + Terminal.objects.count()
    assert all("<script" not in s and "style=" not in s for s in svgs)
    incidents_chart = svgs[3]
    label = str(IncidentKind.OUTSIDE_FAILURE.label)
    assert label in incidents_chart
    assert "<polyline" in incidents_chart
    assert re.search(re.escape(label) + r" 令和\d+年\d+月\d+日: 3", incidents_chart)
    # Refusals per desk: this desk's chart has the one refusal, by its reason in words (the
    # row, recorded without a sentence, is read from its refusal code).
    desk_section = page.split('data-testid="desk-charts"')[1]
    mine = desk_section.split(f"<figcaption>{terminal.name}</figcaption>")[1].split("</svg>")[0]
    assert re.search(
        r"署名したカードが、受付を開始したカードと異なります[^<]* 令和\d+年\d+月\d+日: 1", mine
    )
    assert "certificate_mismatch" not in mine


def test_the_daily_report_says_severity_and_time_in_words(client, day_with_incidents, supervisor):
    """The page and the PDF read 低 and `2026-11-30 21:58:42`, not `low` and an ISO stamp; the
    page's header does not call the report's desk this browser's terminal."""
    terminal, day = day_with_incidents
    client.force_login(supervisor)
    page = client.get(reverse("reports:daily", args=[terminal.pk, day.isoformat()])).content
    html = page.decode()
    assert html.count('<td class="sev-low nowrap">低</td>') == 3
    assert not re.search(r"<td[^>]*>\d{4}-\d\d-\d\dT", html)
    assert 'data-testid="terminal-name"' not in html
    report = services.daily_report_submit(actor=supervisor, terminal=terminal, day=day)
    text = check_pdf(exports.to_pdf(report.snapshot, submitted=report))
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d", text)
    assert "low" not in text


def test_a_nul_in_the_daily_reports_note_says_why_and_submits_nothing(
    client, day_with_incidents, supervisor
):
    """A NUL in the note (``%00`` in the form) was a server error: PostgreSQL cannot store it."""
    terminal, day = day_with_incidents
    client.force_login(supervisor)
    url = reverse("reports:daily", args=[terminal.pk, day.isoformat()])
    r = client.post(url + "?reason=daily_check", {"note": "確認\x00済み"})
    assert r.status_code == 400  # the page again, the note in its field without the NUL
    assert '<textarea id="note" name="note" rows="3">\n確認済み</textarea>' in r.content.decode()
    assert "所見に使えない文字（制御文字または壊れた文字）が含まれています" in r.content.decode()
    assert not DailyReport.objects.exists()


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("https://evil.example/","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_text_a_spreadsheet_would_run_is_kept_as_text_in_the_workbook(desk, supervisor, text):
    """A supervisor's note or an incident's sentence starting with `=` was stored by openpyxl
    as a formula, run when an official opened the file; `+ - @`, tab and CR are formulas once
    the cell is edited or the sheet saved as CSV."""
    terminal, day = yesterdays_incidents(desk.terminal, [text])
    report = services.daily_report_submit(actor=supervisor, terminal=terminal, day=day, note=text)
    wb = load_workbook(io.BytesIO(exports.to_xlsx(report.snapshot, submitted=report)))
    cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    summary = {r[0]: r[1] for r in wb["概要"].iter_rows(values_only=True) if r and r[0]}
    shown = "'" + text.replace("\r", "\n")  # as written after an apostrophe (XML keeps no CR)
    assert summary["監督者の所見"] == shown
    assert texts.count(shown) == 2  # the note and the incident's sentence


def test_every_page_and_export_with_personal_data_is_no_store(client, day_with_incidents, official):
    """The incident list, reports with their PDF and Excel files, cases and scans were sent
    with no Cache-Control: a browser or proxy could keep them for the next person."""
    terminal, day = day_with_incidents
    client.force_login(official)
    report = f"/reports/{terminal.pk}/{day.isoformat()}/"
    for path in [
        "/incidents/",
        "/reports/",
        "/reports/city/",
        "/reports/dashboard/",
        report,
        report + "pdf",
        report + "xlsx",
        "/cases/",
        "/cases/new/",
        "/scans/",
        "/officials/",
        "/no-such-page/",
    ]:
        r = client.get(path)
        assert "no-store" in r.get("Cache-Control", ""), (path, r.status_code)
        assert "private" in r["Cache-Control"], path


def test_the_exports_name_the_incident_kind_in_japanese_whoever_generated_them(
    day_with_incidents, supervisor
):
    """A report generated on an English page froze its kinds in English ("Outside system
    failure"), and its Japanese PDF and workbook printed them so; the workbook's time read
    `2026-11-30T21:58:42+09:00` (now the era, as the city writes). The page shows the kind in
    its reader's language."""
    from django.utils import translation

    terminal, day = day_with_incidents
    with translation.override("en"):
        report = services.daily_report_submit(actor=supervisor, terminal=terminal, day=day)
    with translation.override("en"):
        english = str(IncidentKind.OUTSIDE_FAILURE.label)
    with translation.override("ja"):
        japanese = str(IncidentKind.OUTSIDE_FAILURE.label)
    assert {i["kind_label"] for i in report.snapshot["incidents"]} != {japanese}
    text = check_pdf(exports.to_pdf(report.snapshot, submitted=report)).replace("\n", "")
    assert japanese.replace(" ", "") in text.replace(" ", "")
    rows = list(
        load_workbook(io.BytesIO(exports.to_xlsx(report.snapshot, submitted=report)))[
            "インシデント"
        ].iter_rows(values_only=True)
    )[1:]
    assert {r[2] for r in rows} == {japanese}
    assert all(re.fullmatch(r"令和\d+年\d+月\d+日 \d\d:\d\d:\d\d", r[1]) for r in rows)
    with translation.override("en"):
        assert {i["kind_label"] for i in exports.incident_rows(report.snapshot)} == {english}


def test_the_workbook_gives_a_refusals_reason_in_words(desk, supervisor):
    """The workbook's 理由 column held the refusal's code (`card_removed`); an incident whose
    sentence carries its reason gives it in Japanese (one without gives no code either:
    tests/reports/test_export_words.py)."""
    from madoguchi.incidents import text as incident_text

    summary, text = incident_text.sentence(
        incident_text.CARD_AUTH_REFUSED,
        reason=incident_text.by_language(
            ja="カードの有効期限が切れています", en="The card expired"
        ),
    )
    fields = {"kind": IncidentKind.VISIT_START_REFUSED, "reason_code": "card_expired"}
    incidents.incident_record(
        **fields,
        severity=Severity.LOW,
        summary=summary,
        terminal=desk.terminal,
        detail={"text": text},
    )
    Incident.objects.update(occurred_at=F("occurred_at") - timedelta(days=1))
    day = timezone.localdate() - timedelta(days=1)
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    wb = load_workbook(io.BytesIO(exports.to_xlsx(report.snapshot, submitted=report)))
    rows = list(wb["インシデント"].iter_rows(values_only=True))[1:]
    assert [r[3] for r in rows] == ["カードの有効期限が切れています"]


def test_the_pdfs_incident_headings_are_not_broken_a_character_a_line(desk):
    """The PDF's incident table squeezed its short headings to one character a line (種 / 別,
    重 / 大 / 度, 受 / 付) and broke 日時（日本時間）, beside a wide text column: the headings keep
    to one line, as on the page."""
    long = "マイナポイントの申込をした覚えがないのに、別の人の口座に紐付いていると言われた。" * 2
    terminal, day = yesterdays_incidents(desk.terminal, [long])
    text = check_pdf(exports.to_pdf(services.build_daily(terminal, day)))
    # A whole word of some line: pdftotext (when installed) sets a table row's headings on one
    # line, the fallback reader one heading a line; a heading broken a character a line is
    # neither ("インシデント種別", the section's heading above, is not the word 種別).
    words = {word for line in text.splitlines() for word in line.split()}
    for heading in ("日時（日本時間）", "種別", "重大度", "受付", "スタッフ"):
        assert heading in words
