"""Incidents for links committed under a name-check exception or a confirmed close match.

Benefits writes the links; these receivers record the incident in the same transaction, so a
link and its incident commit together (benefits does not have to know about reporting)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .constants import IncidentKind, Severity
from .services import incident_record
from .text import LINKED_AFTER_CLOSE_MATCH, LINKED_UNDER_EXCEPTION, by_language, sentence

# The linked object, the exception and the name check's outcome, by their codes in the summary.
WHAT_JA = {"payment_link": "受取口座", "public_fund_account": "公金受取口座"}
EXCEPTION_JA = {"minor_representative": "未成年者の法定代理人名義の口座"}
# A name the provider or bank did not report (unavailable) is confirmed as a close one is: its
# incident said 「名義照合の結果（unavailable）」, the code.
OUTCOME_JA = {
    "match": "一致",
    "close": "近似",
    "no_match": "不一致",
    "unavailable": "照合不可",
}


# ... and in English: a page read in English shows words, not the codes (an unknown code
# stays as it is).
WHAT_EN = {"payment_link": "A payment account", "public_fund_account": "A public-funds account"}
EXCEPTION_EN = {"minor_representative": "account of a minor's legal representative"}
OUTCOME_EN = {
    "match": "match",
    "close": "close",
    "no_match": "no match",
    "unavailable": "name-not-reported",
}


def _in_words(names: dict[str, str], english: dict[str, str], code: Any) -> dict[str, str]:
    return by_language(ja=names.get(str(code), str(code)), en=english.get(str(code), str(code)))


def _record_name_incident(instance: Any, what: str) -> None:
    exception = getattr(instance, "name_exception", "")
    if exception:
        kind, severity, reason = IncidentKind.EXCEPTION_USED, Severity.MEDIUM, str(exception)
        summary, text = sentence(
            LINKED_UNDER_EXCEPTION,
            what=_in_words(WHAT_JA, WHAT_EN, what),
            exception=_in_words(EXCEPTION_JA, EXCEPTION_EN, exception),
            outcome=_in_words(OUTCOME_JA, OUTCOME_EN, instance.name_outcome),
        )
    elif getattr(instance, "close_confirmed", False):
        kind, severity, reason = (
            IncidentKind.NAME_CLOSE_CONFIRMED,
            Severity.LOW,
            str(instance.name_outcome),
        )
        summary, text = sentence(
            LINKED_AFTER_CLOSE_MATCH,
            what=_in_words(WHAT_JA, WHAT_EN, what),
            outcome=_in_words(OUTCOME_JA, OUTCOME_EN, instance.name_outcome),
        )
    else:
        return
    visit = instance.visit
    incident_record(
        kind=kind,
        reason_code=reason,
        severity=severity,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            "what": what,
            "object": instance.pk,
            "name_outcome": instance.name_outcome,
            "name_reason": instance.name_reason,
            "representative_outcome": getattr(instance, "representative_outcome", ""),
            "text": text,
        },
    )


@receiver(post_save, sender="benefits.PaymentLink", dispatch_uid="incidents_payment_link_name")
def payment_link_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        _record_name_incident(instance, "payment_link")


@receiver(post_save, sender="benefits.PublicFundAccount", dispatch_uid="incidents_public_fund_name")
def public_fund_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        _record_name_incident(instance, "public_fund_account")
