"""Issue 11 item 2: a health-insurance registration is bound to the person: the insurer's
insured person is compared with the card holder before the card signs."""

import pytest

from madoguchi.benefits.models import HealthInsuranceRegistration
from madoguchi.desk import services as desk_services
from madoguchi.incidents.models import Incident
from madoguchi.outside import InsuredPerson
from tests.benefits.conftest import commit, drain, prepare, refused, sign, start_visit

pytestmark = pytest.mark.usefixtures("providers", "systems")

# Card C: 山田 太郎, born 1990-01-15, male. The insurer's record SYM-7731/88120045 is his.
CARD_C = {
    "resident_birth_date": "1990-01-15",
    "resident_sex": "1",
    "resident_kana": "ヤマダ タロウ",
    "resident_kana_confirmed": True,
}
HIS = {"insurer_number": "06139992", "insured_symbol": "SYM-7731", "insured_number": "88120045",
       "branch": "01"}  # fmt: skip
# Resident A's insurance: another 山田 太郎 (born 1980): same name, another person.
NAMESAKE = {"insurer_number": "06139992", "insured_symbol": "1234", "insured_number": "5678",
            "branch": "00"}  # fmt: skip
# 鈴木 一郎's insurance (resident B).
SUZUKI = {"insurer_number": "139998", "insured_symbol": "市国12", "insured_number": "3456",
          "branch": "00"}  # fmt: skip


def test_another_persons_insurance_is_refused_at_prepare_with_an_incident(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refused("insured_person_mismatch", prepare, desk, kind="health_insurance_use",
            **NAMESAKE, **CARD_C)  # fmt: skip
    refused("insured_person_mismatch", prepare, desk, kind="health_insurance_use",
            **SUZUKI, **CARD_C)  # fmt: skip
    assert Incident.objects.filter(reason_code="insured_person_mismatch").count() == 2
    assert not HealthInsuranceRegistration.objects.exists()


@pytest.mark.parametrize("typed", ["2090-01-15", "令和90年1月15日"])
def test_a_birth_date_after_today_is_refused_as_a_slip_without_an_incident(trusted, desk, typed):
    """2090 typed for 1990 (or 令和 for 平成) was compared with the insurer's record: a mismatch,
    recorded as a high-severity incident in the city's report, for a slip of the keys."""
    start_visit(desk, trusted.card("C"))
    err = refused("resident_birth_date_future", prepare, desk, kind="health_insurance_use",
                  **HIS, **{**CARD_C, "resident_birth_date": typed})  # fmt: skip
    assert "今日より後の日付" in err.message_ja
    assert "after today" in err.message_en
    assert not Incident.objects.exists()
    assert not HealthInsuranceRegistration.objects.exists()


def test_kana_no_match_is_refused_at_prepare_and_close_needs_confirmation(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refused("name_no_match", prepare, desk, kind="health_insurance_use",
            **HIS, **{**CARD_C, "resident_kana": "スズキ イチロウ"})  # fmt: skip
    assert Incident.objects.filter(kind="name_check").exists()
    close = {**CARD_C, "resident_kana": "ヤマダ ジロウ"}
    refused("name_close_unconfirmed", prepare, desk, kind="health_insurance_use",
            **HIS, **close)  # fmt: skip
    p = prepare(desk, kind="health_insurance_use", **HIS, **close, confirm_close_match=True)
    assert p.fields["close_confirmed"] is True


def test_the_insured_persons_name_is_a_signed_line_and_the_registration_commits(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HIS, **CARD_C)
    ch, _token = sign(desk, c)
    assert "被保険者: 山田 太郎" in ch.transaction["display"]
    assert "1990" not in ch.transaction_bytes.decode()  # compared, never signed or stored
    commit(desk, c)
    assert drain().count("registered") == 1
    assert HealthInsuranceRegistration.objects.get().insured_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"


def test_the_worker_rechecks_the_insurers_answer_against_what_was_signed(trusted, desk, systems):
    """The insurer's record changed between the signature and the call: the worker refuses the
    registration (nothing registered at the insurer) and records an incident."""
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HIS, **CARD_C)
    ch, token = sign(desk, c)
    real = systems.insurer.lookup_insured

    def changed(*keys):
        person = real(*keys)
        return InsuredPerson("山田 次郎", "ﾔﾏﾀﾞ ｼﾞﾛｳ", person.birth_date, person.sex, "active")

    systems.insurer.lookup_insured = changed
    desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert drain().count("refused") == 1
    row = HealthInsuranceRegistration.objects.get()
    assert row.state == "refused"
    assert not row.registration_ref
    assert Incident.objects.filter(reason_code="insurer_refused_after_signature").exists()
    assert not [r for r in systems.insurer.registrations() if r.request_ref]


@pytest.mark.usefixtures("support_keys")
def test_the_sex_verified_from_the_card_is_compared_too(trusted, desk):
    """Side doors round 4 left the sex compared as typed only: the card's verified sex was not
    kept on the visit. It is kept with the birth date (and cleared with it), and an insurer's
    record of another sex is refused although the typed sex matches it."""
    from madoguchi.desk.constants import VisitEndReason
    from madoguchi.desk.models import Visit
    from madoguchi.desk.services import visit_end
    from tests.visits import verify_basic_four

    c = trusted.card("C")
    visit = start_visit(desk, c)
    verify_basic_four(desk, c)
    visit.refresh_from_db()
    assert visit.card_sex == CARD_C["resident_sex"]  # as the card's EF0002 says
    Visit.objects.filter(pk=visit.pk).update(card_sex="2")  # a card whose holder is not him
    refused("insured_person_mismatch", prepare, desk, kind="health_insurance_use",
            **HIS, **CARD_C)  # fmt: skip
    incident = Incident.objects.filter(reason_code="insured_person_mismatch").get()
    assert incident.detail["differing"] == ["sex"]
    visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT, actor=desk.staff)
    visit.refresh_from_db()
    assert visit.card_sex == ""


@pytest.mark.usefixtures("support_keys")
def test_the_birth_date_verified_from_the_card_is_the_one_compared(trusted, desk):
    """Side doors round 4: once the server has verified the card's basic four, the birth date
    typed on the form cannot stand in for it. Staff typing the namesake's birth date (read off
    the insurance card, not the My Number card) matched the insurer's record, and card C's
    holder (born 1990) was about to be registered to the other 山田 太郎's insurance (born
    1980)."""
    from tests.visits import verify_basic_four

    c = trusted.card("C")
    start_visit(desk, c)
    verify_basic_four(desk, c)
    typed_from_insurance_card = {**CARD_C, "resident_birth_date": "1980-04-01"}
    refused("insured_person_mismatch", prepare, desk, kind="health_insurance_use",
            **NAMESAKE, **typed_from_insurance_card)  # fmt: skip
    incident = Incident.objects.get(reason_code="insured_person_mismatch")
    assert incident.detail["differing"] == ["birth date"]
    # His own insurance still goes through with the card's date, and a typo in the typed date
    # is refused rather than silently replaced by the card's.
    refused("insured_person_mismatch", prepare, desk, kind="health_insurance_use",
            **HIS, **typed_from_insurance_card)  # fmt: skip
    assert prepare(desk, kind="health_insurance_use", **HIS, **CARD_C).status == "pending"
    assert not HealthInsuranceRegistration.objects.exists()


def test_the_signed_lines_call_the_insured_persons_kana_by_what_it_is(trusted, desk):
    """A health insurance has no account: its signed lines said 「口座名義: ﾔﾏﾀﾞ ﾀﾛｳ」 and, after a
    close match, 「ご本人が口座名義を確認済み」, words the resident could not place."""
    c = trusted.card("C")
    start_visit(desk, c)
    close = {**CARD_C, "resident_kana": "ヤマダ ジロウ"}
    prepare(desk, kind="health_insurance_use", **HIS, **close, confirm_close_match=True)
    ch, _token = sign(desk, c)
    lines = ch.transaction["display"]
    assert not [line for line in lines if "口座" in line], lines
    assert "被保険者のお名前（フリガナ）: ﾔﾏﾀﾞ ﾀﾛｳ" in lines
    assert any("ご本人が被保険者のお名前を確認済み" in line for line in lines), lines
