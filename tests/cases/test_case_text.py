"""A case's words the system made (its title by programme, a resident's report, a scan finding)
read in the page's language; the stored Japanese stays the city's record, and what an official
typed shows as typed (cases.text). On the English pages the case list and the case page showed
the Japanese titles, 「本人からの申し出」 and the intake's Japanese summary."""

import re

from django.urls import reverse

from madoguchi.cases import text
from madoguchi.cases.constants import Programme
from tests.cases.conftest import open_case

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _pages(client, official, case, lang):
    client.force_login(official)
    listed = client.get(f"/cases/?reason=case_work&lang={lang}").content.decode()
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + f"?reason=case_work&lang={lang}"
    ).content.decode()
    return listed, page


def test_a_title_made_by_programme_reads_in_english_and_stays_japanese_in_the_record(
    client, official
):
    case = open_case(official, programme=Programme.PUBLIC_FUND)
    assert case.title == "支援窓口における公金受取口座の誤登録の申し出"  # the record, as before
    listed, page = _pages(client, official, case, "en")
    said = "A reported wrong public-fund account registration at a support desk"
    assert said in listed
    assert f"<h1>{case.reference} {said}</h1>" in page
    listed, page = _pages(client, official, case, "ja")
    assert case.title in listed
    assert said not in page


def test_words_an_official_typed_and_old_cases_show_as_stored(client, official):
    typed = open_case(official, title="窓口で別の方の口座に紐付けた可能性")
    old = open_case(official)
    type(old).objects.filter(pk=old.pk).update(texts={})  # opened before the forms were kept
    listed, page = _pages(client, official, typed, "en")
    assert "窓口で別の方の口座に紐付けた可能性" in listed
    assert "マイナポイントの申込について心当たりがない。" in page  # the summary, as typed
    assert "支援窓口におけるマイナポイントの誤付与の申し出" in listed  # the old one's stored title


def test_an_unknown_or_broken_form_falls_back_to_the_stored_words(settings):
    from django.utils import translation

    with translation.override("en"):
        assert text.shown({"title": {"id": "nope", "params": {}}}, "title", "記録") == "記録"
        broken = {"title": text.neutral(text.SCAN_TITLE)}  # its parameter missing
        assert text.shown(broken, "title", "記録") == "記録"
        made = {"title": text.neutral(text.SCAN_TITLE, cause=text.by_language(ja="x", en="y"))}
        assert text.shown(made, "title", "記録").endswith(": y")
    with translation.override("ja"):
        assert text.shown(made, "title", "記録") == "記録"
    assert not JAPANESE.search(text.render(made) or "")
