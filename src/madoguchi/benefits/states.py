"""What a resident reads about a registration that waits for an outside system's answer
(the receipt, the desk's receipt page, the resident's own page): Japanese sentences, never codes."""

from __future__ import annotations

from madoguchi.language import page_language
from madoguchi.outside.errors import ERRORS_BY_CODE, System

from .constants import RegistrationState, SuspensionState
from .models import HealthInsuranceRegistration, OutsideCall

REGISTERING_JA = (
    "登録手続き中（保険者へ登録を依頼しています。保険者の回答を受けて登録が完了します。"
    "完了まで、医療機関でマイナンバーカードを保険証として利用できない場合があります。）"
)
REGISTERED_JA = "登録済み"
PERSON_DIFFERS_CODE = "registered_person_differs"  # outbox.PERSON_DIFFERS.code
REFUSED_JA = (
    "登録できませんでした（{reason}ご署名いただいた内容は保険者に登録されていません。"
    "この件は記録され、窓口からご連絡します。お手数ですが、保険証をお持ちのうえ窓口へお越しください。）"
)
REFUSAL_REASONS_JA = {
    "registered_to_another_card": "この被保険者は、別のマイナンバーカードで既に利用登録されていました。",
    "insurance_not_eligible": "保険者によると、この保険の資格が確認できませんでした。",
    "insured_person_not_found": "保険者に該当する被保険者が見つかりませんでした。",
    "insured_person_changed": "保険者の被保険者情報が、ご署名いただいた内容と異なっていました。",
}
REFUSED_DEFAULT_JA = "保険者が登録を受け付けませんでした。"
# The same reasons in English (the English page said only "the insurer refused it").
REFUSAL_REASONS_EN = {
    "registered_to_another_card": "This insured person was already registered with another "
    "My Number card.",
    "insurance_not_eligible": "According to the insurer, eligibility for this insurance could "
    "not be confirmed.",
    "insured_person_not_found": "The insurer found no such insured person.",
    "insured_person_changed": "The insurer's record of the insured person differed from what "
    "you signed.",
}
REFUSED_DEFAULT_EN = "The insurer did not accept the registration."
REFUSED_EN = (
    "Could not be registered ({reason} What you signed is not registered at the insurer. This "
    "has been recorded and the office will contact you; please bring your insurance card to "
    "the desk.)"
)
# Registered at the insurer, but its record of the insured person differed from what the
# resident signed (`outbox.PERSON_DIFFERS`): the registration stands; an official checks it.
REGISTERED_CHECKING_JA = (
    "登録済み（保険者に登録されましたが、保険者の被保険者情報が、ご署名いただいた内容と異なって"
    "いました。市の担当職員が保険者と確認し、窓口からご連絡します。）"
)
REGISTERED_CHECKING_EN = (
    "Registered (the insurer registered it, but its record of the insured person differed "
    "from what you signed. A city official is checking it with the insurer and the office "
    "will contact you.)"
)
EN = {
    RegistrationState.REGISTERING: "Registering (the insurer has been asked; the registration "
    "is complete once it answers. Until then the card may not work as a health-insurance card "
    "at hospitals.)",
    RegistrationState.REGISTERED: "Registered",
}


# A remediation case's suspension of the registration at the insurer (docs/cases.md).
SUSPENDING_JA = (
    "利用停止の手続き中（誤りを正すため、市が保険者へこの利用登録の利用停止を依頼しています。"
    "保険者の回答を受けて停止されます。）"
)
SUSPENDED_JA = (
    "利用停止済み（誤りを正すため、保険者でこの利用登録が利用停止されました。"
    "正しい保険証での利用登録は、窓口であらためて行えます。）"
)
SUSPENSION_REFUSED_JA = (
    "登録済み（市が保険者へこの利用登録の利用停止を依頼しましたが、保険者が受け付けませんでした。"
    "市の担当職員が保険者と確認しています。）"
)
SUSPENSION_EN = {
    SuspensionState.SUSPENDING: "Being suspended (to put a mistake right, the city has asked "
    "the insurer to suspend this registration; it is suspended once the insurer answers.)",
    SuspensionState.SUSPENDED: "Suspended (to put a mistake right, the insurer has suspended "
    "this registration. You can register your own insurance again at the desk.)",
    SuspensionState.REFUSED: "Registered (the city asked the insurer to suspend this "
    "registration, but the insurer did not accept; a city official is checking it with the "
    "insurer.)",
}


def latest_cancellation(reg: HealthInsuranceRegistration) -> OutsideCall | None:
    """The registration's latest cancellation call (a case's suspension), if any."""
    return reg.cancel_calls.order_by("-pk").first()


def insurer_refusal(code: str, lang: str = "ja") -> str:
    """The insurer's refusal `code` as the sentence staff read (its message), in `lang`."""
    lang = page_language(lang)
    cls = ERRORS_BY_CODE.get(code)
    if cls is None:
        return (
            "The insurer did not accept the request."
            if lang == "en"
            else "保険者が依頼を受け付けませんでした。"
        )
    error = cls(system=System.INSURER)
    return error.message_en if lang == "en" else error.message_ja


def refusal_code(reg: HealthInsuranceRegistration) -> str:
    call = getattr(reg, "outside_call", None)  # absent for registrations made before the outbox
    return str((call.result or {}).get("code", "")) if call is not None else ""


def state_text(reg: HealthInsuranceRegistration, lang: str = "ja") -> str:
    """The registration's state as the resident reads it."""
    lang = page_language(lang)
    if reg.suspension:
        state = SuspensionState(reg.suspension)
        if lang == "en":
            return SUSPENSION_EN[state]
        return {
            SuspensionState.SUSPENDING: SUSPENDING_JA,
            SuspensionState.SUSPENDED: SUSPENDED_JA,
        }.get(state, SUSPENSION_REFUSED_JA)
    en = lang == "en"
    if reg.state == RegistrationState.REGISTERING:
        return EN[RegistrationState.REGISTERING] if en else REGISTERING_JA
    if reg.state == RegistrationState.REFUSED:
        if en:
            reason = REFUSAL_REASONS_EN.get(refusal_code(reg), REFUSED_DEFAULT_EN)
            return REFUSED_EN.format(reason=reason)
        reason = REFUSAL_REASONS_JA.get(refusal_code(reg), REFUSED_DEFAULT_JA)
        return REFUSED_JA.format(reason=reason)
    if refusal_code(reg) == PERSON_DIFFERS_CODE:
        return REGISTERED_CHECKING_EN if en else REGISTERED_CHECKING_JA
    return EN[RegistrationState.REGISTERED] if en else REGISTERED_JA
