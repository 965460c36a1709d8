"""A day before 明治6年1月1日 (1026-12-01, a slip of the keys for 2026-12-01) was taken by every
case form (a step's day, the intake's, a legacy link's day and its session records): the era
dates cannot write it, so the case's Japanese page, its report page, report.md and report.pdf
answered 500 from then on (an entry is never deleted), and a step issuing a resident's letter
answered 500 at once. Now each is refused in Japanese, saying the earliest day taken, and
nothing is recorded."""

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.cases import legacy as legacy_links
from madoguchi.cases import services
from madoguchi.cases.models import Case, LegacyLink, TimelineEntry
from tests.cases.conftest import legacy_form, open_case

EARLIEST = "1873年1月1日（明治6年1月1日）より前"
"""What the day field says of a day before the eras (the date reader refuses it first)."""


def typed_too_early(typed: str) -> str:
    return (
        f"{typed} は、日本が太陽暦（グレゴリオ暦）を採用した1873年1月1日（明治6年1月1日）より前の"
        "日です。年を確かめてください。"
    )


REFUSED = (
    "日付が明治6年1月1日（1873-01-01）より前になっています。ケースに記録できるのは"
    "明治6年1月1日以降の日です。年を確かめてください。"
)


def _key(page: str, step: str) -> str:
    form = re.search(rf'<form [^>]*data-step="{step}">.*?</form>', page, re.S).group(0)
    return re.search(r'name="(?:\w+-)?once" value="([^"]+)"', form).group(1)


def _pages(client: Client, case: Case) -> dict[str, int]:
    return {
        name: client.get(
            reverse(f"cases:{name}", args=[case.pk]) + "?reason=case_work&lang=ja"
        ).status_code
        for name in ("detail", "report", "report_md", "report_pdf")
    }


def _said(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


@pytest.fixture
def client(official):
    c = Client(raise_request_exception=False)
    c.force_login(official)
    return c


def post_step(client: Client, case: Case, step: str, **fields: str):
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()
    data = {f"{step}-once": _key(page, step), f"{step}-date_precision": "day"}
    data.update({f"{step}-{k}": v for k, v in fields.items()})
    return client.post(reverse("cases:step", args=[case.pk, step]) + "?lang=ja", data)


def test_a_step_dated_before_the_eras_is_refused_beside_the_day_and_the_case_stays_readable(
    client, official
):
    case = open_case(official)
    r = post_step(client, case, "investigate", summary="調査開始", event_date="1026-12-01")
    said = _said(r)
    assert TimelineEntry.objects.filter(case=case).count() == 1, said
    assert said == [f"日付：{typed_too_early('1026-12-01')}"], said
    # The page it returns to shows the day kept, its refusal under it.
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()
    assert "1026-12-01" in page
    assert EARLIEST in page
    assert set(_pages(client, case).values()) == {200}


def test_a_step_service_refuses_a_day_before_the_eras(official):
    case = open_case(official)
    with pytest.raises(services.CaseRefused) as refused:
        services.case_investigate(
            case, actor=official, summary="調査", event_date=date(1026, 12, 1), date_precision="day"
        )
    assert refused.value.code == "date_too_early"
    assert "明治6年1月1日" in refused.value.message_ja
    assert "1873-01-01" in refused.value.message_en
    # The first day the era dates write is taken.
    services.case_investigate(
        case, actor=official, summary="調査", event_date=date(1873, 1, 1), date_precision="day"
    )


def test_an_intake_dated_before_the_eras_is_refused(client, official):
    page = client.get(reverse("cases:new") + "?lang=ja").content.decode()
    key = re.search(r'name="once" value="([^"]+)"', page).group(1)
    r = client.post(
        reverse("cases:new") + "?lang=ja",
        {
            "once": key,
            "resident_label": "A氏",
            "reported_by": "A氏",
            "channel": "phone",
            "summary": "心当たりがない",
            "event_date": "1026-08-01",
            "date_precision": "month",
        },
    )
    assert r.status_code == 200
    assert not Case.objects.exists()
    assert EARLIEST in r.content.decode()
    with pytest.raises(services.CaseRefused) as refused:
        open_case(official, event_date=date(1026, 8, 1))
    assert refused.value.code == "date_too_early"
    assert not Case.objects.exists()


def test_a_legacy_link_dated_before_the_eras_is_refused(client, official):
    case = open_case(official)
    r = client.post(
        reverse("cases:legacy_link", args=[case.pk]) + "?lang=ja",
        legacy_form(linked_on="1026-08-10", linked_on_precision="day"),
    )
    said = _said(r)
    assert not LegacyLink.objects.exists()
    assert said == [f"紐付けた日：{typed_too_early('1026-08-10')}"], said
    assert set(_pages(client, case).values()) == {200}


def test_a_session_record_dated_before_the_eras_is_refused_naming_its_line(client, official):
    case = open_case(official)
    r = client.post(
        reverse("cases:legacy_link", args=[case.pk]) + "?lang=ja",
        legacy_form(session_log="2022-08-10 10:02, login, 職員\n1026-08-10 10:05, card_read, A氏"),
    )
    said = _said(r)
    assert not LegacyLink.objects.exists()
    assert said == [
        "端末の記録の2行目の日時が明治6年1月1日（1873-01-01）より前になっています。"
        "ケースに記録できるのは明治6年1月1日以降の日です。年を確かめてください。"
    ], said
    assert set(_pages(client, case).values()) == {200}
    with pytest.raises(services.CaseRefused) as refused:
        legacy_links.parse_session_log("1872-12-31 23:59, login, 職員")
    assert refused.value.code == "session_log_too_early"
    assert legacy_links.parse_session_log("1873-01-01 00:00, login, 職員")


def test_a_letter_step_dated_before_the_eras_on_a_residents_case_is_refused_not_a_500(
    trusted, official, settings
):
    """On a case with a resident, a step that issues a letter (here the close) dated 1026-12-01
    answered 500: the letter's era date raised inside the step's transaction."""
    from django.utils import timezone

    from madoguchi.residents.models import Notice
    from madoguchi.terminals import services as terminal_services
    from tests import factories
    from tests.residents.test_resident_page import ORIGIN, desk_completion

    settings.MADOGUCHI_ORIGIN = ORIGIN
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    completion = desk_completion(desk, trusted.card("A"))
    case = open_case(official, holder=completion.visit.holder, event_date=timezone.localdate())
    client = Client(raise_request_exception=False)
    client.force_login(official)
    r = post_step(
        client,
        case,
        "close",
        summary="誤りではなかった",
        outcome="no_error",
        event_date="1026-12-01",
    )
    said = _said(r)
    assert r.status_code == 302
    assert said == [f"日付：{typed_too_early('1026-12-01')}"], said
    assert not Notice.objects.filter(case=case).exists()
    assert set(_pages(client, case).values()) == {200}
