"""The daily report's documents say every column in words, in the language they are asked in:
no internal code in the reason column, times in the city's time as the language dates them."""

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
from madoguchi.refusals import known_message
from madoguchi.reports import exports, services
from tests.cases.pdftext import check_pdf

CODE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$|^timeout\d$")


def _yesterday(terminal):
    # An outside failure with a code and no reason in its sentence, and a completion refusal
    # recorded before sentences were kept (its code a known refusal).
    for kind, code, severity, summary in (
        (IncidentKind.OUTSIDE_FAILURE, "timeout0", Severity.LOW, "The provider did not answer."),
        (IncidentKind.COMPLETION_REFUSED, "visit_ended", Severity.HIGH, "refused: visit_ended"),
        (IncidentKind.COMPLETION_REFUSED, "some_unknown_code", Severity.HIGH, "refused: ?"),
    ):
        incidents.incident_record(
            kind=kind, reason_code=code, severity=severity, summary=summary, terminal=terminal
        )
    Incident.objects.update(occurred_at=F("occurred_at") - timedelta(days=1))
    return timezone.localdate() - timedelta(days=1)


def _sheet_rows(data, name):
    return list(load_workbook(io.BytesIO(data))[name].iter_rows(values_only=True))


def _all_cells(data):
    wb = load_workbook(io.BytesIO(data))
    return [str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v]


@pytest.mark.django_db
def test_the_workbook_never_writes_a_reason_code(desk, supervisor):
    """The 理由 column wrote `timeout0` and `visit_ended`, and the refusals by reason
    `completion_refused:some_unknown_code`: the city reads a known refusal's sentence, "—"
    where the incident's sentence says it all, never a code."""
    day = _yesterday(desk.terminal)
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    data = exports.to_xlsx(report.snapshot, submitted=report)
    rows = _sheet_rows(data, "インシデント")[1:]
    ended = known_message("visit_ended", "ja").rstrip("。")
    reasons = {r[3] for r in rows}
    assert reasons == {"—", ended}, reasons
    # Every cell but the incidents' sentences (an old row whose code has no sentence shows its
    # stored summary, as the pages do).
    summary_cells = [str(v) for r in _sheet_rows(data, "概要") for v in r if v]
    for cell in summary_cells + [str(v) for r in rows for v in r[:8] if v]:
        for part in re.split(r"[：:\s]", cell):
            assert not CODE.match(part), cell


@pytest.mark.django_db
def test_the_workbook_dates_in_the_era_with_the_zone_named(desk, supervisor):
    """The time column read `2026-11-30 21:58:42` (no zone) and the day `2026-11-30`: a
    Japanese workbook dates as the city's letters do, the column naming Japan time."""
    day = _yesterday(desk.terminal)
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    data = exports.to_xlsx(report.snapshot, submitted=report)
    rows = _sheet_rows(data, "インシデント")
    assert rows[0][1] == "日時（日本時間）"
    assert all(re.fullmatch(r"令和\d+年\d+月\d+日 \d\d:\d\d:\d\d", r[1]) for r in rows[1:])
    summary = {r[0]: r[1] for r in _sheet_rows(data, "概要") if r and r[0]}
    assert re.fullmatch(r"令和\d+年\d+月\d+日", summary["日付"])
    assert summary["提出日時（日本時間）"].startswith("令和")
    text = check_pdf(exports.to_pdf(report.snapshot, submitted=report))
    assert "令和" in text
    assert not re.search(r"\d{4}-\d\d-\d\d", text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "refusals", "by_kind"),
    [
        ("ja", "拒否（理由別）", "インシデント（種別ごと）"),
        ("en", "Refusals by reason", "Incidents by kind"),
    ],
)
def test_the_workbooks_two_tables_have_their_titles(desk, supervisor, language, refusals, by_kind):
    """Probe F: the summary sheet's two tables stood without the titles the page and the PDF
    give them: each now has its title on the row above its header."""
    day = _yesterday(desk.terminal)
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    data = exports.to_xlsx(report.snapshot, submitted=report, language=language)
    firsts = [r[0] for r in _sheet_rows(data, "概要" if language == "ja" else "Summary")]
    w = exports.WORDS[language]
    assert firsts[firsts.index(refusals) + 1] == w["reason"]
    assert firsts[firsts.index(by_kind) + 1] == w["kinds"]


@pytest.mark.django_db
def test_an_export_asked_in_english_is_in_english(client, desk, supervisor):
    """The exports were Japanese whatever the reader's language: asked from an English page
    (`?lang=en`) the workbook and the PDF are in English, reasons in words, dates in the
    calendar."""
    day = _yesterday(desk.terminal)
    client.force_login(supervisor)
    url = reverse("reports:daily_xlsx", args=[desk.terminal.pk, day.isoformat()])
    data = client.get(url + "?lang=en").content
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Summary", "Incidents"]
    rows = _sheet_rows(data, "Incidents")
    assert rows[0][:5] == ("ID", "Time (Japan time)", "Kind", "Reason", "Severity")
    assert {r[3] for r in rows[1:]} == {"—", known_message("visit_ended", "en").rstrip(".")}
    assert {r[4] for r in rows[1:]} == {"Low", "High"}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r[1]) for r in rows[1:])
    names = {desk.terminal.location, str(desk.terminal.contractor)}
    for cell in _all_cells(data):  # the records' own names aside, no Japanese
        assert not re.search(r"[ぁ-んァ-ン]", cell) or cell in names, cell
    pdf_url = reverse("reports:daily_pdf", args=[desk.terminal.pk, day.isoformat()])
    text = check_pdf(client.get(pdf_url + "?lang=en").content)
    assert "Desk daily report" in text
    assert "日次報告" not in text


@pytest.mark.django_db
def test_the_exports_name_the_zone_their_times_are_in(desk, supervisor, settings):
    """The headings said 日本時間 (Japan time) as fixed text: with another TIME_ZONE the
    times were that zone's while the heading still said Japan time."""
    day = _yesterday(desk.terminal)
    report = services.daily_report_submit(actor=supervisor, terminal=desk.terminal, day=day)
    settings.TIME_ZONE = "UTC"
    data = exports.to_xlsx(report.snapshot, submitted=report)
    assert _sheet_rows(data, "インシデント")[0][1] == "日時（UTC、UTC+00:00）"
    summary = {r[0]: r[1] for r in _sheet_rows(data, "概要") if r and r[0]}
    assert "提出日時（UTC、UTC+00:00）" in summary
    assert not any("日本時間" in str(cell) for cell in _all_cells(data))
    english = exports.to_xlsx(report.snapshot, submitted=report, language="en")
    assert _sheet_rows(english, "Incidents")[0][1] == "Time (UTC, UTC+00:00)"
    text = check_pdf(exports.to_pdf(report.snapshot, submitted=report))
    assert "日時（UTC、UTC+00:00）" in re.sub(r"\s", "", text)  # its cell wraps
    assert "日本時間" not in re.sub(r"\s", "", text)


def _table_cells(html, testid):
    """The text of each row's cells of the table `testid` (tags dropped)."""
    table = re.search(rf'<table[^>]*data-testid="{testid}"[^>]*>(.*?)</table>', html, re.S)
    assert table, html
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "none"), [("ja", "なし"), ("en", "None")])
def test_the_page_the_pdf_and_the_workbook_say_the_same_things_the_same_way(
    client, desk, supervisor, lang, none
):
    """An empty visit cell was blank on the page, 「—」 in the PDF and empty in Excel; an empty
    refusals table read 「—」 on the page and 「なし」 in the PDF; only the workbook had the 理由
    and 記録 columns, and the incidents by kind. The three now show the same rows, columns and
    words: "—" for an empty cell, なし / None for an empty table."""
    incidents.incident_record(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="timeout0",
        severity=Severity.LOW,
        summary="The provider did not answer.",
        terminal=desk.terminal,
    )  # no visit, no staff; no refusal that day
    Incident.objects.update(occurred_at=F("occurred_at") - timedelta(days=1))
    day = timezone.localdate() - timedelta(days=1)
    client.force_login(supervisor)
    args = [desk.terminal.pk, day.isoformat()]
    page = client.get(reverse("reports:daily", args=args) + f"?lang={lang}").content.decode()
    content = services.build_daily(desk.terminal, day)
    document = exports.render_document(content, language=lang)
    data = client.get(reverse("reports:daily_xlsx", args=args) + f"?lang={lang}").content
    sheet = "インシデント" if lang == "ja" else "Incidents"
    workbook = [[("" if v is None else str(v)) for v in row] for row in _sheet_rows(data, sheet)]
    on_page = _table_cells(page, "report-incidents")
    assert on_page == _table_cells(document, "report-incidents") == workbook
    assert len(on_page[0]) == 9
    visit, staff = on_page[1][5], on_page[1][6]
    assert (visit, staff) == ("—", "—")
    assert on_page[0][3] == ("理由" if lang == "ja" else "Reason")
    assert on_page[0][7] == ("記録" if lang == "ja" else "Recorded")
    # The empty refusals table, and the incidents by kind, alike in the three.
    for html in (page, document):
        refusals = re.search(
            r"<table[^>]*><tr><th>[^<]*</th><th>[^<]*</th></tr>(.*?)</table>", html
        )
        assert refusals, html
        assert re.sub(r"<[^>]+>", "", refusals.group(1)) == none
        assert _table_cells(html, "report-kinds")[1][1] == "1"
    summary = _sheet_rows(data, "概要" if lang == "ja" else "Summary")
    reason_at = [r[0] for r in summary].index("理由" if lang == "ja" else "Reason")
    assert summary[reason_at + 1][0] == none
    pdf_text = check_pdf(
        client.get(reverse("reports:daily_pdf", args=args) + f"?lang={lang}").content
    )
    assert ("記録" if lang == "ja" else "Recorded") in pdf_text
