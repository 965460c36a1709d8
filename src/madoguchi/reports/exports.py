"""PDF (WeasyPrint, imported lazily) and Excel (openpyxl) of a daily report's content."""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from madoguchi import pdf
from madoguchi.incidents.constants import IncidentKind, Severity, Source
from madoguchi.incidents.text import incident_text, reason_text
from madoguchi.plaintext import spreadsheet_cell


def incident_rows(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's incidents for people: the kind and the severity in words (低, not low) in
    the active language (the frozen `kind_label` is in the language of whoever generated the
    content), the time as `2026-11-30 21:58:42`. Display only: the content stays as frozen."""
    labels = dict(Severity.choices)
    return [
        {
            **i,
            "kind_label": _kind_label(str(i.get("kind"))) if i.get("kind") else i.get("kind_label"),
            "severity_label": str(labels.get(i["severity"], i["severity"])),
            "at_text": str(i["at"]).replace("T", " ")[:19],
        }
        for i in content.get("incidents", [])
    ]


def refusal_rows(content: dict[str, Any]) -> list[tuple[str, int]]:
    """The report's refusals by reason for people, in the active language: the kind and the
    refusal's own message (taken from the day's incidents), not `kind:reason` codes. A reason
    whose incidents carry no neutral sentence (old rows) keeps its code."""
    labels: dict[str, str] = {}
    separator = "：" if (translation.get_language() or "ja").startswith("ja") else ": "
    for i in content.get("incidents", []):
        key = f"{i.get('kind')}:{i.get('reason')}"
        said = reason_text(i.get("text"))
        if key not in labels and said:
            labels[key] = f"{_kind_label(str(i.get('kind')))}{separator}{said}"
    counted: dict[str, int] = {}
    for key, count in content["counts"]["refusals"].items():
        label = labels.get(key) or key
        counted[label] = counted.get(label, 0) + count
    return list(counted.items())


def kind_rows(content: dict[str, Any]) -> list[tuple[str, int]]:
    """The report's incidents by kind, the kind in words in the active language."""
    return [(_kind_label(k), v) for k, v in content["counts"]["incidents"].items()]


def _kind_label(kind: str) -> str:
    return str(IncidentKind(kind).label) if kind in IncidentKind.values else kind


def render_document(content: dict[str, Any], *, submitted: Any = None) -> str:
    """The HTML of the report's document, in Japanese whatever the active language."""
    with translation.override("ja"):
        return render_to_string(
            "reports/daily_document.html",
            {
                "r": content,
                "incidents": incident_rows(content),
                "refusals": refusal_rows(content),
                "submitted": submitted,
            },
        )


def to_pdf(content: dict[str, Any], *, submitted: Any = None) -> bytes:
    return pdf.to_pdf(render_document(content, submitted=submitted))


def to_xlsx(content: dict[str, Any], *, submitted: Any = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "概要"
    c = content["counts"]
    rows: list[tuple[Any, ...]] = [
        ("日次報告", "提出済み" if submitted else "未提出（下書き）"),
        ("委託事業者", content["contractor"]),
        ("窓口（端末）", content["terminal"]),
        ("場所", content["location"]),
        ("日付", content["day"]),
        ("受付件数", c["visits"]),
        ("確定件数", c["completions"]),
        ("インシデント件数", c["incidents_total"]),
    ]
    if submitted is not None:
        rows += [("提出者", str(submitted.submitted_by)), ("SHA-256", submitted.sha256)]
    rows.append(("監督者の所見", content.get("note", "")))
    rows.append(())
    rows.append(("拒否理由", "件数"))
    with translation.override("ja"):  # the workbook is in Japanese
        rows += refusal_rows(content)
        rows.append(())
        rows.append(("インシデント種別", "件数"))
        rows += kind_rows(content)
    for row in rows:
        ws.append([spreadsheet_cell(v) for v in row])
    ws2 = wb.create_sheet("インシデント")
    ws2.append(["ID", "日時", "種別", "理由", "重大度", "受付", "スタッフ", "記録", "内容"])
    sources = dict(Source.choices)
    with translation.override("ja"):  # the workbook is in Japanese
        for i in incident_rows(content):
            # The refusal's own reason in words when the incident carries it, else its code.
            reason = reason_text(i.get("text")) or i["reason"]
            cells = (
                i["id"],
                i["at_text"],
                i["kind_label"],
                reason,
                i["severity_label"],
                i["visit"],
                i["staff"],
                str(sources.get(i["source"], i["source"])),
                incident_text(i),
            )
            ws2.append([spreadsheet_cell(v) for v in cells])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
