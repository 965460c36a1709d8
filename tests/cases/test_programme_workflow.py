"""A case follows its programme: a public-fund or insurance case compares what the resident
presents for that programme (a bank account, the insurance details), has no points to return
and records the registration's correction instead; a point programme's case (and a case
opened without a programme) keeps the points path."""

from datetime import date

import pytest
from django.urls import reverse

from madoguchi.benefits import identifiers
from madoguchi.cases import findings, services, steps
from madoguchi.cases.constants import CaseStatus, ComparisonResult, EntryKind, Programme
from madoguchi.cases.models import LegacyLink
from madoguchi.refusals import Refusal
from tests.cases.conftest import A_CARD, open_case

S = CaseStatus
D = {"event_date": date(2023, 7, 5), "date_precision": "day"}
# The account that was registered (B's) and the one A presents.
B_ACCOUNT = ("0001", "123", "ordinary", "7654321")
A_ACCOUNT = ("0001", "123", "ordinary", "1234567")
B_INSURED = ("06270011", "12", "3456", "01")
A_INSURED = ("06270011", "12", "9999", "01")


def _case(official, programme, identifier):
    case = open_case(official, programme=programme)
    link = LegacyLink.objects.create(
        resident_label="A氏",
        provider_name="公金受取口座" if programme == Programme.PUBLIC_FUND else "健康保険証",
        account_hash=identifiers.identifier_hash(identifier),
        account_last4="4321",
    )
    return services.case_attach_legacy_link(case, actor=official, legacy_link=link)


@pytest.fixture
def fund_case(official):
    return _case(official, Programme.PUBLIC_FUND, identifiers.bank_account_identifier(*B_ACCOUNT))


@pytest.fixture
def insurance_case(official):
    return _case(official, Programme.HEALTH_INSURANCE, identifiers.insured_identifier(*B_INSURED))


ACCOUNT_FIELDS = ("bank_code", "branch_code", "account_type", "account_number")
INSURED_FIELDS = ("insurer_number", "insured_symbol", "insured_number", "branch")


def _account(case, official, account):
    fields = dict(zip(ACCOUNT_FIELDS, account, strict=True))
    return services.case_compare_account(case, actor=official, **fields, **D)


def _insured(case, official, insured):
    fields = dict(zip(INSURED_FIELDS, insured, strict=True))
    return services.case_compare_insured(case, actor=official, **fields, **D)


def refused(code, fn, *args, **kwargs):
    before = args[0].timeline.count()
    with pytest.raises(Refusal) as exc:
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value
    assert args[0].timeline.count() == before
    return exc.value


def _to_contacting(case, official):
    if case.status == S.INTAKE:
        services.case_investigate(case, actor=official)
    services.case_suspend(case, actor=official, summary="利用停止", **D)
    services.case_contact(
        case, actor=official, party="call_centre", channel="phone", summary="相談", **D
    )
    assert case.status == S.CONTACTING


def _card(case, official):
    return services.case_compare_identifier(case, actor=official, presented=A_CARD, **D)


def _return_points(case, official):
    return services.case_return_points(case, actor=official, summary="返還", **D)


def _finish(case, official):
    """After the repair step: re-enable, notify, close."""
    services.case_reenable(case, actor=official, summary="再登録可能", **D)
    services.case_notify(case, actor=official, summary="案内", **D)
    services.case_close(case, actor=official, summary="完了", **D)
    return [e.status for e in case.timeline.order_by("seq")]


CORRECTED_PATH = [
    S.INTAKE,
    S.INVESTIGATION,
    S.SUSPENDED,
    S.CONTACTING,
    S.CORRECTED,
    S.REENABLED,
    S.NOTIFIED,
    S.CLOSED,
]


def test_a_public_fund_case_compares_the_bank_account_and_is_corrected_not_repaid(
    fund_case, official
):
    case = fund_case
    assert "公金受取口座" in case.title
    assert "マイナポイント" not in case.title
    # The payment card comparison is not this case's: refused, saying why.
    exc = refused("comparison_not_for_programme", _card, case, official)
    assert "口座" in exc.message_ja
    assert "bank account" in exc.message_en
    entry = _account(case, official, A_ACCOUNT)
    assert entry.comparison == ComparisonResult.DIFFERENT
    assert "公金受取口座" in entry.summary
    assert "カード番号" not in entry.summary
    # The finding says what differed: the account, not a card number.
    codes = {f.code: f for f in findings.findings_for(case)}
    assert "identifier_differs" not in codes
    assert "公金受取口座" in codes["account_differs"].ja
    assert "bank account" in codes["account_differs"].en
    # The registered account itself (written full-width, with a hyphen) is the same one.
    same = _account(case, official, ("０００１", "123", "ordinary", "765-4321"))
    assert same.comparison == ComparisonResult.SAME
    _to_contacting(case, official)
    # No points to return: refused, saying why, in both languages.
    exc = refused("repair_not_for_programme", _return_points, case, official)
    assert "ポイントがありません" in exc.message_ja
    assert "no points to return" in exc.message_en
    # Re-enabling before the correction is refused by the table.
    refused(
        "transition_not_allowed", services.case_reenable, case, actor=official, summary="x", **D
    )
    entry = services.case_correct(case, actor=official, summary="公金受取口座の登録を解除", **D)
    assert (entry.kind, entry.status) == (EntryKind.CORRECTION, S.CORRECTED)
    statuses = _finish(case, official)
    # Intake, the two comparisons (they open the investigation), then the corrected path.
    assert statuses == [S.INTAKE, S.INVESTIGATION, *CORRECTED_PATH[1:]]


def test_an_insurance_case_compares_the_insured_details_and_is_corrected(insurance_case, official):
    case = insurance_case
    exc = refused("comparison_not_for_programme", _card, case, official)
    assert "保険者番号" in exc.message_ja
    assert "insurer number" in exc.message_en
    refused("comparison_not_for_programme", _account, case, official, A_ACCOUNT)
    entry = _insured(case, official, A_INSURED)
    assert entry.comparison == ComparisonResult.DIFFERENT
    assert "保険" in entry.summary
    assert "カード番号" not in entry.summary
    entry = _insured(case, official, (*B_INSURED[:3], "1"))  # branch 01 written as 1
    assert entry.comparison == ComparisonResult.SAME
    _to_contacting(case, official)
    exc = refused("repair_not_for_programme", _return_points, case, official)
    assert "健康保険証" in exc.message_ja
    assert "health-insurance" in exc.message_en
    services.case_correct(case, actor=official, summary="保険者が誤った登録を取消し", **D)
    statuses = _finish(case, official)
    assert statuses[-4:] == CORRECTED_PATH[-4:]


def test_a_points_case_and_a_case_without_a_programme_keep_the_points_path(official):
    case = open_case(official)  # no programme given: points, as before
    assert case.programme == Programme.POINTS
    case = services.case_attach_legacy_link(
        case,
        actor=official,
        legacy_link=LegacyLink.objects.create(
            resident_label="A氏",
            provider_name="決済サービス",
            account_hash=identifiers.identifier_hash(A_CARD),
            account_last4="3333",
        ),
    )
    exc = refused("comparison_not_for_programme", _account, case, official, A_ACCOUNT)
    assert "決済カード" in exc.message_ja
    assert (
        services.case_compare_identifier(case, actor=official, presented=A_CARD, **D).comparison
        == "same"
    )
    _to_contacting(case, official)
    refused(
        "repair_not_for_programme", services.case_correct, case, actor=official, summary="x", **D
    )
    services.case_return_points(case, actor=official, summary="返還", **D)
    assert case.status == S.POINTS_RETURNED


def test_offered_steps_follow_the_programme_and_match_what_the_service_accepts(official):
    for programme in Programme:
        for status in CaseStatus:
            offered = set(steps.allowed(status, programme))
            for name, kind in steps.KINDS.items():
                assert (name in offered) == services.step_allowed(kind, status, programme)
    assert "return_points" in steps.allowed(S.CONTACTING, Programme.POINTS)
    assert "correct" not in steps.allowed(S.CONTACTING, Programme.POINTS)
    for programme in (Programme.PUBLIC_FUND, Programme.HEALTH_INSURANCE):
        assert "correct" in steps.allowed(S.CONTACTING, programme)
        assert "return_points" not in steps.allowed(S.CONTACTING, programme)
        assert "reenable" in steps.allowed(S.CORRECTED, programme)


def _page(client, case, lang):
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    return client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()


def test_the_public_fund_case_page_asks_for_the_bank_account_in_both_languages(
    client, fund_case, official
):
    client.force_login(official)
    ja, en = _page(client, fund_case, "ja"), _page(client, fund_case, "en")
    for page in (ja, en):
        assert 'name="compare-bank_code"' in page
        assert 'name="compare-account_number"' in page
        assert 'name="compare-presented"' not in page
    assert "ご本人が持参された口座を照合する" in ja
    assert "決済カード" not in ja
    assert "Compare the bank account the resident presents" in en
    assert "payment card" not in en.lower()
    # The form posts to the account comparison.
    b, br, t, n = A_ACCOUNT
    client.post(
        reverse("cases:step", args=[fund_case.pk, "compare"]),
        {
            "compare-bank_code": b,
            "compare-branch_code": br,
            "compare-account_type": t,
            "compare-account_number": n,
            "compare-event_date": "2023-07-05",
            "compare-date_precision": "day",
        },
    )
    entry = fund_case.timeline.order_by("-seq").first()
    assert (entry.kind, entry.comparison) == (EntryKind.COMPARISON, ComparisonResult.DIFFERENT)
    _to_contacting(fund_case, official)
    ja, en = _page(client, fund_case, "ja"), _page(client, fund_case, "en")
    for page in (ja, en):
        assert 'data-step="correct"' in page
        assert 'data-step="return_points"' not in page
    assert "公金受取口座の訂正を記録する" in ja
    assert "Record the correction of the public-fund account" in en


def test_the_insurance_case_page_asks_for_the_insured_details(client, insurance_case, official):
    client.force_login(official)
    ja, en = _page(client, insurance_case, "ja"), _page(client, insurance_case, "en")
    for page in (ja, en):
        assert 'name="compare-insurer_number"' in page
        assert 'name="compare-presented"' not in page
    assert "保険の資格情報を照合する" in ja
    assert "Compare the insurance details the resident presents" in en


def test_an_insurance_case_without_a_registration_at_the_insurer_asks_nothing_and_says_so(
    client, insurance_case, official
):
    """A health-insurance case's suspension asks the insurer, through the outbox, to cancel the
    registration the case is about (tests/benefits/test_case_health_insurance.py). A case
    whose registration this system cannot identify (a legacy link, no resident) records the
    step, says that nothing was asked of the insurer and what to do instead, and queues no
    call. Before, the page said madoguchi could not suspend any insurance registration."""
    from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall

    case = insurance_case
    client.force_login(official)
    services.case_investigate(case, actor=official)
    ja, en = _page(client, case, "ja"), _page(client, case, "en")
    assert 'data-testid="insurance-suspension-note"' in ja
    assert "保険者に誤った登録の利用停止を依頼する" in ja
    assert "本システムから保険者へ、誤った健康保険証の利用登録" in ja
    assert "紐付けを利用停止にする" not in ja
    assert "Ask the insurer to suspend the wrong registration" in en
    assert "asks the insurer, through madoguchi, to cancel" in en
    # Public-fund and point cases keep their suspension, without the note.
    other = open_case(official)
    services.case_investigate(other, actor=official)
    points = _page(client, other, "ja")
    assert "紐付けを利用停止にする" in points
    assert 'data-testid="insurance-suspension-note"' not in points
    calls, registrations = OutsideCall.objects.count(), HealthInsuranceRegistration.objects.count()
    client.post(
        reverse("cases:step", args=[case.pk, "suspend"]),
        {
            "suspend-summary": "保険者に停止を依頼",
            "suspend-event_date": "2023-07-05",
            "suspend-date_precision": "day",
        },
    )
    entry = case.timeline.order_by("-seq").first()
    assert (entry.kind, entry.status) == (EntryKind.SUSPENSION, S.SUSPENDED)
    assert entry.summary.startswith("保険者に停止を依頼\n")
    assert "保険者へ利用停止を依頼していません" in entry.summary
    assert entry.detail == {"health_insurance_registration": None}
    assert OutsideCall.objects.count() == calls
    assert HealthInsuranceRegistration.objects.count() == registrations
    assert 'data-testid="insurer-suspension"' not in _page(client, case, "ja")


def test_the_insurance_reenable_step_says_it_only_records_and_what_the_official_does(
    client, insurance_case, official
):
    """The health-insurance case's re-enable step recorded itself and nothing else, and the page
    did not say so: an official could take it for the step that frees the resident. It says
    now that it only records (the insurer's suspension freed the resident), what to tell the
    resident, and, when the insurer was asked nothing (a legacy link), to confirm the
    cancellation with the insurer first; in both languages."""
    case = insurance_case
    _to_contacting(case, official)
    services.case_correct(case, actor=official, summary="保険者が訂正", **D)
    assert "reenable" in steps.allowed(case.status, case.programme)
    client.force_login(official)
    ja, en = _page(client, case, "ja"), _page(client, case, "en")
    assert "この操作は、本人があらためて登録できることを記録するだけです。" in ja
    assert "「連絡を記録する」で記録してください。" in ja
    assert "誤った登録が取り消されたことを保険者に電話または文書で確かめ" in ja
    assert "This step only records that the resident may register again" in en
    assert "confirm with the insurer by phone or in writing" in en
    # Once recorded, the step (and its note) is no longer offered.
    services.case_reenable(case, actor=official, summary="再登録可能", **D)
    assert "reenable-insurance-note" not in _page(client, case, "ja")
