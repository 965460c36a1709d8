"""A case about a link made with signed completion: the desk's intake, the evidence from the
visit's audit trail, and suspension, point return and re-enabling through benefits."""

import re
from datetime import date

import pytest
from django.urls import reverse

from madoguchi.benefits.constants import LinkStatus
from madoguchi.benefits.models import PaymentLink
from madoguchi.cases import findings, services
from madoguchi.cases.constants import CaseStatus
from madoguchi.cases.models import Case
from madoguchi.refusals import Refusal
from tests.benefits.conftest import apply_fields, commit, prepare, start_visit
from tests.cases.conftest import open_case, report_url
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401

D = {"event_date": date(2024, 4, 1), "date_precision": "day"}
pytestmark = pytest.mark.usefixtures("providers", "systems")


@pytest.fixture
def link(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True))
    commit(desk, c)
    return PaymentLink.objects.get()


@pytest.fixture
def desk(db):
    from madoguchi.terminals import services as terminal_services
    from tests import factories

    return terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )


def test_signed_link_case_through_benefits(client, link, desk, official):
    case = open_case(desk.staff, payment_link=link, reported_by="本人（電話）", channel="phone")
    assert case.holder == link.holder
    ev = findings.gather(case)
    assert ev.signed
    assert ev.signer_is_holder is True
    assert ev.audit_seqs
    assert [f.code for f in findings.derive(ev)] == ["name_close_confirmed"]
    services.case_investigate(case, actor=official)
    assert case.latest_entry().detail["findings"] == ["name_close_confirmed"]
    client.force_login(official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    # The link's status in Japanese brackets on the Japanese page (it read 「＊＊＊＊0001 (有効)」).
    assert f'<span class="nowrap">{link.masked_account}</span>（有効）' in page
    # The audit trail of the visit that made the link, and the finding.
    assert "受付を開始しました" in page
    assert "カードの署名で確定しました" in page
    assert 'data-code="name_close_confirmed"' in page
    # Dated in the era, as the timeline and the letters are (it said 2026-12-01 16:25:07).
    assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", page)
    # Each row's number, time and terminal on one line: the demo's case page broke the number
    # a digit a line (1 / 3) and the terminal as desk- / 01 beside the long event column.
    assert re.search(
        r'<tr><td class="nowrap">\d+</td><td class="nowrap">令和\d+年\d+月\d+日 \d\d:\d\d:\d\d</td>'
        r'<td class="sentence">[^<]+</td><td class="nowrap">[^<]+</td></tr>',
        page,
    )
    # Its table has a header row, as every data table does.
    assert re.search(
        r'data-testid="link-trail"><tr><th>#</th><th>時刻</th><th>出来事</th><th>端末</th></tr>',
        page,
    )
    same = services.case_compare_identifier(
        case, actor=official, presented="7010 0000 0000 0001", **D
    )
    assert same.comparison == "same"
    services.case_suspend(case, actor=official, summary="利用停止", **D)
    link.refresh_from_db()
    assert link.status == LinkStatus.SUSPENDED
    services.case_contact(
        case, actor=official, party="provider", channel="email", summary="事業者に連絡", **D
    )
    services.case_return_points(case, actor=official, summary="返還", **D)
    services.case_reenable(case, actor=official, summary="再申込可能", **D)
    link.refresh_from_db()
    assert link.status == LinkStatus.REPLACED
    assert case.reference in link.status_reason
    assert case.status == CaseStatus.REENABLED


def test_benefits_refusal_rolls_the_step_back(link, desk, official):
    case = open_case(official, payment_link=link)
    services.case_investigate(case, actor=official)
    services.case_suspend(case, actor=official, summary="利用停止", **D)
    services.case_contact(
        case, actor=official, party="resident", channel="phone", summary="連絡", **D
    )
    services.case_return_points(case, actor=official, summary="返還", **D)
    # Someone released the link outside the case: re-enabling is refused by benefits, and the
    # case's timeline does not claim it happened.
    PaymentLink.objects.filter(pk=link.pk).update(status=LinkStatus.EFFECTIVE)
    with pytest.raises(Refusal) as exc:
        services.case_reenable(case, actor=official, summary="再申込可能", **D)
    assert exc.value.code == "link_not_suspended"
    assert case.status == CaseStatus.POINTS_RETURNED


def test_case_pages(client, link, desk, official):
    client.force_login(desk.staff)
    response = client.post(
        reverse("cases:new"),
        {
            "resident_label": "A氏",
            "reported_by": "A氏",
            "channel": "in_person",
            "summary": "心当たりがない",
            "date_precision": "unknown",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert (
        client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work").status_code == 403
    )
    assert client.post(reverse("cases:step", args=[case.pk, "investigate"]), {}).status_code == 403
    client.force_login(official)
    page = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work")
    assert page.status_code == 200
    assert "心当たりがない" in page.content.decode()
    client.post(
        reverse("cases:step", args=[case.pk, "investigate"]),
        {"investigate-summary": "調査開始", "investigate-date_precision": "unknown"},
    )
    assert case.status == CaseStatus.INVESTIGATION
    # A refused step shows why and appends nothing.
    response = client.post(
        reverse("cases:step", args=[case.pk, "close"]),
        {"close-summary": "x", "close-date_precision": "day", "close-outcome": "no_error"},
        follow=True,
    )
    assert "日付を入力" in response.content.decode()
    assert case.status == CaseStatus.INVESTIGATION
    md = client.get(report_url(case, "report_md"))
    assert md.status_code == 200
    assert "### 3 経緯" in md.content.decode()
    pdf = client.get(report_url(case, "report_pdf"))
    assert pdf.content.startswith(b"%PDF-")
    client.post(report_url(case), {"title": "表題", "prevention": "対策A"})
    assert "対策A" in client.get(report_url(case, "report_md")).content.decode()


def test_points_follow_the_case_return_and_regrant(trusted, desk, official):
    """C's application was linked to a family member's account (close match, confirmed):
    the granted points are returned from it and granted again to C's own new link."""
    from madoguchi.benefits import ledger
    from madoguchi.benefits import services as benefits
    from madoguchi.benefits.constants import GrantStatus
    from madoguchi.benefits.models import Grant

    c = trusted.card("C")
    start_visit(desk, c)
    prepare(
        desk,
        **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True),
    )
    commit(desk, c)
    wrong = PaymentLink.objects.get()
    grant = benefits.card_acquisition_grant(wrong, charged_yen=20000, source_ref="t", actor=None)
    assert grant.points > 0
    case = open_case(official, payment_link=wrong)
    services.case_investigate(case, actor=official)
    services.case_suspend(case, actor=official, summary="利用停止", **D)
    services.case_contact(
        case, actor=official, party="provider", channel="email", summary="連絡", **D
    )
    services.case_return_points(case, actor=official, summary="返還", **D)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.RETURNED
    with pytest.raises(Refusal) as exc:
        services.case_regrant(case, actor=official, to_link=wrong, **D)
    assert exc.value.code == "regrant_target_invalid"
    services.case_reenable(case, actor=official, summary="再申込可能", **D)
    # C links their own account at a desk, signed by their card.
    start_visit(desk, c)
    prepare(
        desk,
        **apply_fields(
            psid="7010000000000006", code="2468", kana="ヤマダ ジロウ", confirm_close_match=True
        ),
    )
    commit(desk, c)
    right = PaymentLink.objects.get(status=LinkStatus.EFFECTIVE)
    assert right.holder == wrong.holder
    entry = services.case_regrant(case, actor=official, to_link=right, **D)
    assert entry.status == CaseStatus.REENABLED
    regrant = Grant.objects.get(regrant_of=grant)
    assert regrant.link == right
    assert regrant.points == grant.points
    assert entry.detail["regranted"] == [regrant.pk]
    balances = ledger.holder_balances(right.holder, right.programme)
    assert sum(balances.values()) >= grant.points


def test_the_incident_report_dates_a_signed_link_on_the_citys_day(link, desk):
    """A link made at 08:30 in the city (23:30 the day before in UTC) was dated the day before
    in the incident report: the stored time's UTC day."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from madoguchi.cases import document

    made = datetime(2026, 6, 1, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    PaymentLink.objects.filter(pk=link.pk).update(created_at=made)
    link.refresh_from_db()
    case = open_case(desk.staff, payment_link=link)
    assert document.build(case).content[0].startswith("令和8年6月1日（月）、")


def test_the_report_of_a_signed_link_in_a_close_name_says_no_other_name(link, desk):
    """The city's report said 「申請者とは異なる名義のキャッシュレス決済サービス」 of every point case
    with nobody else named, though the desk checked this link's holder name and found it close
    to the resident's (a signed link in another person's name is refused at the desk): it says
    the account was the wrong one, and names another person's name only when one is known."""
    from madoguchi.cases import document

    assert link.name_outcome == "close"
    doc = document.build(open_case(desk.staff, payment_link=link))
    text = "".join(doc.introduction + doc.content)
    assert "異なる名義" not in text
    assert "誤ったキャッシュレス決済サービスを紐付けし" in doc.introduction[0]
    assert "マイナポイントが、誤ったキャッシュレス決済口座に付与されたものです。" in doc.content[0]
    named = open_case(desk.staff, payment_link=link, other_resident_label="B氏")
    assert (
        "別人であるB氏のキャッシュレス決済口座に付与されたものです。"
        in (document.build(named).content[0])
    )
