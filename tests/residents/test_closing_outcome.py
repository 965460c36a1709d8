"""A case's closing says what was found. The closing letter apologised to every resident
(「このたびはご迷惑をおかけし、誠に申し訳ございません。」), one whose report the city found mistaken
included (「誤紐付けではなかった」), and said nothing of what was found. The official now chooses it
on the close step: the letter apologises where an error was put right, says none was found
(thanking a resident who reported it), or that the city explains it; the case page's timeline
and the resident's own page say it too."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.cases.models import TimelineEntry
from madoguchi.residents.models import Notice
from tests import factories
from tests.residents.test_resident_page import (  # noqa: F401 - fixtures
    _origins,
    desk,
    desk_completion,
    open_case,
    sign_in,
)

APOLOGY = "このたびはご迷惑をおかけし、誠に申し訳ございません。"


def _case(trusted, desk, reported_by="本人"):  # noqa: F811
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(
        official, summary="身に覚えがない", reported_by=reported_by, holder=completion.visit.holder
    )
    cases.case_investigate(case, actor=official, summary="調査", event_date=timezone.localdate())
    client = Client()
    client.force_login(official)
    return case, card, client


def _close(client, case, outcome):
    url = f"/cases/{case.pk}/?reason=case_work&lang=ja"
    page = client.get(url).content.decode()
    key = re.search(r'name="close-once" value="([^"]+)"', page).group(1)
    return client.post(
        f"/cases/{case.pk}/step/close/?lang=ja",
        {
            "close-once": key,
            "close-event_date": timezone.localdate().isoformat(),
            "close-date_precision": "day",
            "close-outcome": outcome,
            "close-summary": "ご本人の口座であることを確認した。",
        },
    )


def test_no_error_found_is_what_the_letter_the_timeline_and_the_residents_page_say(
    trusted,
    desk,  # noqa: F811
):
    case, card, client = _case(trusted, desk)
    _close(client, case, "no_error")
    notice = Notice.objects.get(case=case, entry__kind="close")
    body = "".join(notice.body)
    assert "確認の結果、あなたに関するマイナポイントの紐付け" in body
    assert "誤りは見つかりませんでした。" in body
    assert "お申し出いただき、ありがとうございました。" in body  # the resident reported it
    assert APOLOGY not in body
    page = client.get(f"/cases/{case.pk}/?reason=case_work&lang=ja").content.decode()
    assert "確認の結果：誤りは見つからなかった" in page
    resident = Client()
    sign_in(resident, card)
    records = resident.get("/me/records/").content.decode()
    assert "市が確認した結果、誤りは見つかりませんでした。" in records


@pytest.mark.parametrize(
    ("outcome", "says", "not_said"),
    [
        ("corrected", APOLOGY, "誤りは見つかりませんでした"),
        ("other", "対応の内容については、担当課からご説明いたします。", APOLOGY),
    ],
)
def test_an_error_put_right_is_apologised_for_and_other_is_explained(
    trusted,
    desk,  # noqa: F811
    outcome,
    says,
    not_said,
):
    case, _, client = _case(trusted, desk, reported_by="コールセンター")
    if outcome == "corrected":  # put right: after the repair, the resident notified
        from madoguchi.cases.constants import CaseStatus
        from tests.cases.test_workflow import walk_to

        walk_to(case, case.opened_by, CaseStatus.NOTIFIED)
    _close(client, case, outcome)
    body = "".join(Notice.objects.get(case=case, entry__kind="close").body)
    assert says in body
    assert not_said not in body
    assert "ありがとうございました" not in body  # the call centre reported it, not the resident


def test_a_close_without_what_was_found_is_refused_and_records_nothing(
    trusted,
    desk,  # noqa: F811
):
    case, _, client = _case(trusted, desk)
    before = TimelineEntry.objects.filter(case=case).count()
    r = _close(client, case, "")
    assert r.status_code == 302
    assert TimelineEntry.objects.filter(case=case).count() == before
    assert not Notice.objects.filter(case=case).exists()
    page = client.get(r["Location"] + "?reason=case_work&lang=ja").content.decode()
    assert "確認の結果：このフィールドは必須です。" in page


def test_a_refused_close_keeps_what_was_found_as_chosen(trusted, desk):  # noqa: F811
    case, _, client = _case(trusted, desk)
    page = client.get(f"/cases/{case.pk}/?reason=case_work&lang=ja").content.decode()
    key = re.search(r'name="close-once" value="([^"]+)"', page).group(1)
    client.post(
        f"/cases/{case.pk}/step/close/?lang=ja",
        {"close-once": key, "close-date_precision": "unknown", "close-outcome": "no_error"},
    )  # no summary: refused
    assert not Notice.objects.filter(case=case).exists()
    page = client.get(f"/cases/{case.pk}/?reason=case_work&lang=ja").content.decode()
    close = re.search(r'<form [^>]*data-step="close">.*?</form>', page, re.S).group(0)
    assert '<option value="no_error" selected>' in close
