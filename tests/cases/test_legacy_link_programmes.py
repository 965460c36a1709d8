"""A legacy link keeps what its programme's registration hashed: a payment card number, a bank
account (bank, branch, type and number together), insurance details (insurer number, symbol,
number and branch together). Recorded from the case page, the command or the service, a
public-fund or insurance case's comparison then finds the registered account or insurance
details the same, and another one different; a number without its other parts is refused,
saying why, since hashed alone it could never equal the registration's."""

import io
import sys
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from madoguchi.benefits.models import HealthInsuranceRegistration, PaymentLink, PublicFundAccount
from madoguchi.cases import legacy, remedy, services
from madoguchi.cases.constants import ComparisonResult, Programme
from madoguchi.cases.models import LegacyLink
from madoguchi.refusals import Refusal
from tests.cases.conftest import A_CARD, B_CARD, open_case

D = {"event_date": date(2023, 7, 5), "date_precision": "day"}
ACCOUNT = ("bank_code", "branch_code", "account_type", "account_number")
INSURED = ("insurer_number", "insured_symbol", "insured_number", "branch")
# What was registered (B's) and what A presents, by programme: the comparison's fields.
REGISTERED = {
    Programme.POINTS: {"presented": B_CARD},
    Programme.PUBLIC_FUND: dict(zip(ACCOUNT, ("0001", "123", "ordinary", "7654321"), strict=True)),
    Programme.HEALTH_INSURANCE: dict(zip(INSURED, ("06270011", "12", "3456", "01"), strict=True)),
}
PRESENTED_BY_A = {
    Programme.POINTS: {"presented": A_CARD},
    Programme.PUBLIC_FUND: {**REGISTERED[Programme.PUBLIC_FUND], "account_number": "1234567"},
    Programme.HEALTH_INSURANCE: {**REGISTERED[Programme.HEALTH_INSURANCE], "insured_number": "9"},
}
COMPARE = {
    Programme.POINTS: services.case_compare_identifier,
    Programme.PUBLIC_FUND: services.case_compare_account,
    Programme.HEALTH_INSURANCE: services.case_compare_insured,
}


def _number_and_parts(programme):
    """The registered number and its other parts, as a legacy link is recorded with them."""
    fields = dict(REGISTERED[programme])
    number = fields.pop(
        {"points": "presented", "public_fund": "account_number"}.get(programme, "insured_number")
    )
    return number, fields


def _compare(case, official, fields):
    return COMPARE[Programme(case.programme)](case, actor=official, **fields, **D).comparison


def _attach(case, official, number, parts):
    return legacy.attach(
        case,
        actor=official,
        resident_label="A氏",
        provider_name="旧システム",
        account_number=number,
        parts=parts,
    )


def test_a_legacy_link_of_each_programme_is_compared_as_its_registration_hashed_it(official):
    for programme in Programme:
        case = open_case(official, programme=programme)
        number, parts = _number_and_parts(programme)
        link = _attach(case, official, number, parts)
        assert link.account_last4 == remedy.identifier_last4(number)  # the number's, not the parts'
        assert _compare(case, official, REGISTERED[programme]) == ComparisonResult.SAME, programme
        assert _compare(case, official, PRESENTED_BY_A[programme]) == ComparisonResult.DIFFERENT


@pytest.mark.parametrize(
    ("programme", "ja", "en"),
    [
        (Programme.PUBLIC_FUND, "金融機関コード", "bank code, branch code, account type"),
        (Programme.HEALTH_INSURANCE, "保険者番号", "insurer number, symbol"),
    ],
)
def test_a_number_without_its_programmes_other_parts_is_refused_saying_why(
    official, programme, ja, en
):
    case = open_case(official, programme=programme)
    number, _parts = _number_and_parts(programme)
    with pytest.raises(Refusal) as exc:
        _attach(case, official, number, {})
    assert exc.value.code == "account_number_required"
    assert ja in exc.value.message_ja
    assert en in exc.value.message_en
    assert not LegacyLink.objects.exists()
    case.refresh_from_db()
    assert case.legacy_link_id is None


def _public_fund_legacy_form(client, official):
    """A public-fund case, and its page's legacy-link form (Japanese) as an official sees it."""
    case = open_case(official, programme=Programme.PUBLIC_FUND)
    client.force_login(official)
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    return case, page[page.index('data-testid="legacy-link-form"') :]


def _post_legacy(client, case, provider, bank, branch, number):
    client.post(
        reverse("cases:legacy_link", args=[case.pk]),
        {
            "legacy-resident_label": "A氏",
            "legacy-provider_name": provider,
            "legacy-bank_code": bank,
            "legacy-branch_code": branch,
            "legacy-account_type": "ordinary",
            "legacy-account_number": number,
            "legacy-linked_on_precision": "unknown",
        },
    )
    case.refresh_from_db()


def test_the_case_pages_legacy_form_asks_for_the_bank_account_and_records_it(client, official):
    case, form = _public_fund_legacy_form(client, official)
    for name in ("legacy-bank_code", "legacy-branch_code", "legacy-account_type"):
        assert f'name="{name}"' in form
    assert "金融機関コード" in form
    _post_legacy(client, case, "さくら銀行", "0001", "123", "7654321")
    assert case.legacy_link is not None
    assert _compare(case, official, REGISTERED[Programme.PUBLIC_FUND]) == ComparisonResult.SAME


def test_the_command_records_an_insurance_cases_legacy_link_with_its_details(official, monkeypatch):
    case = open_case(official, programme=Programme.HEALTH_INSURANCE)
    base = ["case", "legacy-link", case.reference, "--actor", official.username]
    base += ["--resident", "A氏", "--provider", "健康保険組合"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("3456\n"))
    with pytest.raises(CommandError, match="insurer number, symbol"):
        call_command(*base, stdout=io.StringIO())
    monkeypatch.setattr(sys, "stdin", io.StringIO("3456\n"))
    details = ["--insurer-number", "06270011", "--insured-symbol", "12", "--branch", "01"]
    call_command(*base, *details, stdout=io.StringIO())
    case.refresh_from_db()
    assert _compare(case, official, REGISTERED[Programme.HEALTH_INSURANCE]) == ComparisonResult.SAME


def test_each_registration_is_compared_by_what_it_registered():
    """A point link by its payment service's number, a public-fund registration by its bank
    account, an insurance registration by the insured person's details (it has no account)."""
    assert remedy.registered_hash(PaymentLink(account_hash="p")) == "p"
    assert remedy.registered_hash(PublicFundAccount(account_hash="f")) == "f"
    assert remedy.registered_hash(HealthInsuranceRegistration(insured_hash="i")) == "i"
    assert not hasattr(HealthInsuranceRegistration(), "account_hash")
    assert remedy.registered_hash(None) == ""


def test_a_case_with_a_link_is_refused_that_first_by_the_command_and_the_page(
    official, client, monkeypatch
):
    """`madoguchi case legacy-link` on a public-fund case that already had a link answered
    about the bank code first (the programme's parts), and the case page's POST of the same
    form about its empty fields: both now say first that the case already has a link, the
    more fundamental refusal, whatever was typed; a closed case likewise."""
    case = open_case(official, programme=Programme.PUBLIC_FUND)
    number, parts = _number_and_parts(Programme.PUBLIC_FUND)
    _attach(case, official, number, parts)
    # The number alone, without its bank, branch and type, and a session record unreadable.
    monkeypatch.setattr("sys.stdin", io.StringIO("7654321\n"))
    with pytest.raises(CommandError, match=r"^The case already has a link\.$"):
        call_command(
            "case", "legacy-link", case.reference, "--actor", official.username,
            "--resident", "A氏", "--provider", "x", stdout=io.StringIO(),
        )  # fmt: skip
    with pytest.raises(services.CaseRefused) as refused:
        legacy.attach_from_form(
            case,
            actor=official,
            data={"resident_label": "A氏", "provider_name": "x", "account_number": "1",
                  "session_log": "not a record"},
        )  # fmt: skip
    assert refused.value.code == "link_already_set"
    client.force_login(official)
    url = reverse("cases:legacy_link", args=[case.pk])
    said = client.post(url, {"legacy-account_number": "7654321"}, follow=True)
    assert [str(m) for m in said.context["messages"]] == [
        "このケースにはすでに紐付けが設定されています。"
    ]
    english = client.post(url + "?lang=en", {}, follow=True)
    assert [str(m) for m in english.context["messages"]] == ["The case already has a link."]
    assert LegacyLink.objects.count() == 1
    # A closed case without a link: that it is closed, before its missing bank details.
    closed = open_case(official, programme=Programme.PUBLIC_FUND)
    services.case_close(closed, actor=official, summary="誤紐付けではなかった", **D)
    monkeypatch.setattr("sys.stdin", io.StringIO("7654321\n"))
    with pytest.raises(CommandError, match="This case is closed"):
        call_command(
            "case", "legacy-link", closed.reference, "--actor", official.username,
            "--resident", "A氏", "--provider", "x", stdout=io.StringIO(),
        )  # fmt: skip
    said = client.post(reverse("cases:legacy_link", args=[closed.pk]) + "?lang=ja", {}, follow=True)
    assert [str(m)[:14] for m in said.context["messages"]] == ["このケースは終了しているため"]


def test_a_japan_post_bank_passbook_is_recorded_and_compared_as_its_transfer_details(
    client, official
):
    """The case page's forms say a ゆうちょ銀行 passbook's 記号 and 番号 may be typed as they
    read, and a legacy link recorded so compares "the same" with the account typed as the
    transfer's branch and number (as the desk registers it)."""
    case, form = _public_fund_legacy_form(client, official)
    assert "ゆうちょ銀行（9900）は、通帳の記号（5桁）をそのまま入力できます。" in form
    _post_legacy(client, case, "ゆうちょ銀行", "9900", "10230", "87654321")
    assert case.legacy_link is not None
    transfer = {"bank_code": "9900", "branch_code": "028", "account_type": "ordinary"}
    assert _compare(case, official, {**transfer, "account_number": "8765432"}) == (
        ComparisonResult.SAME
    )
    assert _compare(case, official, {**transfer, "account_number": "8765433"}) == (
        ComparisonResult.DIFFERENT
    )


@pytest.mark.parametrize(
    ("programme", "provider", "named"),
    [
        (Programme.POINTS, "旧システム", "決済サービス「旧システム」（＊＊＊＊7777）との紐付け"),
        (Programme.PUBLIC_FUND, "旧システム", "公金受取口座の登録（旧システム ＊＊＊＊4321）"),
        (
            Programme.HEALTH_INSURANCE,
            "旧システム",
            "健康保険証としての利用登録（旧システム 被保険者番号 ＊＊＊＊5678）",
        ),
        # A number of four digits keeps no last 4: only the insurer is named.
        (Programme.HEALTH_INSURANCE, "旧システム", "健康保険証としての利用登録（旧システム）"),
        # A case the scan opened recorded the programme's name as the provider: not repeated.
        (Programme.POINTS, "マイナポイント第2弾", "マイナポイントの紐付け（＊＊＊＊7777）"),
        (Programme.PUBLIC_FUND, "公金受取口座", "公金受取口座の登録（＊＊＊＊4321）"),
    ],
)
def test_a_legacy_links_letters_name_the_link(official, programme, provider, named):
    """A case about a legacy link wrote its letters to the resident of 「マイナポイントの紐付け」 or
    「公金受取口座の登録」 alone, where a signed link's or registration's letter names its
    service, bank or insurer and its masked number: a resident with more than one could not
    tell which was stopped. It names the legacy link as its case page does."""
    from django.utils import timezone

    from madoguchi.identity.models import Holder
    from madoguchi.residents.models import Notice

    case = open_case(official, programme=programme, holder=Holder.objects.create())
    number, parts = _number_and_parts(programme)
    if "5678" in named:
        number = "12345678"
    legacy.attach(
        case,
        actor=official,
        resident_label="A氏",
        provider_name=provider,
        account_number=number,
        parts=parts,
    )
    case.refresh_from_db()
    today = timezone.localdate()
    services.case_investigate(case, actor=official, summary="調査", event_date=today)
    services.case_suspend(case, actor=official, summary="停止", event_date=today)
    letter = Notice.objects.get(case=case, entry__kind="suspension").body[0]
    assert named in letter, letter
