"""The outbox and its worker: state-changing outside calls leave the database transaction.

The signed completion commits an `OutsideCall` row (idempotency key, request, `pending`) in its
own transaction instead of calling the insurer (`enqueue_registration`). The worker
(`madoguchi outside worker`, `drain`) then, for each due call:

1. claims it with a conditional UPDATE that moves `next_attempt_at` one lease ahead (autocommit:
   no transaction, no lock held afterwards);
2. calls the insurer, outside any transaction, with the call's idempotency key (the same key on
   every attempt, by every worker, for ever);
3. records the answer in one short transaction: the registration `registered` (and its grants)
   or `refused` (with an incident), the call `done` or `refused`, the insured numbers dropped
   from the request; or, on a transient failure, the next attempt after a backoff.

A worker that dies between 2 and 3 leaves a pending call whose lease runs out; the next worker
re-sends it under the same key and the insurer replays its first answer. Right after the
completion commits, a thread may also process the new call at once (`kick`, on_commit) so that
the desk sees the answer in a second; nothing depends on it.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.cli import Backoff, database_words
from madoguchi.desk.models import Procedure
from madoguchi.identity.models import Holder
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.outside import OutsideError, OutsideProtocolError
from madoguchi.outside.validation import unkeepable

from .. import outside
from ..constants import CallState, LinkStatus, RegistrationState, SuspensionState
from ..events import (
    BENEFITS_HEALTH_INSURANCE_REFUSED,
    BENEFITS_HEALTH_INSURANCE_REGISTERED,
    BENEFITS_HEALTH_INSURANCE_REQUESTED,
    BENEFITS_HEALTH_INSURANCE_SUSPENDED,
    BENEFITS_HEALTH_INSURANCE_SUSPENSION_REFUSED,
    BENEFITS_HEALTH_INSURANCE_SUSPENSION_REQUESTED,
)
from ..models import HealthInsuranceRegistration, OutsideCall
from ..states import PERSON_DIFFERS_CODE
from .grants import grants_evaluate, grants_lock

log = logging.getLogger("madoguchi.outside.worker")

REGISTER_USE = "insurer.register_use"
KEY_PREFIX = "madoguchi-hi:"
# A remediation case's suspension of a registration at the insurer (docs/cases.md).
CANCEL_REGISTRATION = "insurer.cancel_registration"
CANCEL_KEY_PREFIX = "madoguchi-hs:"
SECRET = ("insured_symbol", "insured_number", "branch")


def _conf(name: str, default: float) -> float:
    return float(getattr(settings, "OUTSIDE_WORKER", {}).get(name, default))


def lease() -> timedelta:
    """How long a claimed call is left to its worker: longer than what one claim can take
    (`settings.OUTSIDE_REQUESTS_PER_CLAIM` requests, each up to `attempts` × (connect + read
    timeout) plus backoff: the settings refuse a shorter lease at start)."""
    return timedelta(seconds=_conf("lease_seconds", 120))


def backoff(attempts: int) -> timedelta:
    """Exponential, capped, half jittered: 2 s, 4 s, 8 s … up to 5 minutes (settings)."""
    initial, cap = _conf("backoff_initial", 2.0), _conf("backoff_max", 300.0)
    delay = min(cap, initial * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=delay / 2 + random.random() * delay / 2)  # noqa: S311 (jitter)


# --- enqueue (inside the completion's transaction) --------------------------------------------


def enqueue_registration(
    registration: HealthInsuranceRegistration,
    procedure: Procedure,
    secret: dict[str, str],
    signed: dict[str, Any],
) -> OutsideCall:
    """Commit the insurer call with the registration (state `registering`). The insured symbol,
    number and branch are kept in the call's request only until the insurer answered."""
    call = OutsideCall.objects.create(
        key=f"{KEY_PREFIX}{uuid.uuid4().hex}",
        kind=REGISTER_USE,
        payload={
            "insurer_number": registration.insurer_number,
            "insured_symbol": secret.get("symbol", ""),
            "insured_number": secret.get("number", ""),
            "branch": secret.get("branch", ""),
            "insured_last4": registration.insured_last4,
            "certificate": signed["certificate"],
            "signed_name": signed.get("insured_name", ""),
            "signed_kana": signed.get("account_holder_kana", ""),
        },
        next_attempt_at=timezone.now(),
        procedure=procedure,
        registration=registration,
    )
    visit = registration.visit
    audit.record(
        BENEFITS_HEALTH_INSURANCE_REQUESTED,
        actor=visit.staff,
        terminal=visit.terminal,
        subject=registration,
        payload={"insurer": registration.insurer_number, "visit": visit.reference, "key": call.key},
    )
    if _conf("kick", 1):
        transaction.on_commit(lambda: kick(call.pk))
    return call


def enqueue_cancellation(
    registration: HealthInsuranceRegistration,
    *,
    actor: Any,
    case_ref: str,
    reason: str,
    again_of: str = "",
) -> OutsideCall:
    """Commit the insurer's cancellation of a registration with the caller's transaction (a
    remediation case's suspension step): the registration becomes `suspending`; the worker
    calls the insurer after the commit, never inside it. The registration must be locked by
    the caller and registered at the insurer (it has the insurer's reference). `again_of`:
    the key of the cancellation this one asks again (reconcile's, once)."""
    payload = {
        "registration_ref": registration.registration_ref,
        "insurer_number": registration.insurer_number,
        "insured_last4": registration.insured_last4,
        "case": case_ref,
        "reason": reason,
    }
    if again_of:
        payload["again_of"] = again_of
    call = OutsideCall.objects.create(
        key=f"{CANCEL_KEY_PREFIX}{uuid.uuid4().hex}",
        kind=CANCEL_REGISTRATION,
        payload=payload,
        next_attempt_at=timezone.now(),
        cancels=registration,
    )
    registration.suspension = SuspensionState.SUSPENDING
    registration.status_reason = reason
    registration.save(update_fields=["suspension", "status_reason"])
    audit.record(
        BENEFITS_HEALTH_INSURANCE_SUSPENSION_REQUESTED,
        actor=actor,
        subject=registration,
        payload={"insurer": registration.insurer_number, "case": case_ref, "key": call.key},
    )
    if _conf("kick", 1):
        transaction.on_commit(lambda: kick(call.pk))
    return call


# Kicks in flight at once in one process. Each is a thread holding a database connection while
# it waits for the insurer: a slow insurer (seconds an attempt, three attempts) made one per
# registration signed meanwhile, without bound, beside the server's own threads and connections.
# Beyond the limit the call is left to the worker, which sends it at its next poll.
KICK_LIMIT = 4
_kicks = threading.BoundedSemaphore(KICK_LIMIT)


def kick(call_id: int) -> None:
    """Process one call now, in a thread of its own (after the completion committed), unless
    KICK_LIMIT kicks are in flight in this process: then the worker sends it."""
    if not _kicks.acquire(blocking=False):
        log.info("outside call %s left to the worker: %d kicks in flight", call_id, KICK_LIMIT)
        return
    try:
        threading.Thread(target=_kicked, args=(call_id,), daemon=True, name="outbox-kick").start()
    except BaseException:
        _kicks.release()
        raise


def _kicked(call_id: int) -> None:
    try:
        process(call_id)
    except Exception:  # the worker will send it; a kick never fails a request
        log.exception("outbox kick of call %s failed; the worker will send it", call_id)
    finally:
        connection.close()
        _kicks.release()


# --- the worker ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the outside system said: registered (`ref`, `status`, `kana`), refused (`code`,
    messages), or nothing final yet (`retry`, with the error's code)."""

    outcome: str  # "registered" | "cancelled" | "refused" | "retry"
    code: str = ""
    message_ja: str = ""
    message_en: str = ""
    ref: str = ""
    status: str = ""
    kana: str = ""


@dataclass
class Outcome:
    key: str
    outcome: str  # "registered" | "cancelled" | "refused" | "retry" | "skipped"
    code: str = ""
    attempts: int = 0
    message: str = ""  # a refusal's reason in English (what `outside worker --once` prints)


@dataclass
class DrainResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes if o.outcome == outcome)


def due(now: datetime | None = None, limit: int = 100) -> list[int]:
    now = now or timezone.now()
    return list(
        OutsideCall.objects.filter(state=CallState.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def claim(call_id: int, now: datetime | None = None) -> OutsideCall | None:
    """Take a due pending call for one lease (a conditional UPDATE: one worker wins)."""
    now = now or timezone.now()
    taken = OutsideCall.objects.filter(
        pk=call_id, state=CallState.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + lease(), attempts=F("attempts") + 1)
    if taken != 1:
        return None
    return OutsideCall.objects.get(pk=call_id)


def send(call: OutsideCall) -> Answer:
    """Call the insurer (never inside a transaction): the person must still be the one the
    resident signed for, then register with the call's key; or cancel a registration.

    A retry whose look-up no longer agrees with the signature, or is refused outright (the
    person renumbered, a record we cannot keep), first asks the insurer whether an earlier
    attempt was registered under the call's key (its answer lost): if so, that attempt passed
    its own look-up, and the insurer replays its answer under the same key; the resident is
    never told "not registered" of a registration the insurer holds."""
    if call.kind == CANCEL_REGISTRATION:
        return _send_cancel(call)
    p = call.payload
    keys = (p["insurer_number"], p["insured_symbol"], p["insured_number"], p["branch"])
    insurer = outside.systems().insurer
    try:
        refusal = _lookup_refusal(call, keys, insurer)
        if refusal is not None and (refusal.outcome == "retry" or not _held_earlier(call, insurer)):
            return refusal
        reg = insurer.register_use(
            *keys, p["certificate"], idempotency_key=call.key, request_ref=call.key
        )
    except OutsideError as exc:
        return _answer_of(exc)
    return registered(call, reg.registration_ref, str(reg.status), reg.insured_name_kana)


def _lookup_refusal(call: OutsideCall, keys: tuple[str, ...], insurer: Any) -> Answer | None:
    """Why the insurer's record of the insured person stops the call: its look-up failed (to
    retry, or refused) or names another person than the resident signed (`CHANGED`); None
    when it agrees."""
    try:
        person = insurer.lookup_insured(*keys)
    except OutsideError as exc:
        return _answer_of(exc)
    signed = (call.payload.get("signed_name", ""), call.payload.get("signed_kana", ""))
    return CHANGED if (person.name or "", person.name_kana or "") != signed else None


def _held_earlier(call: OutsideCall, insurer: Any) -> bool:
    """Whether an earlier attempt of the call was registered at the insurer under its key (its
    answer lost). Asked on a retry only: a first attempt has no earlier one."""
    return call.attempts > 1 and _held_under(insurer.registrations(), call.key)


def _answer_of(exc: OutsideError) -> Answer:
    """An outside error as an answer: to retry (transient, or an answer not understood) or a
    refusal."""
    if exc.retryable or isinstance(exc, OutsideProtocolError):
        return Answer("retry", code=exc.code)
    return Answer("refused", code=exc.code, message_ja=exc.message_ja, message_en=exc.message_en)


def _held_under(records: Any, key: str) -> bool:
    return any(r.request_ref == key for r in records)


def registered(call: OutsideCall, ref: str, status: str, kana: str | None) -> Answer:
    """The insurer holds the registration (its answer, or its record found by reconcile). A
    reference we cannot keep is an answer not understood (retried, never a crash); a record of
    the insured person other than the resident signed is registered all the same (the insurer
    holds it) and flagged for an official (`PERSON_DIFFERS`)."""
    kana = kana or ""
    if not ref or unkeepable(ref) or unkeepable(kana):
        return Answer("retry", code=OutsideProtocolError.code)
    answer = Answer("registered", ref=ref, status=status, kana=kana)
    if kana != call.payload.get("signed_kana", ""):
        return dataclasses.replace(
            answer,
            code=PERSON_DIFFERS.code,
            message_ja=PERSON_DIFFERS.message_ja,
            message_en=PERSON_DIFFERS.message_en,
        )
    return answer


def _send_cancel(call: OutsideCall) -> Answer:
    p = call.payload
    try:
        done = outside.systems().insurer.cancel_registration(
            p["registration_ref"], reason=p.get("case", ""), idempotency_key=call.key
        )
    except OutsideError as exc:
        return _answer_of(exc)
    return Answer("cancelled", ref=done.registration_ref, status=done.status)


CHANGED = Answer(
    "refused",
    code="insured_person_changed",
    message_ja="保険者の被保険者情報が、ご本人が署名した内容と異なっていました。",
    message_en="The insurer's record of the insured person differs from what the resident signed.",
)
# Registered at the insurer, but its answer names the insured person otherwise than the
# resident signed: the registration stands (the insurer holds it), an official checks it.
PERSON_DIFFERS = Answer(
    "registered",
    code=PERSON_DIFFERS_CODE,
    message_ja=(
        "保険者に登録されましたが、保険者の被保険者情報が、ご本人が署名した内容と異なっていました。"
        "保険者に確認し、誤りであれば事案で利用停止を依頼してください。"
    ),
    message_en=(
        "Registered at the insurer, but the insurer's record of the insured person differs from "
        "what the resident signed. Check it with the insurer and, if it is wrong, ask for its "
        "suspension through a case."
    ),
)


def record(call: OutsideCall, answer: Answer, now: datetime | None = None) -> Outcome:
    """Write the answer in one short transaction; a call already answered is left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        if answer.outcome != "retry":
            _holder_locked(call, answer)
        locked = OutsideCall.objects.select_for_update().get(pk=call.pk)
        if locked.state != CallState.PENDING:
            return Outcome(locked.key, "skipped", attempts=locked.attempts)
        if answer.outcome == "retry":
            locked.next_attempt_at = now + backoff(locked.attempts)
            locked.last_error = answer.code[:200]
            locked.save(update_fields=["next_attempt_at", "last_error"])
            return Outcome(locked.key, "retry", answer.code, locked.attempts)
        if locked.kind == CANCEL_REGISTRATION:
            _record_cancel(locked, answer, now)
        else:
            _record_registration(locked, answer)
        locked.answered_at = now
        locked.last_error = answer.code[:200]
        # The insured numbers were needed for the call only: gone once it was answered.
        locked.payload = {k: v for k, v in locked.payload.items() if k not in SECRET}
        locked.save(update_fields=["state", "result", "answered_at", "last_error", "payload"])
        return Outcome(locked.key, answer.outcome, answer.code, locked.attempts, answer.message_en)


def _holder_locked(call: OutsideCall, answer: Answer) -> None:
    """Before the call's row: the resident whose registration the answer is about, and, for a
    registration answered `registered` (its grants evaluated), their open visits too
    (`grants_lock`, in the lock order of docs/benefits.md "Ledger": the holder, the visits,
    then the call and the registration). Before, the registration's lock took the holder
    (FOR UPDATE, joined) after the call, and nothing waited for a completion under way."""
    reg_id = call.registration_id if call.kind == REGISTER_USE else call.cancels_id
    if reg_id is None:  # refused below, as before (no registration)
        return
    holder_id = (
        HealthInsuranceRegistration.objects.filter(pk=reg_id)
        .values_list("holder_id", flat=True)
        .first()
    )
    if holder_id is None:
        return
    if call.kind == REGISTER_USE and answer.outcome == "registered":
        grants_lock(holder_id)
    else:
        Holder.objects.select_for_update(no_key=True).filter(pk=holder_id).first()


def _record_registration(locked: OutsideCall, answer: Answer) -> None:
    if locked.registration_id is None:  # every insurer.register_use call has its row
        raise ValueError(f"outside call {locked.key} has no registration")
    reg = (
        HealthInsuranceRegistration.objects.select_for_update(of=("self",))
        .select_related("visit__terminal", "visit__staff", "holder")
        .get(pk=locked.registration_id)
    )
    if answer.outcome == "registered":
        _registered(locked, reg, answer)
    else:
        _refused(locked, reg, answer)


def _record_cancel(call: OutsideCall, answer: Answer, now: datetime) -> None:
    """The insurer's answer to a case's suspension: cancelled (the registration suspended: it
    no longer holds the resident's place) or refused (an incident for the official)."""
    if call.cancels_id is None:  # every cancellation call names its registration
        raise ValueError(f"outside call {call.key} has no registration")
    reg = (
        HealthInsuranceRegistration.objects.select_for_update(of=("self",))
        .select_related("visit__terminal", "visit__staff", "holder")
        .get(pk=call.cancels_id)
    )
    case_ref = str(call.payload.get("case", ""))
    payload = {"insurer": reg.insurer_number, "case": case_ref}
    if answer.outcome == "cancelled":
        call.state = CallState.DONE
        call.result = {"registration_ref": answer.ref, "status": answer.status}
        reg.suspension = SuspensionState.SUSPENDED
        if reg.status == LinkStatus.EFFECTIVE:
            reg.status = LinkStatus.SUSPENDED
            reg.status_changed_at = now
        reg.save(update_fields=["suspension", "status", "status_changed_at"])
        audit.record(BENEFITS_HEALTH_INSURANCE_SUSPENDED, subject=reg, payload=payload)
        return
    call.state = CallState.REFUSED
    call.result = {"code": answer.code}
    if reg.suspension == SuspensionState.SUSPENDING:  # a later call may have succeeded
        reg.suspension = SuspensionState.REFUSED
        reg.save(update_fields=["suspension"])
    audit.record(
        BENEFITS_HEALTH_INSURANCE_SUSPENSION_REFUSED,
        subject=reg,
        payload={**payload, "code": answer.code},
    )
    summary, text = incident_text.sentence(
        incident_text.INSURER_REFUSED_SUSPENSION,
        case=case_ref,
        reason=incident_text.refusal(answer),
    )
    incident_record(
        kind=IncidentKind.OUTSIDE_REFUSED,
        reason_code="insurer_refused_suspension",
        severity=Severity.HIGH,
        summary=summary,
        organisation=suspension_organisation(reg),
        detail={
            "key": call.key,
            "code": answer.code,
            "case": case_ref,
            "insurer": reg.insurer_number,
            "text": text,
        },
    )


def suspension_organisation(reg: HealthInsuranceRegistration) -> Any:
    """Whose incident a case's suspension at the insurer makes (refused, or the insurer still
    holding it): the city whose desk registered it, the city the case suspending it belongs
    to, with no desk (it is no desk's work, and not the contractor's daily report); the desk's
    contractor where it serves no city. Recorded with nothing to scope it, it was every
    city's officials' to read (side doors, round 20)."""
    contractor = reg.visit.terminal.contractor
    return contractor.served_city or contractor


def _registered(call: OutsideCall, reg: HealthInsuranceRegistration, answer: Answer) -> None:
    reg.state = RegistrationState.REGISTERED
    reg.registration_ref = answer.ref
    reg.insurer_status = answer.status
    reg.insured_name_kana = answer.kana
    reg.save(update_fields=["state", "registration_ref", "insurer_status", "insured_name_kana"])
    call.state = CallState.DONE
    call.result = {"registration_ref": answer.ref, "status": answer.status}
    if answer.code:
        call.result["code"] = answer.code
    audit.record(
        BENEFITS_HEALTH_INSURANCE_REGISTERED,
        actor=None,
        terminal=reg.visit.terminal,
        subject=reg,
        payload={
            "insurer": reg.insurer_number,
            "visit": reg.visit.reference,
            "status": answer.status,
        },
    )
    if answer.code:
        _person_differs(call, reg, answer)
    grants_evaluate(reg.holder, actor=None, completion=reg.completion)


def _person_differs(call: OutsideCall, reg: HealthInsuranceRegistration, answer: Answer) -> None:
    """A HIGH incident for an official: the insurer registered it, naming the insured person
    otherwise than the resident signed."""
    _insurer_incident(
        call,
        reg,
        answer,
        "insurer_registered_person_differs",
        incident_text.sentence(incident_text.INSURER_REGISTERED_PERSON_DIFFERS),
        registration_ref=answer.ref,
    )


def _refused(call: OutsideCall, reg: HealthInsuranceRegistration, answer: Answer) -> None:
    reg.state = RegistrationState.REFUSED
    reg.save(update_fields=["state"])
    call.state = CallState.REFUSED
    call.result = {"code": answer.code}
    visit = reg.visit
    audit.record(
        BENEFITS_HEALTH_INSURANCE_REFUSED,
        actor=None,
        terminal=visit.terminal,
        subject=reg,
        payload={"insurer": reg.insurer_number, "visit": visit.reference, "code": answer.code},
    )
    _insurer_incident(
        call,
        reg,
        answer,
        "insurer_refused_after_signature",
        incident_text.sentence(
            incident_text.INSURER_REFUSED, code=answer.code, reason=incident_text.refusal(answer)
        ),
    )


def _insurer_incident(
    call: OutsideCall,
    reg: HealthInsuranceRegistration,
    answer: Answer,
    reason_code: str,
    sentence: tuple[str, dict[str, Any]],
    **detail: Any,
) -> None:
    """A HIGH incident of the registration's visit about the insurer's answer to `call`
    (`sentence`: the summary and the text, `incident_text.sentence`)."""
    summary, text = sentence
    visit = reg.visit
    incident_record(
        kind=IncidentKind.OUTSIDE_REFUSED,
        reason_code=reason_code,
        severity=Severity.HIGH,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            "key": call.key,
            "code": answer.code,
            "insurer": reg.insurer_number,
            **detail,
            "text": text,
        },
    )


def process(call_id: int, now: datetime | None = None) -> Outcome:
    """Claim, send, record one call (the worker's unit of work)."""
    call = claim(call_id, now)
    if call is None:
        return Outcome("", "skipped")
    return record(call, send(call))


def drain(now: datetime | None = None, limit: int = 100) -> DrainResult:
    """Process every call due now (once each)."""
    result = DrainResult()
    for call_id in due(now, limit):
        outcome = process(call_id, now)
        if outcome.outcome != "skipped":
            result.outcomes.append(outcome)
    return result


# The longest wait between two tries while the database does not answer (or drain fails).
RETRY_AT_MOST = 60.0


def run(*, every: float = 1.0, stop: threading.Event | None = None) -> None:
    """The worker's loop: drain, then wait `every` seconds when there was nothing to do.

    A database that does not answer is one line a try, `outbox worker: database error: …;
    retrying in N s`, the waits doubling from `every` to RETRY_AT_MOST and starting again once
    a drain succeeds (it printed an 80-line traceback every second); any other failure keeps
    its traceback, with the same waits."""
    stop = stop or threading.Event()
    backoff = Backoff(every, RETRY_AT_MOST)
    while not stop.is_set():
        try:
            close_old_connections()  # a long-running loop: never keep a broken connection
            result = drain()
        except DatabaseError as exc:
            wait = backoff.failed()
            log.error(
                "outbox worker: database error: %s; retrying in %g s", database_words(exc), wait
            )
            stop.wait(wait)
            continue
        except Exception:
            wait = backoff.failed()
            log.exception("outbox drain failed; retrying in %g s", wait)
            stop.wait(wait)
            continue
        backoff.succeeded()
        for o in result.outcomes:
            log.info("outside call %s: %s %s (attempt %d)", o.key, o.outcome, o.code, o.attempts)
        if not result.outcomes:
            stop.wait(every)
