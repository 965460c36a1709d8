"""The city's report of a case closed with no error found, and the report's title by programme.

A case closed "no error was found" still produced the incident report: 「…事案が 1 件発生した
ことが判明しました」, an apology to the residents, and 1 内容 saying the points went to a wrong
account, above 2 原因 「調査の結果、誤りは見つかりませんでした。」. And the report's edit form
offered the point programme's title to every case, so an official who saved a public-fund
case's measures saved 「…マイナポイントの誤付与について」 as its title."""

from datetime import date

import pytest
from django.urls import reverse

from madoguchi.cases import document, services
from madoguchi.cases.constants import Programme
from tests.cases.conftest import open_case

CLOSED_ON = dict(event_date=date(2022, 9, 1), date_precision="day")


def close(case, official, outcome):
    services.case_close(case, actor=official, summary="確認した", outcome=outcome, **CLOSED_ON)
    case.refresh_from_db()
    return document.build(case)


def test_a_case_closed_with_no_error_found_reports_a_check_not_an_incident(official):
    doc = close(open_case(official), official, "no_error")
    text = document.to_markdown(doc)
    assert doc.title == "支援窓口におけるマイナポイントの申込みに関する確認の結果について"
    assert "発生したことが判明" not in text
    assert "お詫び" not in text
    assert "付与されたもの" not in text
    assert doc.introduction[0] == (
        "市が設置している支援窓口において行われたマイナポイントの申込み（キャッシュレス決済"
        "サービスの紐付け）について、誤りの可能性があるとして確認を行った結果、誤りは見つかり"
        "ませんでした。"
    )
    assert doc.content == [
        "令和4年8月、市の支援窓口において行われたA氏のマイナポイントの申込み（キャッシュレス"
        "決済サービスの紐付け）について、誤りの可能性があるとして確認したものです。"
    ]
    assert doc.cause == ["調査の結果、誤りは見つかりませんでした。"]


def test_each_programme_has_its_own_words_for_a_check(official):
    for programme, subject in document.CHECKED_SUBJECTS.items():
        doc = close(open_case(official, programme=programme), official, "no_error")
        assert doc.title == document.CHECKED_TITLES[programme]
        assert subject in doc.introduction[0]
        assert subject in doc.content[0]


def test_a_case_put_right_or_closed_otherwise_keeps_the_incident_report(official):
    from madoguchi.cases.constants import CaseStatus
    from tests.cases.test_workflow import walk_to

    for outcome in ("corrected", "other"):
        case = open_case(official)
        if outcome == "corrected":  # put right: after the repair, the resident notified
            walk_to(case, official, CaseStatus.NOTIFIED)
        doc = close(case, official, outcome)
        assert doc.title == document.TITLES[Programme.POINTS]
        assert "事案が 1 件発生したことが判明しました" in doc.introduction[0]
        assert "深くお詫びいたします" in doc.introduction[1]


def test_a_case_is_closed_as_put_right_only_after_its_repair(official):
    """A case closed at intake as "an error was found and put right": the city's report then
    apologised for a mis-link and its correction, with no repair on the case. Refused in
    Japanese, nothing recorded; "no error" after a repair is refused the same way."""
    from madoguchi.cases.constants import CaseStatus
    from madoguchi.cases.services import CaseRefused
    from tests.cases.test_workflow import walk_to

    case = open_case(official)
    for status in (CaseStatus.INTAKE, CaseStatus.INVESTIGATION):
        walk_to(case, official, status)
        with pytest.raises(CaseRefused) as refused:
            close(case, official, "corrected")
        assert refused.value.code == "outcome_not_reached"
        assert "修復" in refused.value.message_ja
        assert case.status == status
    walk_to(case, official, CaseStatus.NOTIFIED)
    with pytest.raises(CaseRefused):
        close(case, official, "no_error")
    assert case.status == CaseStatus.NOTIFIED
    close(case, official, "corrected")
    assert case.status == CaseStatus.CLOSED


def test_an_open_case_and_a_title_of_its_own_are_unchanged(official):
    case = open_case(official)
    assert document.build(case).title == document.TITLES[Programme.POINTS]
    case.report_title = "題は市が決めた"
    case.save(update_fields=["report_title"])
    assert close(case, official, "no_error").title == "題は市が決めた"


def test_the_edit_form_offers_the_case_s_own_title_and_leaves_an_unchanged_one_empty(
    client, official
):
    case = open_case(official, programme=Programme.PUBLIC_FUND)
    client.force_login(official)
    url = reverse("cases:report", args=[case.pk]) + "?reason=case_work"
    page = client.get(url).content.decode()
    fund_title = document.TITLES[Programme.PUBLIC_FUND]
    assert f'value="{fund_title}"' in page
    assert document.TITLES[Programme.POINTS] not in page
    # Saving only a measure keeps the title following the case: it becomes the check's title
    # once the case is closed with no error found.
    offered = "\r\n".join(document.default_prevention(case)) + "\r\n"
    sent = client.post(url, {"title": fund_title, "prevention": offered})
    assert sent.status_code == 302
    case.refresh_from_db()
    assert (case.report_title, case.report_prevention) == ("", "")
    assert close(case, official, "no_error").title == document.CHECKED_TITLES[Programme.PUBLIC_FUND]
    # A title or measures the official typed are theirs.
    client.post(url, {"title": "公金受取口座の確認について", "prevention": "一つ目の対策"})
    case.refresh_from_db()
    assert (case.report_title, case.report_prevention) == (
        "公金受取口座の確認について",
        "一つ目の対策",
    )
    assert document.build(case).prevention == ["一つ目の対策"]
