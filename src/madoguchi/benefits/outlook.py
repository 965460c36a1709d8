"""What a completion grants now, and what the resident could still apply for.

A point application alone grants only the categories whose trigger is met by this completion
(the application itself, or a registration that exists already or is committed together with
it); the health-insurance and public-fund categories wait for their registration, and the
rate category waits for the provider's report. The signed lines, the PIN pad, the desk receipt
and the PDF receipt all say so in two separate parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Procedure
from madoguchi.identity.models import Holder
from madoguchi.language import english

from .constants import CategoryKind, LinkStatus, RegistrationState, Trigger
from .models import (
    Grant,
    HealthInsuranceRegistration,
    PaymentLink,
    Programme,
    ProgrammeVersion,
    PublicFundAccount,
    category_words,
)

# The desk procedure kinds whose commit meets a trigger.
TRIGGER_KINDS = {
    Trigger.HEALTH_INSURANCE: "health_insurance_use",
    Trigger.PUBLIC_FUND: "public_fund_account",
    Trigger.APPLICATION: "point_application",
}
NEXT_STEP_JA = {
    Trigger.HEALTH_INSURANCE: "マイナンバーカードの健康保険証としての利用登録をすると付与されます",
    Trigger.PUBLIC_FUND: "公金受取口座を登録すると付与されます",
    Trigger.APPLICATION: "マイナポイントの申込をすると付与されます",
    Trigger.PROVIDER_REPORT: "決済サービスでのチャージやお買い物の後、決済サービスからの報告で付与されます",
}

# ... and in English (the receipt opened from an English page).
NEXT_STEP_EN = {
    Trigger.HEALTH_INSURANCE: "granted once the My Number card is registered for use as a "
    "health-insurance card",
    Trigger.PUBLIC_FUND: "granted once a public-fund receiving account is registered",
    Trigger.APPLICATION: "granted once you apply for the points",
    Trigger.PROVIDER_REPORT: "granted after a top-up or purchase with the payment service, "
    "when the service reports it",
}


@dataclass
class Outlook:
    now: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)


def _points(category: dict[str, Any], en: bool = False) -> str:
    if category["kind"] == CategoryKind.RATE:
        if en:
            return (
                f"{category['rate_percent']}% of the amount paid (up to {category['cap']:,} points)"
            )
        return f"決済額の{category['rate_percent']}%（上限{category['cap']:,}ポイント）"
    return f"{category['points']:,} points" if en else f"{category['points']:,}ポイント"


def _registered(holder: Holder, trigger: str) -> bool:
    if trigger == Trigger.HEALTH_INSURANCE:
        # A registration still waiting for the insurer counts: its grant follows its answer.
        return (
            HealthInsuranceRegistration.objects.filter(holder=holder, status=LinkStatus.EFFECTIVE)
            .exclude(state=RegistrationState.REFUSED)
            .exists()
        )
    if trigger == Trigger.PUBLIC_FUND:
        return PublicFundAccount.objects.filter(holder=holder, status=LinkStatus.EFFECTIVE).exists()
    if trigger == Trigger.APPLICATION:
        return PaymentLink.objects.filter(holder=holder, status=LinkStatus.EFFECTIVE).exists()
    return False


def outlook(
    holder: Holder,
    programme: Programme,
    version: ProgrammeVersion,
    *,
    committing: set[str] | frozenset[str] = frozenset(),
    lang: str = "ja",
) -> Outlook:
    """The programme's categories for `holder`, split into what a completion committing the
    procedure kinds `committing` grants now and what needs a later step. Categories already
    granted (or granted and returned: those come back only through a case) are in neither."""
    granted = set(
        Grant.objects.filter(holder=holder, programme=programme).values_list("category", flat=True)
    )
    applied = "point_application" in committing or _registered(holder, Trigger.APPLICATION)
    en = english(lang)
    result = Outlook()
    for cat in version.categories:
        if cat["code"] in granted:
            continue
        text = f"{category_words(programme.code, cat['code'], cat, lang)}: {_points(cat, en)}"
        trigger = cat.get("trigger", Trigger.APPLICATION)
        if cat["kind"] == CategoryKind.RATE:
            result.later.append(_then(text, Trigger.PROVIDER_REPORT, en))
            continue
        met = trigger == Trigger.APPLICATION or (
            TRIGGER_KINDS.get(trigger) in committing or _registered(holder, trigger)
        )
        if met and applied:
            result.now.append(text)
        elif not met:
            result.later.append(_then(text, trigger, en))
        else:
            result.later.append(_then(text, Trigger.APPLICATION, en))
    return result


def _then(text: str, trigger: Trigger, en: bool) -> str:
    """A category still to come, with the step that grants it."""
    if en:
        return f"{text} ({NEXT_STEP_EN.get(trigger, '')})"
    return f"{text}（{NEXT_STEP_JA.get(trigger, '')}）"


def outlook_lines(o: Outlook) -> list[str]:
    """The signed lines: this completion's points, then what could still be applied for."""
    lines = ["このお手続きで付与されるポイント: " + ("、".join(o.now) if o.now else "なし")]
    lines.extend(f"今後のお手続きで付与: {text}" for text in o.later)
    return lines


def procedure_lines(procedure: Procedure) -> list[str]:
    """The lines for a pending point application: its programme's outlook for the visit's
    holder, with every procedure pending in the visit committed together."""
    f = procedure.fields
    programme = Programme.objects.get(code=f["programme"])
    version = ProgrammeVersion.objects.get(programme=programme, number=f["programme_version"])
    committing = set(
        procedure.visit.procedures.filter(status=ProcedureStatus.PENDING).values_list(
            "kind", flat=True
        )
    )
    return outlook_lines(outlook(procedure.visit.holder, programme, version, committing=committing))
