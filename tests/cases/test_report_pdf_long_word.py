"""The city's report PDF (and a resident's letter) had no rule to break a long word: a note
holding an address or a reference without spaces (a URL, an e-mail address, a reference in
letters) ran off the right edge of the page and was cut from the PDF; the daily report's
document breaks them (overflow-wrap)."""

from typing import Any

from madoguchi import pdf
from madoguchi.cases import document, services
from madoguchi.residents import notices
from madoguchi.residents.models import Notice
from tests.cases.conftest import open_case

LONG = "https://support.example.co.jp/inquiry/answers/" + "abcdefghij" * 12


def _overflowing(html: str) -> list[Any]:
    """The text boxes of the laid-out document that reach past their page's right edge."""
    out = []
    for page in pdf.html_document(html).render().pages:
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            stack.extend(getattr(box, "children", []) or [])
            text = getattr(box, "text", None)
            if text and box.position_x + box.width > page.width + 1:
                out.append((text[:40], box.position_x + box.width, page.width))
    return out


def test_a_long_word_in_a_note_stays_on_the_reports_page(official):
    case = open_case(official)
    services.case_investigate(
        case, actor=official, summary="事業者の回答：" + LONG, date_precision="unknown"
    )
    assert not _overflowing(document.to_html(document.build(case)))


def test_a_long_word_in_a_letter_stays_on_its_page():
    notice = Notice(
        issued_on_ja="令和8年12月1日",
        title="お申し出いただいた件の対応完了について（お知らせ）",
        body=["決済サービス「" + LONG + "」との紐付けについて、対応をすべて完了しました。"],
        contact={"city": "テスト市", "department": "テスト市 総務課", "phone": "03-1"},
    )
    assert not _overflowing(notices.notice_html(notice))
