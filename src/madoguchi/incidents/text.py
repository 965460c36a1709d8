"""An incident's sentence in the reader's language.

`Incident.summary` stays the stored English record (the API, the audit trail, old rows). A
sentence recorded with `sentence(...)` also keeps a language-neutral form in
`detail["text"]`: the English message id of the catalogue and its parameters. A parameter
that differs by language (a refusal's message, a reason's label) is stored as
`{"ja": ..., "en": ...}`. Pages render it with `incident_text`, in the active language;
an unknown id or a broken parameter falls back to the stored summary.

A row recorded before its sentence was kept (no `detail["text"]`) whose summary names a code
(the visit's end reason, the name check's reason, a refusal's code) gets its neutral form
built at display time from what it stored (`earlier_text`: its kind, reason code and detail);
the row itself is never rewritten (incidents are append-only). Any other old row shows its
summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop, ngettext

from madoguchi.language import page_language
from madoguchi.namecheck.reasons import (
    ACCOUNT,
    INSURED,
    REASON_TEXTS,
    Reason,
    no_match_reason_text,
)
from madoguchi.refusals import known_message

VISIT_ENDED_WITH_PENDING = gettext_noop(
    "Visit %(visit)s ended (%(reason)s) with %(count)s procedure(s) pending; nothing was committed."
)
# The same end when the visit had committed completions before it: those stand.
VISIT_ENDED_WITH_PENDING_AFTER_COMMITTED = gettext_noop(
    "Visit %(visit)s ended (%(reason)s) with %(count)s procedure(s) pending, which were not "
    "committed; the completions the resident's card committed in the visit (%(committed)s) "
    "stand."
)
CARD_AUTH_REFUSED = gettext_noop("Card authentication refused: %(reason)s")
CARD_SWAPPED = gettext_noop(
    "Another card was placed on the reader during visit %(visit)s; the visit ended."
)
BASIC_FOUR_OTHER_CARD = gettext_noop(
    "Visit %(visit)s: the card's basic four sent to the server had been verified earlier with "
    "another resident's card, not the card authenticated in this visit; they were refused."
)
NAME_CHECK_NO_MATCH = gettext_noop("Name check: no match (%(reason)s); nothing was linked.")
NAME_CHECK_REPRESENTATIVE_NO_MATCH = gettext_noop(
    "Name check: the account matches neither the minor nor the legal representative "
    "(%(reason)s); nothing was linked."
)
# A health insurance has no account: its name check compares the insured person's name on the
# insurer's record, and a no match registers nothing.
NAME_CHECK_INSURED_NO_MATCH = gettext_noop(
    "Name check: the insured person's name on the insurer's record does not match the "
    "resident's (%(reason)s); nothing was registered."
)
COMPLETION_REFUSED = gettext_noop("Completion refused: %(reason)s")
PIN_LOCKED = gettext_noop(
    "The card's %(applet)s PIN is locked; the resident was referred to the municipal office "
    "to reset it."
)
ACCOUNT_ALREADY_LINKED = gettext_noop(
    "A payment account already linked to a resident was presented again; nothing was linked."
)
OUTSIDE_FAILED = gettext_noop("%(reason)s")
PAYOUT_NOT_ACCEPTED = gettext_noop("Payout batch %(batch)s not accepted: %(reason)s")
# The provider's answer does not account for the batch sent (another batch's id, an item left
# out or added, other points): nothing of it is recorded, the batch stays in doubt.
PAYOUT_ANSWER_MISMATCH = gettext_noop(
    "The answer of %(provider)s to payout batch %(batch)s does not account for the batch sent: "
    "%(reason)s. Nothing of it was recorded; the batch stays sent with its answer not recorded "
    "(whether the payment service paid is not known) and its points go into no other batch. "
    "Ask the payment service what it paid for this batch."
)
# The provider refused one item of a batch (the account suspended or closed at the provider
# since the resident linked it): the resident's points stay due, held from later batches.
PAYOUT_ITEM_REFUSED = gettext_noop(
    "%(provider)s refused to pay %(points)s points of payout batch %(batch)s (item %(item)s) "
    "into the account %(account)s linked at visit %(visit)s: %(reason)s. The points stay due "
    "to the resident and go into no later batch until a city official, having checked with "
    "the resident, releases the hold."
)
INSURER_REFUSED = gettext_noop(
    "The insurer refused a health-insurance use registration the resident had signed "
    "(%(code)s): %(reason)s"
)
INSURER_REFUSED_SUSPENSION = gettext_noop(
    "The insurer refused to suspend a health-insurance use registration that case %(case)s "
    "asked it to suspend: %(reason)s"
)
RECONCILE_SUSPENDED_BUT_REGISTERED = gettext_noop(
    "Suspended in madoguchi, but the insurer still holds the registration; its suspension "
    "was asked again."
)
RECONCILE_MISSING_AT_INSURER = gettext_noop(
    "Registered in madoguchi, but the insurer has no such registration."
)
RECONCILE_REFUSED_BUT_REGISTERED = gettext_noop(
    "Refused in madoguchi, but the insurer registered it."
)
RECONCILE_UNKNOWN_TO_US = gettext_noop(
    "The insurer holds a registration madoguchi requested but has no record of."
)
RECONCILE_REGISTERED_TWICE = gettext_noop(
    "The insurer holds more than one registration for one request of madoguchi; ask it to "
    "cancel the extra one."
)
RECONCILE_REGISTRATION_REF_DIFFERS = gettext_noop(
    "Registered in madoguchi under the insurer's reference %(ours)s, but the insurer holds "
    "madoguchi's request as %(theirs)s. Check with the insurer which registration is the "
    "resident's: a case's suspension asks the insurer nothing meanwhile, so as not to cancel "
    "another person's registration."
)
INSURER_REGISTERED_PERSON_DIFFERS = gettext_noop(
    "The insurer registered a health-insurance use registration the resident had signed, but "
    "its record of the insured person differs from what the resident signed; check it with "
    "the insurer and, if it is wrong, ask for its suspension through a case."
)
INSURED_PERSON_MISMATCH = gettext_noop(
    "Health-insurance registration: the insured person's %(fields)s differ from the card "
    "holder's; nothing was registered."
)
LINKED_UNDER_EXCEPTION = gettext_noop(
    "%(what)s linked under the '%(exception)s' exception (name check: %(outcome)s)."
)
LINKED_AFTER_CLOSE_MATCH = gettext_noop(
    "%(what)s linked after the resident confirmed a %(outcome)s name check."
)
CHECKLIST_UNTICKED = gettext_noop(
    "Visit %(visit)s ended (%(reason)s) with after-completion checklist items unticked: %(items)s"
)
COMPLAINT = gettext_noop("Complaint recorded by staff: %(text)s")
COMPLAINT_REPORTED_BY = gettext_noop(
    "Complaint recorded by staff (reported by %(reported_by)s): %(text)s"
)
RESIDENT_NOT_ME = gettext_noop(
    "The resident reported on their own page that this was not them: %(item)s. Reason: %(reason)s"
)
RESIDENT_NOT_ME_COMMENT = gettext_noop(
    "The resident reported on their own page that this was not them: %(item)s. "
    "Reason: %(reason)s. The resident's comment: %(comment)s"
)


def _pending_procedures(count: int) -> str:
    return ngettext(
        "Visit %(visit)s ended (%(reason)s) with %(count)s procedure pending; "
        "nothing was committed.",
        "Visit %(visit)s ended (%(reason)s) with %(count)s procedures pending; "
        "nothing was committed.",
        count,
    )


def _pending_after_committed(count: int) -> str:
    return ngettext(
        "Visit %(visit)s ended (%(reason)s) with %(count)s procedure pending, which was not "
        "committed; the completions the resident's card committed in the visit "
        "(%(committed)s) stand.",
        "Visit %(visit)s ended (%(reason)s) with %(count)s procedures pending, which were not "
        "committed; the completions the resident's card committed in the visit "
        "(%(committed)s) stand.",
        count,
    )


# Sentences said by a count ("1 procedure", "2 procedures"). Their ids stay the stored keys
# above (rows keep them in detail["text"]); the words come from the plural pair, chosen by
# the named parameter.
PLURAL = {
    VISIT_ENDED_WITH_PENDING: ("count", _pending_procedures),
    VISIT_ENDED_WITH_PENDING_AFTER_COMMITTED: ("count", _pending_after_committed),
}

# Only these ids are rendered; anything else in a row's detail shows its stored summary.
KNOWN = frozenset(
    {
        VISIT_ENDED_WITH_PENDING,
        VISIT_ENDED_WITH_PENDING_AFTER_COMMITTED,
        CARD_AUTH_REFUSED,
        CARD_SWAPPED,
        BASIC_FOUR_OTHER_CARD,
        NAME_CHECK_NO_MATCH,
        NAME_CHECK_REPRESENTATIVE_NO_MATCH,
        NAME_CHECK_INSURED_NO_MATCH,
        COMPLETION_REFUSED,
        PIN_LOCKED,
        ACCOUNT_ALREADY_LINKED,
        OUTSIDE_FAILED,
        PAYOUT_NOT_ACCEPTED,
        PAYOUT_ANSWER_MISMATCH,
        PAYOUT_ITEM_REFUSED,
        INSURER_REFUSED,
        INSURER_REFUSED_SUSPENSION,
        RECONCILE_SUSPENDED_BUT_REGISTERED,
        RECONCILE_MISSING_AT_INSURER,
        RECONCILE_REFUSED_BUT_REGISTERED,
        RECONCILE_UNKNOWN_TO_US,
        RECONCILE_REGISTERED_TWICE,
        RECONCILE_REGISTRATION_REF_DIFFERS,
        INSURER_REGISTERED_PERSON_DIFFERS,
        INSURED_PERSON_MISMATCH,
        LINKED_UNDER_EXCEPTION,
        LINKED_AFTER_CLOSE_MATCH,
        CHECKLIST_UNTICKED,
        COMPLAINT,
        COMPLAINT_REPORTED_BY,
        RESIDENT_NOT_ME,
        RESIDENT_NOT_ME_COMMENT,
    }
)


def by_language(*, ja: str, en: str) -> dict[str, str]:
    """A parameter with its own Japanese and English forms."""
    return {"ja": ja, "en": en}


def sentence(message_id: str, **params: Any) -> tuple[str, dict[str, Any]]:
    """The English summary to store, and the neutral form for `detail["text"]`."""
    text = {"id": message_id, "params": params}
    with translation.override("en"):
        return render(text) or message_id, text


def render(text: Any, known: frozenset[str] = KNOWN) -> str | None:
    """The sentence in the active language; None when it cannot be rendered (an id not in
    ``known``, a broken parameter). The cases app renders its own ids through it."""
    if not isinstance(text, Mapping) or text.get("id") not in known:
        return None
    params = text.get("params")
    if not isinstance(params, Mapping):
        return None
    japanese = page_language() == "ja"
    values: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, Mapping):
            value = value.get("ja" if japanese else "en", value.get("en", ""))
        values[str(name)] = str(value)
    try:
        if text["id"] in PLURAL:
            name, words = PLURAL[text["id"]]
            return words(int(values[name])) % values
        return gettext(text["id"]) % values
    except (KeyError, TypeError, ValueError):
        return None


def no_match_reason(reason: Reason, subject: str = ACCOUNT) -> dict[str, str]:
    """A name check's no-match reason as a sentence's parameter, said once after "no match";
    `subject` says what was compared (an account's holder, an insurer's record)."""
    return by_language(
        ja=no_match_reason_text(reason, "ja", subject).rstrip("。"),
        en=no_match_reason_text(reason, "en", subject).rstrip("."),
    )


def end_reason(label: Any) -> dict[str, str]:
    """A visit's end reason (its catalogue label, lazy) as a parameter: the Japanese label,
    the English one in lower case (it reads inside a sentence)."""
    with translation.override("ja"):
        ja = str(label)
    with translation.override("en"):
        en = str(label).lower()
    return by_language(ja=ja, en=en)


def _known_refusal(code: str) -> dict[str, str] | None:
    ja, en = known_message(code, "ja"), known_message(code, "en")
    if ja is None or en is None:
        return None
    return by_language(ja=ja, en=en)


# Kinds read from their reason code even when a sentence was kept: a name check's no match
# kept its reason's whole sentence until it was said once (rows of both shapes then group and
# read alike in the reports).
NAME_CHECK_BY_CODE = frozenset({"name_check"})
# The reason code's prefix of a no match for the minor's legal representative too.
REPRESENTATIVE = "representative_"
# The reason code's prefix of a no match of a health insurance's insured person (the insurer's
# record, not an account): its rows read, and the reports count them, apart from accounts'.
INSURED_PREFIX = "insured_"


def earlier_text(
    kind: str, code: str, detail: Mapping[str, Any], visit: Any = None
) -> dict[str, Any] | None:
    """The neutral form of a row recorded before sentences were kept, from its kind, reason
    code, detail and visit; None when they do not say enough (the row then shows its
    summary)."""
    params: dict[str, Any]
    if kind == "visit_ended_with_pending" and visit is not None:
        labels = dict(type(visit)._meta.get_field("end_reason").flatchoices)
        if code not in labels or not isinstance(detail.get("pending"), list):
            return None
        message_id = VISIT_ENDED_WITH_PENDING
        params = {
            "visit": visit.reference,
            "reason": end_reason(labels[code]),
            "count": len(detail["pending"]),
        }
    elif kind == "card_swapped" and visit is not None:
        message_id, params = CARD_SWAPPED, {"visit": visit.reference}
    elif kind == "name_check" and code in REASON_TEXTS:
        message_id, params = NAME_CHECK_NO_MATCH, {"reason": no_match_reason(Reason(code))}
    elif kind == "name_check" and code.removeprefix(INSURED_PREFIX) in REASON_TEXTS:
        message_id = NAME_CHECK_INSURED_NO_MATCH
        params = {"reason": no_match_reason(Reason(code.removeprefix(INSURED_PREFIX)), INSURED)}
    elif kind == "name_check" and code.removeprefix(REPRESENTATIVE) in REASON_TEXTS:
        # A minor's legal representative's own check gave no match too (its reason code is
        # the representative's reason, prefixed).
        message_id = NAME_CHECK_REPRESENTATIVE_NO_MATCH
        params = {"reason": no_match_reason(Reason(code.removeprefix(REPRESENTATIVE)))}
    elif kind in ("visit_start_refused", "completion_refused"):
        reason = _known_refusal(code)
        if reason is None:
            return None
        message_id = CARD_AUTH_REFUSED if kind == "visit_start_refused" else COMPLETION_REFUSED
        params = {"reason": reason}
    else:
        return None
    return {"id": message_id, "params": params}


def pending_after_committed(text: Any, visit: Any) -> Any:
    """A visit's end with procedures pending said "nothing was committed" even when the visit
    had committed completions before it (rows recorded so keep that id): such a row reads
    that the pending procedures were not committed and the visit's completions stand. A
    visit commits nothing after its end, so its completions now are those it had then."""
    if not isinstance(text, Mapping) or text.get("id") != VISIT_ENDED_WITH_PENDING:
        return text
    if visit is None or not isinstance(text.get("params"), Mapping):
        return text
    committed = committed_count(visit)
    if not committed:
        return text
    return {
        "id": VISIT_ENDED_WITH_PENDING_AFTER_COMMITTED,
        "params": {**text["params"], "committed": committed},
    }


# The attribute a list sets on each listed visit (`selectors.with_committed_counts`): its
# completions counted for every row in one statement, not one count per row.
COMMITTED = "committed_completions"


def committed_count(visit: Any) -> int:
    """How many completions the visit committed: the count its list read, else counted now."""
    counted = getattr(visit, COMMITTED, None)
    return int(counted) if counted is not None else int(visit.completions.count())


def neutral_text(kind: str, code: str, detail: Mapping[str, Any], visit: Any = None) -> Any:
    """An incident row's neutral form: the one it kept, else the one built from its code. A
    name check's no match is always read from its reason code (`NAME_CHECK_BY_CODE`); a
    visit's end with procedures pending says what the visit committed
    (`pending_after_committed`)."""
    text = detail.get("text")
    if text is None or kind in NAME_CHECK_BY_CODE:
        text = earlier_text(kind, code, detail, visit) or text
    return pending_after_committed(text, visit)


def stored_text(incident: Any) -> Any:
    """`neutral_text` of an incident."""
    visit = incident.visit if incident.visit_id else None
    return neutral_text(str(incident.kind), str(incident.reason_code), incident.detail or {}, visit)


def incident_text(incident: Any) -> str:
    """An incident's (or a report row's) sentence in the active language, else its summary."""
    if isinstance(incident, Mapping):
        summary, text = incident.get("summary", ""), incident.get("text")
    else:
        summary, text = incident.summary, stored_text(incident)
    rendered = render(text)
    return rendered if rendered is not None else str(summary)


def reason_text(text: Any) -> str | None:
    """A sentence's reason parameter (a refusal's message, the name check's reason) in the
    active language; None when the sentence has none."""
    if not isinstance(text, Mapping) or text.get("id") not in KNOWN:
        return None
    params = text.get("params")
    reason = params.get("reason") if isinstance(params, Mapping) else None
    if not isinstance(reason, Mapping):
        return None
    japanese = page_language() == "ja"
    value = reason.get("ja" if japanese else "en", reason.get("en"))
    if not value:
        return None
    said = str(value).rstrip("。.")
    frame = REASON_FRAMES.get(text["id"])
    return gettext(frame) % {"reason": said} if frame else said


# Sentences whose reason alone would read as another's in the reports' refusals by reason:
# the reason framed by what was refused.
REASON_FRAMES = {
    NAME_CHECK_REPRESENTATIVE_NO_MATCH: gettext_noop(
        "matches neither the minor nor the legal representative (%(reason)s)"
    ),
    NAME_CHECK_INSURED_NO_MATCH: gettext_noop(
        "the insured person's name on the insurer's record does not match (%(reason)s)"
    ),
}


def refusal(exc: Any) -> dict[str, str]:
    """A refusal's (or an outside system's) message as a parameter: its Japanese and English."""
    return by_language(ja=exc.message_ja, en=exc.message_en)
