"""Round 19: a resident's letter is dated the day it is issued, and a case step cannot be
dated after today (a letter dated 「令和8年11月1日」 for a step known to the month, or dated a
year ahead by a slip of the keys)."""

from datetime import timedelta

import pytest
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


def _investigated(trusted, desk):  # noqa: F811
    completion = desk_completion(desk, trusted.card("A"))
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, summary="身に覚えがない", holder=completion.visit.holder)
    cases.case_investigate(case, actor=official, summary="調査", event_date=timezone.localdate())
    return case, official


def test_a_letter_for_a_step_known_to_the_month_is_dated_the_day_it_is_issued(
    trusted,
    desk,  # noqa: F811
):
    case, official = _investigated(trusted, desk)
    month_ago = timezone.localdate().replace(day=15) - timedelta(days=31)
    cases.case_close(
        case,
        actor=official,
        summary="誤りではなかった",
        outcome="no_error",
        event_date=month_ago,
        date_precision="month",
    )
    notice = Notice.objects.get(case=case, entry__kind="close")
    assert notice.issued_on == timezone.localdate()
    assert notice.issued_on_ja == format_era(timezone.localdate(), weekday=False)
    # The step's month, as a sentence says it (round 21: not 「…月（日付は不明）、」).
    assert notice.body[0].startswith(f"{format_month(month_ago)}に、")


def test_a_step_dated_after_today_is_refused_saying_why(
    trusted,
    desk,  # noqa: F811
):
    case, official = _investigated(trusted, desk)
    slip = timezone.localdate() + timedelta(days=365)
    with pytest.raises(cases.CaseRefused) as refused:
        cases.case_close(
            case,
            actor=official,
            summary="誤りではなかった",
            outcome="no_error",
            event_date=slip,
            date_precision="day",
        )
    assert refused.value.code == "date_in_future"
    assert "年を確かめてください" in refused.value.message_ja
    assert not Notice.objects.filter(case=case, entry__kind="close").exists()
