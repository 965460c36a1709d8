"""A step's summary of only characters that show nothing (a zero-width space, a word joiner and
U+FEFF, a combining mark alone) was recorded as written: the timeline and the city's report
carried an entry that says nothing, where an empty or blank summary is refused
「概要：このフィールドは必須です。」. And a NUL in a case's text was refused in two sentences, the
project's and Django's 「何か文字を入力してください。」 (its Japanese for "Null characters are not
allowed."), which is not why."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.cases import services
from madoguchi.cases.models import Case, TimelineEntry
from tests.cases.conftest import open_case

NOTHING = ["\u200b", "\u2060\ufeff", "\u0301", " \u200b\u3000"]


def _post_step(client: Client, case: Case, step: str, **fields: str) -> list[str]:
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()
    form = re.search(rf'<form [^>]*data-step="{step}">.*?</form>', page, re.S).group(0)
    key = re.search(rf'name="{step}-once" value="([^"]+)"', form).group(1)
    data = {f"{step}-once": key, f"{step}-date_precision": "unknown"}
    data.update({f"{step}-{k}": v for k, v in fields.items()})
    r = client.post(reverse("cases:step", args=[case.pk, step]) + "?lang=ja", data)
    return [str(m) for m in r.wsgi_request._messages]


@pytest.mark.parametrize("summary", NOTHING)
def test_a_summary_that_shows_nothing_is_refused_as_an_empty_one(client, official, summary):
    case = open_case(official)
    client.force_login(official)
    said = _post_step(client, case, "investigate", summary=summary)
    assert TimelineEntry.objects.filter(case=case).count() == 1
    assert said == ["概要：このフィールドは必須です。"], said


@pytest.mark.parametrize("summary", NOTHING)
def test_the_services_refuse_a_summary_that_shows_nothing(official, summary):
    from madoguchi.plaintext import blank

    assert blank(summary)
    case = open_case(official)
    with pytest.raises(services.CaseRefused) as refused:
        services.case_note(case, actor=official, summary=summary, date_precision="unknown")
    assert refused.value.code == "summary_required"
    with pytest.raises(services.CaseRefused) as refused:
        open_case(official, summary=summary)
    assert refused.value.code == "intake_incomplete"
    assert Case.objects.count() == 1


def test_words_with_an_invisible_character_in_them_are_words():
    from madoguchi.plaintext import blank

    assert not blank("調査\u200b開始")
    assert not blank("e\u0301")


def test_an_intake_whose_resident_shows_nothing_is_refused(client, official):
    client.force_login(official)
    page = client.get(reverse("cases:new") + "?lang=ja").content.decode()
    key = re.search(r'name="once" value="([^"]+)"', page).group(1)
    r = client.post(
        reverse("cases:new") + "?lang=ja",
        {
            "once": key,
            "resident_label": "\u200b",
            "reported_by": "A氏",
            "channel": "phone",
            "summary": "心当たりがない",
            "date_precision": "unknown",
        },
    )
    assert not Case.objects.exists()
    assert "このフィールドは必須です。" in r.content.decode()


def test_a_nul_in_a_cases_text_is_refused_in_one_true_sentence(client, official):
    case = open_case(official)
    client.force_login(official)
    said = _post_step(client, case, "investigate", summary="調査\x00開始")
    assert TimelineEntry.objects.filter(case=case).count() == 1
    assert len(said) == 1, said
    assert said[0].startswith("概要：使えない文字が含まれています。"), said
    assert "何か文字を入力してください" not in said[0]
    # A field of the forms that is not free text (the kana compared) says the same.
    services.case_investigate(case, actor=official, summary="調査")
    said = _post_step(client, case, "compare", presented="4980-1", resident_kana="ア\x00")
    assert any("使えない文字が含まれています。" in m for m in said), said
    assert not any("何か文字を入力してください" in m for m in said), said
