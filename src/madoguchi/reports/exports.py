"""PDF (WeasyPrint, imported lazily) and Excel (openpyxl) of a daily report's content.

Both documents are in the language they are asked in (Japanese unless the reader's page is in
English): every heading, the kind, severity, source and the refusal's reason in words, never a
code; days and times in the city's time as that language dates them (令和8年11月30日 21:58:42,
or 2026-11-30 21:58:42), the zone named in the column's heading (日本時間 in Japan's zone, else the zone's name).
"""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from madoguchi import pdf
from madoguchi.dates import local_day, local_time, zone_words
from madoguchi.incidents.constants import IncidentKind, Severity, Source
from madoguchi.incidents.text import incident_text, reason_text
from madoguchi.language import english, page_language
from madoguchi.plaintext import spreadsheet_cell
from madoguchi.refusals import known_message

# The documents' own words, by language (the page's words are in the catalogue).
WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "支援窓口 日次報告",
        "report": "日次報告",
        "summary_sheet": "概要",
        "incident_sheet": "インシデント",
        "submitted": "提出済み",
        "draft": "未提出（下書き）",
        "contractor": "委託事業者",
        "desk": "窓口（端末）",
        "location": "場所",
        "day": "日付",
        "status": "状態",
        "visits": "受付件数",
        "completions": "確定件数",
        "incidents": "インシデント件数",
        "submitted_by": "提出者",
        "submitted_at": "提出日時（{zone}）",
        "note": "監督者の所見",
        "refusals": "拒否（理由別）",
        "reason": "理由",
        "count": "件数",
        "kinds": "インシデント種別",
        "by_kind": "インシデント（種別ごと）",
        "incidents_of_day": "インシデント（全 %(n)s 件）",
        "time": "日時（{zone}）",
        "kind": "種別",
        "severity": "重大度",
        "visit": "受付",
        "staff": "スタッフ",
        "source": "記録",
        "text": "内容",
        "none": "なし",
        "hash": "内容の SHA-256",
    },
    "en": {
        "title": "Desk daily report",
        "report": "Daily report",
        "summary_sheet": "Summary",
        "incident_sheet": "Incidents",
        "submitted": "Submitted",
        "draft": "Not submitted (draft)",
        "contractor": "Contractor",
        "desk": "Desk (terminal)",
        "location": "Location",
        "day": "Day",
        "status": "Status",
        "visits": "Visits",
        "completions": "Completions",
        "incidents": "Incidents",
        "submitted_by": "Submitted by",
        "submitted_at": "Submitted at ({zone})",
        "note": "Supervisor's note",
        "refusals": "Refusals by reason",
        "reason": "Reason",
        "count": "Count",
        "kinds": "Incident kind",
        "by_kind": "Incidents by kind",
        "incidents_of_day": "Incidents (%(n)s in all)",
        "time": "Time ({zone})",
        "kind": "Kind",
        "severity": "Severity",
        "visit": "Visit",
        "staff": "Staff",
        "source": "Recorded",
        "text": "Summary",
        "none": "None",
        "hash": "SHA-256 of the content",
    },
}


EMPTY = "—"  # an empty cell, the same in the page, the PDF and the Excel file


def words(language: str) -> dict[str, str]:
    """The documents' words in `language`, the time headings naming the city's time zone
    (`dates.zone_words`: 日本時間 in Japan's zone, else the zone's own name)."""
    zone = zone_words(language)
    return {key: text.replace("{zone}", zone) for key, text in WORDS[language].items()}


def document_language(language: str | None) -> str:
    """The documents' language: English when asked in English, else Japanese."""
    return page_language(language or "ja")


def incident_rows(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's incidents for people: the kind and the severity in words (低, not low) in
    the active language (the frozen `kind_label` is in the language of whoever generated the
    content), the time in the city's time as the language dates it (令和8年11月30日 21:58:42,
    2026-11-30 21:58:42), the reason in words (`reason_words`), who recorded it (the system or
    a person) in words, and an empty visit or staff as "—": the page, the PDF and the Excel
    file all show these rows, so they say the same things the same way. Display only: the
    content stays as frozen."""
    labels = dict(Severity.choices)
    sources = dict(Source.choices)
    return [
        {
            **i,
            "kind_label": _kind_label(str(i.get("kind"))) if i.get("kind") else i.get("kind_label"),
            "severity_label": str(labels.get(i["severity"], i["severity"])),
            "at_text": local_time(str(i["at"]), seconds=True),
            "reason_text": reason_words(i),
            "source_label": str(sources.get(i.get("source"), i.get("source") or EMPTY)),
            "visit_text": i.get("visit") or EMPTY,
            "staff_text": i.get("staff") or EMPTY,
        }
        for i in content.get("incidents", [])
    ]


def reason_words(incident: dict[str, Any]) -> str:
    """An incident's reason for people, in the active language: the reason its sentence
    carries (a refusal's message, the name check's reason), else the sentence of its reason
    code when that is a known refusal, else "—" (the incident's sentence says the rest).
    Never the internal code."""
    said = reason_text(incident.get("text"))
    if said:
        return said
    language = page_language()
    known = known_message(str(incident.get("reason") or ""), language)
    return known.rstrip("。.") if known else EMPTY


def refusal_rows(content: dict[str, Any]) -> list[tuple[str, int]]:
    """The report's refusals by reason for people, in the active language (`refusal_label`):
    the kind and the refusal's own message (taken from the day's incidents), not
    `kind:reason` codes."""
    said: dict[str, str] = {}
    for i in content.get("incidents", []):
        key = f"{i.get('kind')}:{i.get('reason')}"
        if not said.get(key):
            said[key] = reason_text(i.get("text")) or ""
    counted: dict[str, int] = {}
    for key, count in content["counts"]["refusals"].items():
        kind, _, code = key.partition(":")
        label = refusal_label(kind, code, said.get(key, ""))
        counted[label] = counted.get(label, 0) + count
    return list(counted.items())


def refusal_label(kind: str, code: str, said: str = "") -> str:
    """A refusal's name for people, in the active language, the same in the daily report and
    the dashboard's charts: its kind and its own message (`said`, from its incidents' neutral
    sentence); for a reason whose incidents carry none (old rows), the sentence of its code
    when that is a known refusal, else the kind alone (never the code). Two kinds refused for
    one reason (a card's certificate revoked at the visit's start and at the completion) are
    two refusals."""
    separator = ": " if english() else "："
    if not said:
        known = reason_words({"reason": code})
        said = "" if known == EMPTY else known
    return f"{_kind_label(kind)}{separator}{said}" if said else _kind_label(kind)


def kind_rows(content: dict[str, Any]) -> list[tuple[str, int]]:
    """The report's incidents by kind, the kind in words in the active language."""
    return [(_kind_label(k), v) for k, v in content["counts"]["incidents"].items()]


def _kind_label(kind: str) -> str:
    return str(IncidentKind(kind).label) if kind in IncidentKind.values else kind


def render_document(
    content: dict[str, Any], *, submitted: Any = None, language: str | None = "ja"
) -> str:
    """The HTML of the report's document, in `language` (`document_language`)."""
    language = document_language(language)
    with translation.override(language):
        return render_to_string(
            "reports/daily_document.html",
            {
                "r": content,
                "w": words(language),
                "lang": language,
                "day_text": local_day(content.get("day")),
                "submitted_at_text": local_time(submitted.submitted_at) if submitted else "",
                "incidents_heading": WORDS[language]["incidents_of_day"]
                % {"n": content["counts"]["incidents_total"]},
                "incidents": incident_rows(content),
                "refusals": refusal_rows(content),
                "kinds": kind_rows(content),
                "submitted": submitted,
            },
        )


def to_pdf(content: dict[str, Any], *, submitted: Any = None, language: str | None = "ja") -> bytes:
    return pdf.to_pdf(render_document(content, submitted=submitted, language=language))


def to_xlsx(
    content: dict[str, Any], *, submitted: Any = None, language: str | None = "ja"
) -> bytes:
    # openpyxl only when a spreadsheet is asked for (heavy; most exports are CSV).
    from openpyxl import Workbook

    language = document_language(language)
    w = words(language)
    wb = Workbook()
    ws = wb.active
    ws.title = w["summary_sheet"]
    c = content["counts"]
    with translation.override(language):
        rows: list[tuple[Any, ...]] = [
            (w["report"], w["submitted"] if submitted else w["draft"]),
            (w["contractor"], content["contractor"]),
            (w["desk"], content["terminal"]),
            (w["location"], content["location"]),
            (w["day"], local_day(content["day"])),
            (w["visits"], c["visits"]),
            (w["completions"], c["completions"]),
            (w["incidents"], c["incidents_total"]),
        ]
        if submitted is not None:
            rows += [
                (w["submitted_by"], str(submitted.submitted_by)),
                (w["submitted_at"], local_time(submitted.submitted_at)),
                ("SHA-256", submitted.sha256),
            ]
        rows.append((w["note"], content.get("note", "")))
        # Each table under its title, as the page and the PDF show it.
        rows.append(())
        rows.append((w["refusals"],))
        rows.append((w["reason"], w["count"]))
        rows += refusal_rows(content) or [(w["none"],)]
        rows.append(())
        rows.append((w["by_kind"],))
        rows.append((w["kinds"], w["count"]))
        rows += kind_rows(content) or [(w["none"],)]
        for row in rows:
            ws.append([spreadsheet_cell(v) for v in row])
        ws2 = wb.create_sheet(w["incident_sheet"])
        ws2.append(
            [
                "ID",
                w["time"],
                w["kind"],
                w["reason"],
                w["severity"],
                w["visit"],
                w["staff"],
                w["source"],
                w["text"],
            ]
        )
        for i in incident_rows(content):
            cells = (
                i["id"],
                i["at_text"],
                i["kind_label"],
                i["reason_text"],
                i["severity_label"],
                i["visit_text"],
                i["staff_text"],
                i["source_label"],
                incident_text(i),
            )
            ws2.append([spreadsheet_cell(v) for v in cells])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
