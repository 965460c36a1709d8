"""The seed's own case (Sakai, 2022-2023) walked through the workflow, and its report."""

from datetime import date

import pytest

from madoguchi.cases import document, findings, services
from madoguchi.cases.constants import CaseStatus
from madoguchi.cases.models import CityContact
from tests.cases.conftest import A_CARD, B_CARD, legacy, open_case
from tests.cases.pdftext import check_pdf


def day(y, m, d):
    return {"event_date": date(y, m, d), "date_precision": "day"}


def month(y, m):
    return {"event_date": date(y, m, 1), "date_precision": "month"}


@pytest.fixture
def seed_case(official):
    CityContact.objects.create(
        city_name="堺市",
        department="ICT イノベーション推進室 マイナンバーカード普及促進担当",
        phone="072-600-0178",
        fax="072-275-5766",
    )
    link = legacy(
        official,
        # The old terminal's records: A authenticated, the card came off, and B's payment
        # service was committed in A's session without a logout.
        session_log=[
            {"at": "2022-08-10T10:00:00+09:00", "event": "login"},
            {"at": "2022-08-10T10:01:00+09:00", "event": "card_read", "resident": "A氏"},
            {"at": "2022-08-10T10:20:00+09:00", "event": "card_removed"},
            {"at": "2022-08-10T10:31:00+09:00", "event": "committed", "resident": "B氏"},
        ],
        source="旧端末の操作記録",
    )
    case = open_case(
        official,
        title="マイナポイントの誤付与",
        resident_label="A氏",
        other_resident_label="B氏",
        reported_by="A氏",
        channel="in_person",
        summary="A氏から「キャッシュレス決済サービスを持参したのでマイナポイントを申し込みたい」との申し出があり、"
        "申込操作の支援をしようとしたところ、既に申込がされていたので、その旨をお伝えしました。",
        desk_location="本庁（堺区役所）の支援窓口",
        legacy_link=link,
        **month(2022, 8),
    )
    return case


def test_the_seed_case_walks_through_and_writes_the_report(seed_case, official):
    case = seed_case
    s = services
    s.case_investigate(
        case,
        actor=official,
        summary="A氏が再度来庁され、「マイナポイントの申込について心当たりがない」との申し出がありました。",
        **month(2022, 8),
    )
    cmp = s.case_compare_identifier(case, actor=official, presented=A_CARD, **month(2022, 8))
    assert cmp.comparison == "different"
    s.case_suspend(
        case,
        actor=official,
        summary="コールセンターの回答に基づき、A氏にご説明のうえ、利用停止の処理を実施しました。",
        **month(2022, 8),
    )
    s.case_contact(
        case,
        actor=official,
        party="call_centre",
        party_label="コールセンター",
        channel="phone",
        summary="コールセンターとA氏がその場で電話のやりとりを行いました。",
        **month(2022, 8),
    )
    s.case_contact(
        case,
        actor=official,
        party="resident",
        party_label="A氏",
        channel="in_person",
        summary="公金受取口座の登録解除のため、再びA氏が支援窓口に来られました。",
        **month(2022, 9),
    )
    s.case_contact(
        case,
        actor=official,
        party="ministry",
        party_label="総務省",
        channel="phone",
        summary="総務省から、A氏が受け取るべきポイントがB氏に付与されている旨の連絡がありました。",
        **day(2023, 7, 5),
    )
    s.case_contact(
        case,
        actor=official,
        party="ministry",
        party_label="総務省",
        channel="email",
        summary="B氏の連絡先を総務省から受領しました。",
        **day(2023, 7, 24),
    )
    s.case_contact(
        case,
        actor=official,
        party="resident",
        party_label="B氏",
        channel="phone",
        summary="B氏に電話で連絡し、謝罪のうえ事案の内容について説明し、ポイント返還についてご了承いただきました。",
        **day(2023, 7, 25),
    )
    s.case_return_points(
        case,
        actor=official,
        summary="B氏の口座からA氏分のポイントを返還する処理を行いました。",
        **day(2023, 7, 25),
    )
    s.case_contact(
        case,
        actor=official,
        party="resident",
        party_label="A氏",
        channel="phone",
        summary="A氏に電話で連絡し、謝罪のうえ事案の内容について説明しました。",
        **day(2023, 8, 21),
    )
    s.case_reenable(
        case,
        actor=official,
        summary="A氏が再度ポイントを申し込める状態になりました。",
        date_precision="unknown",
    )
    s.case_notify(
        case,
        actor=official,
        summary="A氏にポイントの申込について御案内しました。",
        date_precision="unknown",
    )
    s.case_close(case, actor=official, summary="対応を完了しました。", date_precision="unknown")
    assert case.status == CaseStatus.CLOSED
    assert case.timeline.count() == 14

    codes = [f.code for f in findings.findings_for(case)]
    assert codes[0] == "session_not_closed"
    assert {"unsigned_legacy", "committed_after_card_removed", "identifier_differs"} <= set(codes)

    md = document.to_markdown(document.build(case))
    heads = [
        "## 支援窓口におけるマイナポイントの誤付与について",
        "### 1 内容",
        "### 2 原因",
        "### 3 経緯",
        "### 4 再発防止策",
        "問い合わせ先",
    ]
    positions = [md.index(h) for h in heads]
    assert positions == sorted(positions)
    sections = {h: md[md.index(h) :] for h in heads}
    content = sections["### 1 内容"].split("### 2")[0]
    assert "令和4年8月、本庁（堺区役所）の支援窓口において、A氏" in content
    assert "別人であるB氏" in content
    cause = sections["### 2 原因"].split("### 3")[0]
    assert "ログアウトしないまま、次の方の手続きを行ったことが原因である可能性が高い" in cause
    assert "可能性が高い" in cause
    assert "カードの署名なしに確定されています" in cause
    timeline = sections["### 3 経緯"].split("### 4")[0].strip().splitlines()
    timeline = [line for line in timeline if line.startswith("- ・")]
    assert len(timeline) == 14
    assert timeline[0].startswith("- ・令和4年8月（日付は不明）、A氏から")
    assert timeline[2].startswith("- ・令和4年8月（日付は不明）、ご本人が持参された")
    assert "異なる番号" in timeline[2]
    assert timeline[5].startswith("- ・令和4年9月（日付は不明）、")
    assert timeline[6].startswith("- ・令和5年7月5日（水）、総務省から")
    assert timeline[7].startswith("- ・令和5年7月24日（月）、")
    assert timeline[8].startswith("- ・令和5年7月25日（火）、B氏に電話")
    assert timeline[9].startswith("- ・令和5年7月25日（火）、B氏の口座から")
    assert timeline[10].startswith("- ・令和5年8月21日（月）、A氏に電話")
    assert timeline[11].startswith("- ・日付は不明、A氏が再度")
    prevention = sections["### 4 再発防止策"].split("問い合わせ先")[0]
    assert "ログアウト" in prevention
    assert "署名" in prevention
    assert "日次報告" in prevention
    assert "担当課：ICT イノベーション推進室 マイナンバーカード普及促進担当" in md
    assert "電話：072-600-0178" in md
    assert "ファックス：072-275-5766" in md
    # Never the card numbers.
    for number in (A_CARD, B_CARD, "1111", "2222"):
        assert number not in md

    text = check_pdf(document.to_pdf(document.build(case))).replace("\n", "")
    for expected in (
        "1 内容",
        "2 原因",
        "3 経緯",
        "4 再発防止策",
        "令和5年7月5日（水）",
        "令和4年8月（日付は不明）",
        "072-600-0178",
    ):
        assert expected in text, expected


def test_edited_prevention_replaces_the_defaults(seed_case, official):
    services.case_report_edit(
        seed_case,
        actor=official,
        title="独自の表題",
        prevention="・チェックリストを作成\n\n研修を実施",
    )
    doc = document.build(seed_case)
    assert doc.title == "独自の表題"
    assert doc.prevention == ["チェックリストを作成", "研修を実施"]


def test_contact_block_falls_back_to_settings(official, settings):
    settings.CASES_CITY_CONTACT = {"department": "市民課", "phone": "000-000-0000"}
    case = open_case(official)
    assert document.contact_block(case)["department"] == "市民課"
    CityContact.objects.create(department="新しい担当", phone="111")
    assert document.contact_block(case)["department"] == "新しい担当"


def test_a_closed_case_without_a_found_cause_does_not_say_the_investigation_continues(official):
    """A case closed without any finding still told the public 「調査を継続しています」."""
    case = open_case(official)
    assert document.build(case).cause == [
        "現時点で原因は断定できていません。調査を継続しています。"
    ]
    services.case_close(case, actor=official, summary="誤紐付けではなかった", **day(2022, 9, 1))
    assert document.build(case).cause == ["調査の結果、原因は特定できませんでした。"]


def test_a_case_closed_finding_no_error_says_so_in_the_report(official):
    """Closed with "no error was found" (the close step's choice), the report said the cause
    could not be identified, as if an error had been found without its cause; its timeline did
    not say what the closing found."""
    case = open_case(official)
    services.case_close(
        case, actor=official, summary="ご本人の口座だった", outcome="no_error", **day(2022, 9, 1)
    )
    doc = document.build(case)
    assert doc.cause == ["調査の結果、誤りは見つかりませんでした。"]
    assert "（確認の結果：誤りは見つからなかった）ご本人の口座だった" in doc.timeline[-1]
