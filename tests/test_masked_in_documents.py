"""A masked number (＊＊＊＊1234) stays on one line in the letters to residents and the city's
incident report: WeasyPrint, as a browser, may break a line between any two full-width
characters, and a letter read 「被保険者番号 ＊＊」 at a line's end and 「＊＊1234」 on the next."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string

from madoguchi import pdf

SENTENCE = (
    "健康保険証としての利用登録（保険者番号 39131001、被保険者番号 ＊＊＊＊1234）を停止しました。"
)
MASKED = "＊＊＊＊1234"
SHIFTS = range(12)  # characters before the sentences, so that a masked number meets a line's end


def _lines(html: str) -> list[str]:
    """The text of each line WeasyPrint laid out."""
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    out = []
    for page in pdf.html_document(html).render().pages:
        for box in page._page_box.descendants():
            if isinstance(box, LineBox):
                out.append("".join(b.text for b in box.descendants() if isinstance(b, TextBox)))
    return out


def _letter(paragraph: str) -> str:
    notice = SimpleNamespace(title="お知らせ", issued_on_ja="令和8年12月4日", body=[paragraph])
    return render_to_string(
        "residents/notice_document.html",
        {"n": notice, "contact": {}, "call_centre": "0120-000-000"},
    )


def _report(paragraph: str) -> str:
    doc = SimpleNamespace(
        title="報告書",
        introduction=[paragraph],
        content=[paragraph],
        cause=[],
        prevention=[],
        contact=SimpleNamespace(department="", phone="", fax=""),
    )
    timeline = SimpleNamespace(first=[], abbreviated=0, brief=[], latest=[])
    return render_to_string("cases/report_document.html", {"doc": doc, "timeline": timeline})


@pytest.mark.parametrize("document", [_letter, _report], ids=["letter", "report"])
def test_a_masked_number_is_never_split_across_two_lines(document):
    split = []
    for shift in SHIFTS:
        paragraph = "あ" * shift + SENTENCE * 3
        html = document(paragraph)
        whole = sum(line.count(MASKED) for line in _lines(html))
        if whole != html.count(MASKED):
            split.append(shift)
    assert split == []


def test_a_masked_number_in_a_letter_is_escaped_with_the_paragraph():
    html = _letter("<b>口座</b> ＊＊＊＊0001")
    assert '&lt;b&gt;口座&lt;/b&gt; <span class="nowrap">＊＊＊＊0001</span>' in html
