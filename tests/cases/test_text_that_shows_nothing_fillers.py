"""Probe C (side doors, round 22): fillers and blank patterns are text that shows nothing too.

`cases.text.blank` takes a summary of zero-width characters and lone combining marks for an
empty one (tests/cases/test_text_that_shows_nothing.py), but the Hangul fillers (U+3164, its
half-width U+FFA0, the choseong filler U+115F) and the blank Braille pattern U+2800 show nothing
either, in every font a desk or an official's browser has: a step of nothing but them was
recorded on the case's timeline and in the city's report as an entry that says nothing. The
check is now `plaintext.blank`, every typed text's (docs/cases.md)."""

import pytest

from madoguchi.cases import services
from madoguchi.cases.models import Case, TimelineEntry
from tests.cases.conftest import open_case

FILLERS = ["\u3164", "\uffa0", "\u115f", "\u2800", "\u3164\u2800 \u200b"]


@pytest.mark.parametrize("summary", FILLERS)
def test_a_summary_of_fillers_is_refused_as_an_empty_one(official, summary):
    case = open_case(official)
    with pytest.raises(services.CaseRefused) as refused:
        services.case_note(case, actor=official, summary=summary, date_precision="unknown")
    assert refused.value.code == "summary_required"
    assert TimelineEntry.objects.filter(case=case).count() == 1
    with pytest.raises(services.CaseRefused) as refused:
        open_case(official, summary=summary)
    assert refused.value.code == "intake_incomplete"
    assert Case.objects.count() == 1


def test_a_legacy_link_whose_resident_is_a_filler_is_refused(client, official):
    """The legacy link's form takes the cases' free text (`plaintext.free_text`): its resident
    and its payment service as a Hangul filler were recorded, a link of no one at nothing."""
    from django.urls import reverse

    from madoguchi.cases.models import LegacyLink
    from tests.cases.conftest import legacy_form

    case = open_case(official)
    client.force_login(official)
    url = reverse("cases:legacy_link", args=[case.pk]) + "?lang=ja"
    for field in ("resident_label", "provider_name"):
        r = client.post(url, legacy_form(**{field: "\u3164"}), follow=True)
        assert "このフィールドは必須です。" in r.content.decode(), field
    assert not LegacyLink.objects.exists()


@pytest.mark.parametrize("title", ["\u2800", "\u3164\u200b"])
def test_a_report_title_of_fillers_is_no_title(official, title):
    """A report's title that shows nothing gave the city's report a title of nothing; it is
    the report's own title (by programme), as an empty one."""
    case = open_case(official)
    services.case_report_edit(case, actor=official, title=title, prevention="\u3164")
    case.refresh_from_db()
    assert case.report_title == ""
    assert case.report_prevention == ""
