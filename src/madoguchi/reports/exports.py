"""PDF (WeasyPrint, imported lazily) and Excel (openpyxl) of a daily report's content."""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from madoguchi.incidents.constants import Severity
from madoguchi.incidents.text import incident_text


def incident_rows(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's incidents for people: the severity in words (低, not low) in the active
    language, the time as `2026-11-30 21:58:42`. Display only: the content stays as frozen."""
    labels = dict(Severity.choices)
    return [
        {
            **i,
            "severity_label": str(labels.get(i["severity"], i["severity"])),
            "at_text": str(i["at"]).replace("T", " ")[:19],
        }
        for i in content.get("incidents", [])
    ]


def render_document(content: dict[str, Any], *, submitted: Any = None) -> str:
    """The HTML of the report's document, in Japanese whatever the active language."""
    with translation.override("ja"):
        return render_to_string(
            "reports/daily_document.html",
            {"r": content, "incidents": incident_rows(content), "submitted": submitted},
        )


def to_pdf(content: dict[str, Any], *, submitted: Any = None) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=render_document(content, submitted=submitted)).write_pdf())


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
    rows += [(k, v) for k, v in c["refusals"].items()]
    rows.append(())
    rows.append(("インシデント種別", "件数"))
    rows += [(k, v) for k, v in c["incidents"].items()]
    for row in rows:
        ws.append(list(row))
    ws2 = wb.create_sheet("インシデント")
    ws2.append(["ID", "日時", "種別", "理由", "重大度", "受付", "スタッフ", "記録", "内容"])
    for i in content["incidents"]:
        with translation.override("ja"):  # the workbook is in Japanese
            sentence = incident_text(i)
        ws2.append(
            [
                i["id"],
                i["at"],
                i["kind_label"],
                i["reason"],
                i["severity"],
                i["visit"],
                i["staff"],
                i["source"],
                sentence,
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
