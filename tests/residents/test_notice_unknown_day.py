"""Round 22: a step recorded with 日付は不明 (as the seed's re-enabling is) issued the resident a
letter opening 「日付は不明、あなたに関する…利用を停止しました。」, the city telling the resident it
does not know when it acted; a step known to the month opened 「令和8年12月（日付は不明）、…」. The
letter leaves an unknown day out, and says a month as 「令和8年12月に、…」 (the report keeps
日付は不明, as the seed does)."""

from datetime import timedelta

from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.era import format_era, format_month
from madoguchi.residents.models import Notice
from tests import factories
from tests.residents.test_resident_page import (  # noqa: F401 -- fixtures
    _origins,
    desk,
    desk_completion,
    open_case,
)

LETTERS = ("suspension", "point_return", "reenable", "close")


def _walk(trusted, desk, when):  # noqa: F811
    """A case about resident A taken through every step that issues a letter, each dated
    `when` (keyword arguments of a step)."""
    completion = desk_completion(desk, trusted.card("A"))
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, summary="身に覚えがない", holder=completion.visit.holder)
    today = timezone.localdate()
    cases.case_investigate(case, actor=official, summary="調査", event_date=today)
    cases.case_suspend(case, actor=official, summary="利用停止", **when)
    cases.case_contact(
        case, actor=official, party="provider", channel="phone", summary="照会", event_date=today
    )
    cases.case_return_points(case, actor=official, summary="返還", **when)
    cases.case_reenable(case, actor=official, summary="再申込み可能", **when)
    cases.case_notify(case, actor=official, summary="通知", event_date=today)
    cases.case_close(case, actor=official, summary="完了", **when)
    return {n.entry.kind: n.body[0] for n in Notice.objects.filter(case=case)}


def test_every_letter_of_a_step_whose_day_is_unknown_leaves_the_day_out(
    trusted,
    desk,  # noqa: F811
):
    first = _walk(trusted, desk, {"date_precision": "unknown"})
    assert sorted(first) == sorted(LETTERS)
    for kind, sentence in first.items():
        assert "日付は不明" not in sentence, (kind, sentence)
        assert not sentence.startswith("、"), (kind, sentence)
    assert first["suspension"].startswith("あなたに関するマイナポイントの紐付けについて、")
    assert first["reenable"].startswith("あなたご本人による")


def test_every_letter_of_a_step_known_to_the_month_says_the_month_as_a_sentence_does(
    trusted,
    desk,  # noqa: F811
):
    month_ago = timezone.localdate().replace(day=15) - timedelta(days=31)
    first = _walk(trusted, desk, {"event_date": month_ago, "date_precision": "month"})
    assert sorted(first) == sorted(LETTERS)
    for kind, sentence in first.items():
        assert sentence.startswith(f"{format_month(month_ago)}に、"), (kind, sentence)
        assert "日付は不明" not in sentence, (kind, sentence)


def test_a_letter_of_a_step_known_to_the_day_opens_with_the_day(
    trusted,
    desk,  # noqa: F811
):
    today = timezone.localdate()
    first = _walk(trusted, desk, {"event_date": today})
    for sentence in first.values():
        assert sentence.startswith(f"{format_era(today, weekday=False)}、")
