"""A step form the case page refuses keeps what the official typed: a mistyped day, or a step
another official recorded first from another page (a stale page), sent the official back to the
case page with the message and empty forms, so a long contact summary had to be typed again."""

import re

from django.urls import reverse

from madoguchi.cases import services
from madoguchi.cases.models import TimelineEntry
from tests.cases.conftest import B_CARD, open_case

SUMMARY = (
    "コールセンターから、A氏へ電話で経緯を説明したとの報告を受けた。\n折り返しは不要とのこと。"
)


def _page(client, case):
    return client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()


def _form(page, step):
    found = re.search(rf'<form [^>]*data-step="{step}">.*?</form>', page, re.S)
    assert found, step
    return found.group(0)


def test_a_mistyped_day_keeps_the_words_typed_in_the_step_form(client, official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    before = TimelineEntry.objects.filter(case=case).count()
    client.post(
        reverse("cases:step", args=[case.pk, "note"]) + "?lang=ja",
        {
            "note-summary": SUMMARY,
            "note-event_date": "令和8年13月1日",
            "note-date_precision": "day",
        },
    )
    assert TimelineEntry.objects.filter(case=case).count() == before
    page = _page(client, case)
    note = _form(page, "note")
    # The words and the day as typed, and what is wrong beside the field.
    assert "コールセンターから、A氏へ電話で経緯を説明した" in note
    assert 'value="令和8年13月1日"' in note
    assert "令和8年13月1日 という日はありません。月と日を確かめてください。" in note
    # The other forms are empty, and a reload shows them all empty again.
    assert "コールセンターから" not in _form(page, "close")
    assert "コールセンターから" not in _page(client, case)


def test_a_step_recorded_meanwhile_keeps_the_words_to_copy(client, official):
    """Two officials with the case open: one closes it, the other, on the stale page, closes
    it too with their own words. Refused (a closed case takes no step), and the words are
    shown to copy."""
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    assert 'data-step="close"' in _page(client, case)
    services.case_close(
        case, actor=official, summary="別件として終了", event_date=None, date_precision="unknown"
    )
    entries = TimelineEntry.objects.filter(case=case).count()
    client.post(
        reverse("cases:step", args=[case.pk, "close"]) + "?lang=ja",
        {"close-summary": SUMMARY, "close-date_precision": "unknown", "close-outcome": "other"},
    )
    assert TimelineEntry.objects.filter(case=case).count() == entries
    page = _page(client, case)
    assert "コールセンターから、A氏へ電話で経緯を説明した" in page
    assert "送信した内容は記録されていません" in page
    assert "コールセンターから" not in _page(client, case)


def test_a_comparisons_number_is_never_kept(client, official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    client.post(
        reverse("cases:step", args=[case.pk, "compare"]),
        {
            "compare-presented": B_CARD,
            "compare-event_date": "2023-13-05",
            "compare-date_precision": "day",
        },
    )
    assert B_CARD not in str(dict(client.session))
    compare = _form(_page(client, case), "compare")
    assert 'value="2023-13-05"' in compare
    assert B_CARD.replace("-", "") not in compare.replace("-", "")
