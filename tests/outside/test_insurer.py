"""Health-insurance use registration against the simulated insurer."""

from __future__ import annotations

import httpx
import pytest

from madoguchi.outside import (
    HttpInsurer,
    InsuranceNotEligible,
    InsuredPersonNotFound,
    Insurer,
    InvalidRequest,
    OutsideProtocolError,
    RegisteredToAnotherCard,
    RegistrationNotFound,
    RegistrationStatus,
)
from madoguchi.outside.sim import RunningSim

YAMADA = ("06139992", "1234", "5678", "00")
CARD_A = "a1" * 32
CARD_B = "b2" * 32


def test_register_returns_a_reference_and_the_insurers_kana_name(insurer: HttpInsurer) -> None:
    registration = insurer.register_use(*YAMADA, CARD_A)
    assert registration.status is RegistrationStatus.REGISTERED
    assert registration.registration_ref.startswith("ins-reg-")
    assert registration.insured_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert registration.insurer_number == "06139992"


def test_the_same_card_again_is_already_registered(insurer: HttpInsurer) -> None:
    first = insurer.register_use(*YAMADA, CARD_A)
    # A colon-separated upper-case fingerprint is the same fingerprint.
    upper = ":".join(CARD_A[i : i + 2] for i in range(0, 64, 2)).upper()
    again = insurer.register_use(*YAMADA, upper)
    assert again.status is RegistrationStatus.ALREADY_REGISTERED
    assert again.registration_ref == first.registration_ref
    assert not again.replayed


def test_another_card_for_a_registered_person_is_refused(insurer: HttpInsurer) -> None:
    insurer.register_use(*YAMADA, CARD_A)
    with pytest.raises(RegisteredToAnotherCard) as exc:
        insurer.register_use(*YAMADA, CARD_B)
    assert "別のマイナンバーカード" in exc.value.message_ja
    assert "report" in exc.value.message_en


def test_seeded_registration_with_another_card(insurer: HttpInsurer) -> None:
    with pytest.raises(RegisteredToAnotherCard):
        insurer.register_use("06139992", "2345", "200", "00", CARD_A)


def test_national_health_insurance_with_a_kanji_symbol(insurer: HttpInsurer) -> None:
    registration = insurer.register_use("139998", "市国１２", "3456", "0", CARD_B)
    assert registration.insured_name_kana == "ｽｽﾞｷ ｲﾁﾛｳ"


def test_insurer_without_a_kana_name(insurer: HttpInsurer) -> None:
    registration = insurer.register_use("139998", "市国12", "3457", "00", CARD_B)
    assert registration.insured_name_kana is None
    assert registration.status is RegistrationStatus.REGISTERED


def test_lost_eligibility_is_refused(insurer: HttpInsurer) -> None:
    with pytest.raises(InsuranceNotEligible):
        insurer.register_use("06139992", "9999", "1", "00", CARD_A)


def test_unknown_insured_person(insurer: HttpInsurer) -> None:
    with pytest.raises(InsuredPersonNotFound) as exc:
        insurer.register_use("06139992", "1234", "9999", "00", CARD_A)
    assert "被保険者" in exc.value.message_ja


@pytest.mark.parametrize(
    "args",
    [
        ("0613999", "1234", "5678", "00", CARD_A),
        ("06139992", "", "5678", "00", CARD_A),
        ("06139992", "1234", "56/78", "00", CARD_A),
        ("06139992", "1234", "5678", "000", CARD_A),
        ("06139992", "1234", "5678", "00", "zz" * 32),
        ("06139992", "1234", "5678", "00", CARD_A[:-2]),
    ],
)
def test_malformed_input_is_refused_before_sending(
    insurer: HttpInsurer, insurer_sim: RunningSim, args: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidRequest):
        insurer.register_use(*args)
    assert insurer_sim.control.stats()["requests"] == 0


def test_adapter_satisfies_the_protocol(insurer: HttpInsurer) -> None:
    assert isinstance(insurer, Insurer)


def test_lookup_returns_the_insured_persons_attributes_and_registers_nothing(
    insurer: HttpInsurer,
) -> None:
    """Issue 11 item 2: a read-only look-up before anything is registered."""
    person = insurer.lookup_insured(*YAMADA)
    assert (person.name, person.name_kana, person.birth_date, person.sex, person.status) == (
        "山田 太郎",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "1980-04-01",
        "1",
        "active",
    )
    assert insurer.register_use(*YAMADA, CARD_A).status is RegistrationStatus.REGISTERED
    with pytest.raises(InsuredPersonNotFound):
        insurer.lookup_insured("06139992", "1234", "0000", "00")


def test_the_registrations_list_carries_the_request_reference(insurer: HttpInsurer) -> None:
    """For reconciliation: every registration held, with the requester's reference (the seeded
    one made by another system has none), insured numbers as last 4 only."""
    before = insurer.registrations()
    assert all(r.request_ref is None for r in before)
    made = insurer.register_use(*YAMADA, CARD_A, idempotency_key="k-1", request_ref="ref-1")
    again = insurer.register_use(*YAMADA, CARD_A, idempotency_key="k-1", request_ref="ref-1")
    assert again.replayed
    after = insurer.registrations()
    assert len(after) == len(before) + 1
    ours = [r for r in after if r.request_ref == "ref-1"]
    assert len(ours) == 1
    assert ours[0].registration_ref == made.registration_ref
    assert ours[0].insured_last4 == "5678"
    assert ours[0].card_cert_fingerprint == CARD_A
    assert ours[0].insured_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"


def test_cancelling_a_registration_frees_the_insured_person(insurer: HttpInsurer) -> None:
    """The insurer gave madoguchi no call to cancel (suspend) a registration, so a remediation
    case could not repair a wrong one. Cancelled, the registration leaves the insurer's list
    and the insured person can be registered again, with another card."""
    wrong = insurer.register_use(*YAMADA, CARD_A)
    done = insurer.cancel_registration(wrong.registration_ref, reason="CASE-00001")
    assert done.registration_ref == wrong.registration_ref
    assert done.status == "cancelled"
    assert done.cancelled_at
    assert wrong.registration_ref not in {r.registration_ref for r in insurer.registrations()}
    right = insurer.register_use(*YAMADA, CARD_B)
    assert right.status is RegistrationStatus.REGISTERED
    assert right.registration_ref != wrong.registration_ref
    # The same registration again is not an error (a second case, a retry with a new key).
    again = insurer.cancel_registration(wrong.registration_ref)
    assert again.status == "already_cancelled"
    assert again.cancelled_at == done.cancelled_at


def test_cancelling_is_replayed_under_its_idempotency_key(
    insurer: HttpInsurer, insurer_sim: RunningSim
) -> None:
    wrong = insurer.register_use(*YAMADA, CARD_A)
    first = insurer.cancel_registration(wrong.registration_ref, idempotency_key="k-cancel-1")
    again = insurer.cancel_registration(wrong.registration_ref, idempotency_key="k-cancel-1")
    assert (again.status, again.replayed) == (first.status, True)
    assert insurer_sim.control.stats()["replayed"] == 1


def test_cancelling_an_unknown_registration_is_refused_saying_why(insurer: HttpInsurer) -> None:
    with pytest.raises(RegistrationNotFound) as exc:
        insurer.cancel_registration("ins-reg-999999")
    assert exc.value.code == "registration_not_found"
    assert not exc.value.retryable
    assert "この利用登録の記録がありません" in exc.value.message_ja
    assert exc.value.message_en == (
        "The health insurer holds no such registration. Nothing was linked, and nothing was "
        "suspended. "
        "Ask the insurer how the registration stands."
    )


def test_cancelling_needs_an_idempotency_key_on_the_wire(insurer_sim: RunningSim) -> None:
    import httpx

    r = httpx.post(f"{insurer_sim.base_url}/v1/registrations/ins-reg-000001/cancel", json={})
    assert r.status_code == 400


REGISTERED = {
    "registration_ref": "ins-reg-000001",
    "status": "registered",
    "insured_name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
    "registered_at": "2026-12-01T10:00:00+09:00",
}


@pytest.mark.parametrize(
    "answer",
    [
        {**REGISTERED, "registration_ref": "ins-reg-" + "x" * 100},  # longer than we keep
        {**REGISTERED, "registration_ref": "ins-reg\x00-1"},  # PostgreSQL refuses NUL
        {**REGISTERED, "insured_name_kana": "ﾔﾏﾀﾞ\x00ﾀﾛｳ"},
        {**REGISTERED, "insured_name_kana": "ﾔ" * 101},
    ],
    ids=["long-ref", "nul-ref", "nul-kana", "long-kana"],
)
def test_an_answer_we_could_not_keep_is_a_protocol_error(answer: dict[str, str]) -> None:
    """The client checked only the type of a text field: a registration reference of 101+
    characters (or with a NUL) passed, and the outbox's worker crashed on the database
    (DataError) recording it. Now it is an answer not understood, as a missing field is."""
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=answer))
    insurer = HttpInsurer("http://sim.invalid", transport=transport)
    with pytest.raises(OutsideProtocolError):
        insurer.register_use(*YAMADA, CARD_A, idempotency_key="k")
    listed = {**answer, "request_ref": None, "insurer_number": "06139992"}
    listed |= {"insured_last4": "5678", "card_cert_fingerprint": CARD_A}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"registrations": [listed]}))
    with pytest.raises(OutsideProtocolError):
        HttpInsurer("http://sim.invalid", transport=transport).registrations()


def test_an_answer_of_exactly_the_longest_reference_is_kept() -> None:
    answer = {**REGISTERED, "registration_ref": "r" * 100}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=answer))
    insurer = HttpInsurer("http://sim.invalid", transport=transport)
    assert insurer.register_use(*YAMADA, CARD_A, idempotency_key="k").registration_ref == "r" * 100
