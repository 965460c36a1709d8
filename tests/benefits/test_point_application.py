"""The point application end to end: provider verify, name check, signed completion, link."""

import json

import pytest
from django.db import IntegrityError

from madoguchi.audit import selectors as audit_selectors
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.constants import LinkStatus
from madoguchi.benefits.events import BENEFITS_LINK_CREATED
from madoguchi.benefits.models import Grant, PaymentLink, Provider
from madoguchi.desk.models import Procedure
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import apply_fields, commit, prepare, refused, start_visit
from tests.visits import verify_basic_four

pytestmark = pytest.mark.usefixtures("providers", "systems")


def test_match_links_with_a_signed_completion(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    p = prepare(desk, **apply_fields())
    assert p.fields["name_outcome"] == "match"
    completion = commit(desk, c)
    link = PaymentLink.objects.get()
    assert link.holder == visit.holder
    assert link.completion == completion
    assert link.status == LinkStatus.EFFECTIVE
    assert link.account_last4 == "0001"
    assert link.account_ref == "simpay-acct-0001"
    assert link.name_outcome == "match"
    assert link.name_reason
    assert link.programme_version.number == 1
    signed = bytes(completion.transaction_bytes).decode()
    assert link.account_hash in signed
    assert '"name_outcome":"match"' in signed
    # What the resident reads (confirmation page, PIN pad, receipt) is sentences, not codes.
    display = json.loads(signed)["display"]
    assert "名義照合: 一致" in display
    assert not any("match" in line or link.name_reason in line for line in display)
    # Never the payment service ID or the security code: not signed, not stored.
    stored = str(Procedure.objects.get(pk=p.pk).fields)
    for secret in ("7010000000000001", '"123"'):
        assert secret not in signed
    assert "7010000000000001" not in stored
    assert "security_code" not in stored
    # Application alone grants nothing fixed (card acquisition comes from the provider).
    assert not Grant.objects.exists()


def test_the_audit_line_names_the_payment_service_not_its_code(trusted, desk):
    """Officials read the provider's display name in the audit line (the stored payload keeps
    the code: the log is append-only and hashed)."""
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    Provider.objects.filter(code="sim-pay").update(display_name_en="SimPay")
    event = AuditEvent.objects.get(event_name=BENEFITS_LINK_CREATED.name)
    assert event.payload["provider"] == "sim-pay"
    ja = audit_selectors.display(event, "ja")
    assert ja == "決済サービスを紐付けました（シミュレーションペイ ＊＊＊＊0001）"
    assert audit_selectors.display(event, "en") == "Payment service linked (SimPay ＊＊＊＊0001)"
    Provider.objects.filter(code="sim-pay").update(display_name_en="")  # falls back to Japanese
    assert "シミュレーションペイ" in audit_selectors.display(event, "en")


def test_no_match_blocks_and_records_an_incident(trusted, desk):
    b = trusted.card("B")
    visit = start_visit(desk, b)
    err = refused("name_no_match", prepare, desk, **apply_fields(kana="スズキ イチロウ"))
    assert "一致しません" in err.message_ja
    assert "ﾔﾏﾀﾞ" not in err.message_ja  # no match shows no name
    # Said once in each language, then what it adds (not "do not match" twice).
    assert err.message_ja.count("一致しません") == 1, err.message_ja
    assert "別の方の口座の可能性があります。" in err.message_ja
    assert err.message_en.count("not match") == 1, err.message_en
    assert "The account may belong to someone else. Only an account in" in err.message_en
    # What the desk does next: ask for an account in the resident's own name.
    assert err.message_ja.endswith(
        "ご本人名義の口座をお持ちか、お尋ねください（未成年の方は、例外として法定代理人の口座を使えます）。"
    )
    incident = Incident.objects.get(kind="name_check")
    assert incident.visit == visit
    assert incident.reason_code
    assert not PaymentLink.objects.exists()


def test_close_match_needs_the_residents_confirmation(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    err = refused("name_close_unconfirmed", prepare, desk, **apply_fields(kana="ヤマダ ジロウ"))
    assert "ﾔﾏﾀﾞ ﾀﾛｳ" in err.message_ja  # the account's name is shown
    p = prepare(desk, **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True))
    completion = commit(desk, c)
    link = PaymentLink.objects.get()
    assert link.name_outcome == "close"
    assert link.close_confirmed
    assert '"close_confirmed":true' in bytes(completion.transaction_bytes).decode()
    assert p.fields["account_holder_kana"] == "ﾔﾏﾀﾞ ﾀﾛｳ"


def test_unavailable_name_is_treated_as_close(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    err = refused(
        "name_close_unconfirmed",
        prepare,
        desk,
        **apply_fields(psid="7010000000000006", code="2468"),
    )
    # No name is said not to match: it read 「口座名義「（口座名義を取得できません）」がご本人の
    # お名前と完全には一致しません」.
    assert err.message_ja.startswith(
        "決済事業者・金融機関から口座名義を取得できなかったため、ご本人のお名前と照合できません"
        "でした（照合不可（要確認））。"
    )
    assert "一致しません" not in err.message_ja
    assert err.message_en.startswith("The account holder's name could not be obtained")
    assert "does not fully match" not in err.message_en
    p = prepare(
        desk, **apply_fields(psid="7010000000000006", code="2468", confirm_close_match=True)
    )
    assert p.fields["name_outcome"] == "unavailable"
    assert p.fields["close_confirmed"] is True


def test_resident_kana_must_be_confirmed_on_screen(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refused(
        "resident_kana_unconfirmed", prepare, desk, **apply_fields(resident_kana_confirmed=False)
    )
    refused("resident_kana_required", prepare, desk, **apply_fields(kana=""))


def test_a_long_number_in_the_residents_kana_is_refused_not_signed_and_stored(trusted, desk):
    """The kana typed at the desk is signed, stored with the link and printed on the receipt:
    an individual number typed into it (12 digits, also full-width or grouped) is refused
    before anything is stored. The name check alone let it through: digits are a script it
    cannot compare, a close match the desk confirms with one tick."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    for kana in ("123456789012", "ヤマダ　１２３４ ５６７８ ９０１２", "ﾔﾏﾀﾞ 1234-5678-9012"):
        err = refused(
            "resident_kana_number",
            prepare,
            desk,
            **apply_fields(kana=kana, confirm_close_match=True),
        )
        assert "番号" in err.message_ja
        assert err.message_en.startswith("The kana name contains a long number")
    assert not Procedure.objects.filter(visit=visit).exists()
    assert not PaymentLink.objects.exists()
    # A name with a short number in it is the name check's to judge, as before.
    p = prepare(desk, **apply_fields(kana="ヤマダ タロウ2", confirm_close_match=True))
    assert p.fields["resident_kana"] == "ヤマダ タロウ2"


@pytest.mark.usefixtures("support_keys")
def test_a_long_number_as_the_residents_name_is_refused_not_signed_and_stored(trusted, desk):
    """A name a client sends is signed and printed on the receipt as the resident's name only
    when it is the verified card's (tests/benefits/test_verified_name.py); twelve digits there
    are refused as in the kana, with their own reason, nothing stored."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    verify_basic_four(desk, c)
    err = refused(
        "resident_name_number", prepare, desk, **apply_fields(resident_name="1234-5678-9012")
    )
    assert "番号" in err.message_ja
    assert not Procedure.objects.filter(visit=visit).exists()
    p = prepare(desk, **apply_fields(resident_name="山田　太郎"))
    assert p.fields["resident_name"] == "山田　太郎"


def test_certified_reading_is_used_when_configured(trusted, desk, settings):
    from tests import cardkit

    settings.BENEFITS_CERTIFIED_READING = "madoguchi.benefits.readings:SimulatedCertifiedReadings"
    settings.BENEFITS_SIM_CERTIFIED_READINGS = {
        cardkit.fingerprint(trusted.card("C")): "ヤマダ タロウ"
    }
    start_visit(desk, trusted.card("C"))
    p = prepare(desk, **apply_fields(kana="", resident_kana_confirmed=False))
    assert p.fields["kana_source"] == "certified"
    assert p.fields["name_outcome"] == "match"


def test_one_payment_service_per_resident_per_programme(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    start_visit(desk, c)
    refused(
        "holder_already_linked", prepare, desk, **apply_fields(psid="7010000000000004", code="2580")
    )


def test_an_account_linked_to_one_resident_is_refused_for_another(trusted, desk):
    c, b = trusted.card("C"), trusted.card("B")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    start_visit(desk, b)
    refused("account_already_linked", prepare, desk, **apply_fields())
    assert Incident.objects.filter(reason_code="account_already_linked").exists()


def test_database_refuses_a_second_effective_link_of_one_account(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    link = PaymentLink.objects.get()
    other = start_visit(desk, trusted.card("B"))
    with pytest.raises(IntegrityError):
        PaymentLink.objects.create(
            holder=other.holder,
            visit=other,
            procedure=Procedure.objects.create(visit=other, kind="x"),
            completion=link.completion,
            programme=link.programme,
            programme_version=link.programme_version,
            provider=link.provider,
            account_hash=link.account_hash,
            account_last4="0001",
            account_ref="r",
            resident_kana="x",
            kana_source="resident_entry",
            name_outcome="match",
            name_reason="EXACT",
            name_score=100,
        )


def test_municipal_add_on_is_a_separate_application_with_its_own_grant(trusted, desk):
    from datetime import timedelta

    from django.utils import timezone

    from madoguchi.benefits.models import Programme
    from madoguchi.benefits.services import programme_version_create

    # The desk's city (tests.factories.city), as the add-on names it.
    city = Programme.objects.create(code="sakai-bonus", scope="municipal", municipality="テスト市")
    programme_version_create(
        city,
        name_ja="デモ市ポイント上乗せ",
        opens_at=timezone.now() - timedelta(days=1),
        closes_at=timezone.now() + timedelta(days=1),
        categories=[
            {
                "code": "city_bonus",
                "label_ja": "上乗せ",
                "kind": "fixed",
                "points": 2000,
                "trigger": "application",
            }
        ],
    )
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    prepare(desk, **apply_fields(programme="sakai-bonus"))  # the same account, the same resident
    commit(desk, c)
    assert PaymentLink.objects.filter(holder=visit.holder).count() == 2
    grant = Grant.objects.get()
    assert (grant.programme, grant.category, grant.points) == (city, "city_bonus", 2000)


@pytest.mark.parametrize("named_by", ["name", "municipality code"])
def test_another_citys_add_on_is_refused_at_this_citys_desk(trusted, desk, named_by):
    """A municipality's add-on is applied for at its own desks: a desk of テスト市 took 北市's,
    and 北市's points were granted at it. Refused beside the programme, nothing prepared; the
    same add-on named by this city's name or code is taken."""
    from datetime import timedelta

    from django.utils import timezone

    from madoguchi.accounts.constants import OrganisationKind
    from madoguchi.accounts.models import Organisation
    from madoguchi.benefits.models import Programme
    from madoguchi.benefits.services import programme_version_create
    from tests import factories

    Organisation.objects.create(name="北市", kind=OrganisationKind.CITY, municipality_code="271004")
    names = {"name": ("北市", "テスト市"), "municipality code": ("271004", "131016")}[named_by]
    for code, municipality in zip(("kita-bonus", "own-bonus"), names, strict=True):
        programme = Programme.objects.create(
            code=code, scope="municipal", municipality=municipality
        )
        programme_version_create(
            programme,
            name_ja=f"{municipality}ポイント上乗せ",
            opens_at=timezone.now() - timedelta(days=1),
            closes_at=timezone.now() + timedelta(days=1),
            categories=[
                {
                    "code": "city_bonus",
                    "label_ja": "上乗せ",
                    "kind": "fixed",
                    "points": 2000,
                    "trigger": "application",
                }
            ],
        )
    assert factories.city().municipality_code == "131016"
    c = trusted.card("C")
    visit = start_visit(desk, c)
    refusal = refused(
        "programme_of_another_city", prepare, desk, **apply_fields(programme="kita-bonus")
    )
    assert refusal.field == "programme"
    assert "テスト市" in refusal.message_ja
    assert names[0] in refusal.message_ja
    assert not Procedure.objects.filter(visit=visit).exists()
    prepare(desk, **apply_fields(programme="own-bonus"))
    commit(desk, c)
    assert [g.programme.code for g in Grant.objects.all()] == ["own-bonus"]


def test_closed_programme_refuses_applications(trusted, desk):
    from datetime import timedelta

    from django.utils import timezone

    from madoguchi.benefits.models import Programme
    from madoguchi.benefits.services import programme_version_create

    national = Programme.objects.get(code="mynapoint-2")
    v1 = national.current_version()
    programme_version_create(
        national,
        name_ja=v1.name_ja,
        opens_at=v1.opens_at,
        closes_at=timezone.now() - timedelta(seconds=1),
        categories=v1.categories,
    )
    start_visit(desk, trusted.card("C"))
    refused("programme_closed", prepare, desk, **apply_fields())


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "shown"), [("ja", "シミュレーションペイ"), ("en", "SimPay")])
def test_the_payment_service_choices_read_in_the_pages_language(language, shown):
    """The English desk form offered the payment services by their Japanese names only."""
    from django.utils import translation

    from madoguchi.benefits.procedures.point_application import PointApplicationForm

    Provider.objects.update_or_create(
        code="sim-pay",
        defaults={"display_name_ja": "シミュレーションペイ", "display_name_en": "SimPay"},
    )
    with translation.override(language):
        choices = dict(PointApplicationForm().fields["provider"].choices)
    assert choices["sim-pay"] == shown


@pytest.mark.usefixtures("support_keys")
@pytest.mark.parametrize("card_read", [False, True])
def test_the_signed_lines_say_whose_reading_the_account_was_compared_with(trusted, desk, card_read):
    """Resident B's card, and the reading of A typed and ticked as B's: A's account matched
    that reading, and the lines B reads on the PIN pad and signs said only 「口座名義: ﾔﾏﾀﾞ ﾀﾛｳ」
    and 「名義照合: 一致」, nothing that was not B's. They now say the reading the account was
    compared with, as B's, beside the name the card gave when it was read, so B reads a name
    that is not theirs before signing."""
    from madoguchi.desk.services import build_transaction

    b = trusted.card("B")  # 鈴木　一郎
    visit = start_visit(desk, b)
    if card_read:
        verify_basic_four(desk, b)
    prepare(desk, **apply_fields(kana="ヤマダ タロウ"))  # A's account, A's reading
    visit.refresh_from_db()
    display = build_transaction(visit)["display"]
    whose = (
        "ご本人のお名前: 鈴木　一郎（フリガナ: ヤマダ タロウ）"
        if card_read
        else "ご本人のお名前（フリガナ）: ヤマダ タロウ"
    )
    at = display.index("口座名義: ﾔﾏﾀﾞ ﾀﾛｳ")
    assert display[at - 1] == whose
    assert display[at + 1] == "名義照合: 一致"


def test_a_public_fund_accounts_lines_say_whose_reading_too(trusted, desk):
    from madoguchi.desk.services import build_transaction
    from tests.benefits.test_registrations import public_fund

    visit = start_visit(desk, trusted.card("C"))
    prepare(desk, kind="public_fund_account", **public_fund())
    visit.refresh_from_db()
    display = build_transaction(visit)["display"]
    at = display.index("口座名義: ﾔﾏﾀﾞ ﾀﾛｳ")
    assert display[at - 1] == "ご本人のお名前（フリガナ）: ヤマダ タロウ"


def test_an_application_signed_after_the_programme_closed_is_not_linked(trusted, desk, monkeypatch):
    """The window was checked only at prepare: a resident signing at 23:59:59 of the last day,
    in a visit open up to half an hour, was linked after the programme closed (round 19)."""
    from datetime import timedelta

    from django.utils import timezone

    from madoguchi.benefits.models import Programme
    from madoguchi.benefits.services import programme_version_create

    national = Programme.objects.get(code="mynapoint-2")
    v1 = national.current_version()
    closes = timezone.now() + timedelta(seconds=30)
    programme_version_create(
        national,
        name_ja=v1.name_ja,
        opens_at=v1.opens_at,
        closes_at=closes,
        categories=v1.categories,
    )
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    later = closes + timedelta(seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    said = refused("programme_closed", commit, desk, c)
    assert "申込期間外です" in said.message_ja
    assert not PaymentLink.objects.exists()
    assert not Grant.objects.exists()
