"""`madoguchi outside reconcile`: the insurer's records against ours, and what to do about it.

The insurer's list of registrations (`GET /v1/registrations`, over HTTP, outside any
transaction) is compared with the outbox's insurer calls, read before it (a call answered while
the list is read is judged as it was, pending), matched by the request reference
each registration carries (the call's idempotency key), or by the registration reference the
insurer answered the call with (`already_registered`: the card registered elsewhere first,
under no key of ours):

| ours | the insurer's | finding | action |
|---|---|---|---|
| pending | registered | `answered_not_recorded` (e.g. a worker died between the answer and the update) | marked registered from the insurer's record (flagged, with an incident, if it names the person otherwise than signed) |
| pending, due | none | `not_sent` (never sent, or the send failed) | re-sent now with its key |
| pending, not due | none | `waiting` (in flight, or waiting for its next attempt) | none |
| done | none | `missing_at_insurer` | incident |
| done | registered under its key, another reference than ours | `registration_ref_differs` | incident; a case's suspension asks the insurer nothing |
| refused | registered | `refused_but_registered` | incident |
| none | registered under our prefix | `unknown_to_us` | incident |
| any | two or more under one call's key | `registered_twice` | incident |

A case's suspension (`insurer.cancel_registration` calls, the latest per registration),
matched by the insurer's registration reference:

| ours | the insurer's | finding | action |
|---|---|---|---|
| pending | not held | `suspension_answered_not_recorded` | marked suspended |
| pending, due | still held | `suspension_not_sent` | sent now with its key |
| done (our row suspended) | still held | `suspended_but_registered` | asked again once under a new key, incident; then left open |
| refused | not held | `cancelled_but_not_suspended` | marked suspended |

Running it again finds nothing new to do: incidents are recorded once per call key and
finding. Every action is also an audit event.

Each finding says what it leaves for people (`Finding.left`): nothing (agreement, or repaired
here, or waiting for the worker's next attempt), `new` (an incident recorded by this run, by
reconcile or by the outbox for a call it refused) or `open` (the disagreement stands, its
incident recorded by an earlier run; a re-send the insurer still failed). `Report.exit_code`
makes that the command's exit status, for a cron that only reads it (docs/outside.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.incidents.services import incident_record
from madoguchi.locks import key_lock
from madoguchi.outside import InsurerRecord

from .. import outside
from ..constants import CallState, LinkStatus, SuspensionState
from ..events import BENEFITS_HEALTH_INSURANCE_SUSPENDED, BENEFITS_OUTSIDE_RECONCILED
from ..models import HealthInsuranceRegistration, OutsideCall
from . import outbox

INCIDENT_TEXT = {
    "missing_at_insurer": incident_text.RECONCILE_MISSING_AT_INSURER,
    "refused_but_registered": incident_text.RECONCILE_REFUSED_BUT_REGISTERED,
    "unknown_to_us": incident_text.RECONCILE_UNKNOWN_TO_US,
    "suspended_but_registered": incident_text.RECONCILE_SUSPENDED_BUT_REGISTERED,
    "registered_twice": incident_text.RECONCILE_REGISTERED_TWICE,
    "registration_ref_differs": incident_text.RECONCILE_REGISTRATION_REF_DIFFERS,
}
# The finding of a done call whose registration reference (ours, which a case's suspension
# names to the insurer) is not the one the insurer holds under the call's key; its incident
# stops a case's suspension (`remediation.health_insurance_ref_disputed`).
REF_DIFFERS = "registration_ref_differs"


# Exit statuses of `madoguchi outside reconcile` (1: the insurer could not be read, nothing
# compared, or the database failed during the run, `Interrupted`; 2: argparse's usage error).
EXIT_AGREED = 0
EXIT_NEW_INCIDENTS = 3
EXIT_STILL_OPEN = 4

NEW = "new"
OPEN = "open"


@dataclass
class Finding:
    key: str
    finding: str
    action: str
    left: str = ""  # "", NEW or OPEN: what the finding leaves for people

    def line(self) -> str:
        return f"{self.finding:24} {self.key}  -> {self.action}"


@dataclass
class Report:
    calls: int = 0
    insurer_records: int = 0
    findings: list[Finding] = field(default_factory=list)
    checking: str = ""  # the key of the call being checked (and perhaps re-sent) just now

    @property
    def disagreements(self) -> list[Finding]:
        return [f for f in self.findings if f.finding != "waiting"]

    @property
    def left(self) -> list[Finding]:
        """The findings this run could not settle (an incident new or still open)."""
        return [f for f in self.findings if f.left]

    @property
    def exit_code(self) -> int:
        lefts = {f.left for f in self.findings}
        if NEW in lefts:
            return EXIT_NEW_INCIDENTS
        return EXIT_STILL_OPEN if OPEN in lefts else EXIT_AGREED


class Interrupted(Exception):
    """The database failed during a run that had begun to act: `report` holds what it did
    before (its findings, each acted on) and the call it was checking then (`report.checking`),
    which it may have re-sent to the insurer without recording the answer."""

    def __init__(self, report: Report) -> None:
        super().__init__(report.checking)
        self.report = report


def reconcile(now: datetime | None = None) -> Report:
    """Compare, repair, report (the module's tables). A database error once the run has begun
    to act is `Interrupted`, carrying what was done; before that, the error as it is (nothing
    was changed)."""
    now = now or timezone.now()
    report = Report()
    try:
        _reconcile(report, now)
    except DatabaseError as exc:
        if report.findings or report.checking:
            raise Interrupted(report) from exc
        raise
    return report


def _reconcile(report: Report, now: datetime) -> None:
    # Our rows before the insurer's list: a call the worker answers while the list is read is
    # judged as it was before (pending), and the outbox then leaves it alone as answered. Read
    # after the list, it looked done and missing at the insurer (a false HIGH incident), or a
    # cancellation done and still held (asked again under a new key).
    calls = list(
        OutsideCall.objects.filter(kind=outbox.REGISTER_USE)
        .select_related("registration")
        .order_by("pk")
    )
    cancellations = _latest_cancellations()
    records = outside.systems().insurer.registrations()
    # The insurer's registrations by the request reference we sent (the call's key): a list,
    # for an insurer that registered one call twice must be noticed, not collapsed.
    ours: dict[str, list[InsurerRecord]] = {}
    for r in records:
        if r.request_ref and r.request_ref.startswith(outbox.KEY_PREFIX):
            ours.setdefault(r.request_ref, []).append(r)
    held = {r.registration_ref: r for r in records}
    compared = {r.registration_ref for rows in ours.values() for r in rows}
    known: set[str] = set()
    for call in calls:
        report.calls += 1
        known.add(call.key)
        under_key = ours.get(call.key, [])
        record = _record_of(call, under_key, held)
        if record is not None:
            compared.add(record.registration_ref)  # also one matched by its answered reference
        report.checking = call.key
        _noted(report, _check(call, record, now))
        if len(under_key) > 1:
            report.findings.append(_twice(call, under_key))
    for key in _unknown(set(ours) - known):
        report.findings.append(_incident(key, "unknown_to_us", None, ours[key][0]))
    for call in cancellations:
        report.calls += 1
        record = held.get(call.payload.get("registration_ref", ""))
        report.checking = call.key
        _noted(report, _check_cancel(call, record, now))
    report.insurer_records = len(compared)


def _noted(report: Report, finding: Finding | None) -> None:
    """The checked call's finding, if any; `report.checking` (set while it was checked: it may
    have been re-sent) cleared."""
    if finding is not None:
        report.findings.append(finding)
    report.checking = ""


def _unknown(keys: set[str]) -> list[str]:
    """The keys under our prefix the insurer holds and we have no call for, even now: a call
    committed and sent after our rows were read is ours."""
    ours = set(OutsideCall.objects.filter(key__in=keys).values_list("key", flat=True))
    return sorted(keys - ours)


def _at(now: datetime) -> datetime:
    """The time to claim and record a call with: the current time (a run may have lasted
    longer than a lease since it began), or the run's `now` if later (a run judged as of a
    later time)."""
    return max(now, timezone.now())


def _record_of(
    call: OutsideCall, under_key: list[InsurerRecord], held: dict[str, InsurerRecord]
) -> InsurerRecord | None:
    """The insurer's registration of `call`: the one carrying its key as request reference, or
    the one whose reference the insurer answered (`already_registered`: the resident had
    registered the card elsewhere first, under no key of ours)."""
    answered = str((call.result or {}).get("registration_ref") or "")
    for record in under_key:
        if record.registration_ref == answered:
            return record
    if under_key:
        return under_key[0]
    return held.get(answered) if answered else None


def _twice(call: OutsideCall, under_key: list[InsurerRecord]) -> Finding:
    """The insurer holds more than one registration for our one request (it did not honour the
    idempotency key): people ask it to cancel the extra one."""
    refs = sorted(r.registration_ref for r in under_key)
    return _incident(call.key, "registered_twice", call, under_key[0], refs=refs)


def _latest_cancellations() -> list[OutsideCall]:
    """Each registration's latest cancellation call (an earlier one was superseded by it)."""
    latest: dict[int, OutsideCall] = {}
    for call in OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).order_by("pk"):
        if call.cancels_id is not None:
            latest[call.cancels_id] = call
    return list(latest.values())


def _check_cancel(call: OutsideCall, record: InsurerRecord | None, now: datetime) -> Finding | None:
    if call.state == CallState.PENDING:
        if record is None:
            answer = outbox.Answer(
                "cancelled", ref=str(call.payload.get("registration_ref", "")), status="cancelled"
            )
            done = outbox.record(call, answer, _at(now))
            if done.outcome == "skipped":
                return None
            return _audited(call.key, "suspension_answered_not_recorded", "marked suspended")
        if call.next_attempt_at <= now:
            done = outbox.process(call.pk, _at(now))
            if done.outcome == "skipped":
                return None
            action = f"sent: {done.outcome} {done.code}".strip()
            return _audited(call.key, "suspension_not_sent", action, _left(done))
        return Finding(
            call.key,
            "waiting",
            f"next attempt at {timezone.localtime(call.next_attempt_at):%H:%M:%S %Z}",
        )
    if call.state == CallState.DONE and record is not None:
        return _ask_again(call, record, now)
    if call.state == CallState.REFUSED and record is None:
        return _mark_suspended(call, _at(now))
    return None


def _cancelled(call: OutsideCall) -> int:
    if call.cancels_id is None:  # `_latest_cancellations` lists only calls that name one
        raise ValueError(f"outside call {call.key} names no registration")
    return call.cancels_id


def _ask_again(call: OutsideCall, record: InsurerRecord, now: datetime) -> Finding | None:
    """Our row is suspended, the insurer still holds the registration: ask again once, under a
    new key (the old key would only replay the first answer), with an incident. If the insurer
    goes on holding it after that second request too, the finding stays open for people (the
    incident recorded once): a new request each run only piled up calls and incidents."""
    first = str(call.payload.get("again_of") or "")
    if first:  # reconcile's own second request: asked twice already, people settle it
        suspended = HealthInsuranceRegistration.objects.get(pk=_cancelled(call))
        return _incident(first, "suspended_but_registered", None, record, suspended=suspended)
    with transaction.atomic():
        reg = HealthInsuranceRegistration.objects.select_for_update().get(pk=_cancelled(call))
        latest = reg.cancel_calls.order_by("-pk").first()
        if latest is None or latest.pk != call.pk:
            return None  # another run asked again meanwhile
        finding = _incident(call.key, "suspended_but_registered", None, record, suspended=reg)
        if finding.left != NEW:
            return finding
        again = outbox.enqueue_cancellation(
            reg,
            actor=None,
            case_ref=str(call.payload.get("case", "")),
            reason=str(call.payload.get("reason", "")),
            again_of=call.key,
        )
    done = outbox.process(again.pk, _at(now))
    finding.action = f"{finding.action}; asked again ({again.key}): {done.outcome} {done.code}"
    finding.action = finding.action.strip()
    return finding


def _mark_suspended(call: OutsideCall, now: datetime) -> Finding | None:
    """The insurer no longer holds a registration whose suspension it refused (it cancelled it
    since, e.g. on the official's phone call): our row follows the insurer."""
    with transaction.atomic():
        reg = HealthInsuranceRegistration.objects.select_for_update().get(pk=_cancelled(call))
        if reg.suspension == SuspensionState.SUSPENDED:
            return None
        reg.suspension = SuspensionState.SUSPENDED
        if reg.status == LinkStatus.EFFECTIVE:
            reg.status = LinkStatus.SUSPENDED
            reg.status_changed_at = now
        reg.save(update_fields=["suspension", "status", "status_changed_at"])
        audit.record(
            BENEFITS_HEALTH_INSURANCE_SUSPENDED,
            subject=reg,
            payload={"insurer": reg.insurer_number, "case": call.payload.get("case", "")},
        )
    return _audited(call.key, "cancelled_but_not_suspended", "marked suspended")


def _check(call: OutsideCall, record: InsurerRecord | None, now: datetime) -> Finding | None:
    if call.state == CallState.PENDING:
        if record is not None:
            # The insurer holds it under our key: our row follows the insurer, registered (a
            # record of another person than signed is flagged for an official, never told to
            # the resident as not registered).
            answer = outbox.registered(
                call, record.registration_ref, "registered", record.insured_name_kana
            )
            done = outbox.record(call, answer, _at(now))
            if done.outcome == "skipped":  # a worker recorded it meanwhile
                return None
            action = f"marked {done.outcome} {done.code}".strip()
            return _audited(call.key, "answered_not_recorded", action, _left(done))
        if call.next_attempt_at <= now:
            done = outbox.process(call.pk, _at(now))
            if done.outcome == "skipped":
                return None
            action = f"re-sent: {done.outcome} {done.code}".strip()
            return _audited(call.key, "not_sent", action, _left(done))
        return Finding(
            call.key,
            "waiting",
            f"next attempt at {timezone.localtime(call.next_attempt_at):%H:%M:%S %Z}",
        )
    if call.state == CallState.DONE and record is None:
        reg = call.registration
        if reg is not None and (reg.status != LinkStatus.EFFECTIVE or reg.suspension):
            return None  # a case asked the insurer to cancel it: checked with that call below
        return _incident(call.key, "missing_at_insurer", call, None)
    if call.state == CallState.DONE and record is not None:
        ours = held_reference(call)
        if ours and ours != record.registration_ref:
            return _ref_differs(call, record, ours)
    if call.state == CallState.REFUSED and record is not None:
        return _incident(call.key, "refused_but_registered", call, record)
    return None


def held_reference(call: OutsideCall) -> str:
    """The insurer's registration reference we hold for a done call: its registration's (the
    one a case's suspension asks the insurer to cancel), else the call's answer."""
    reg = call.registration
    if reg is not None and reg.registration_ref:
        return reg.registration_ref
    return str((call.result or {}).get("registration_ref") or "")


def _ref_differs(call: OutsideCall, record: InsurerRecord, ours: str) -> Finding:
    """The insurer holds our request (its key) as another registration than the reference we
    recorded from its answer (a garbled answer, a gateway's mix-up). Matched by the key alone,
    it was agreement, exit 0, and a case's suspension then asked the insurer to cancel the
    registration our reference names, perhaps another person's (side doors, round 22)."""
    finding = _incident(call.key, REF_DIFFERS, call, record, ours=ours)
    said = (
        f"madoguchi holds the insurer's reference {ours}, the insurer holds this request as "
        f"{record.registration_ref}; a case's suspension asks the insurer nothing until it is "
        "settled with the insurer"
    )
    finding.action = f"{finding.action}: {said}"
    return finding


def _left(done: outbox.Outcome) -> str:
    """What an outbox call's outcome leaves for people: a refused call's incident (the outbox
    records it) is new, and so is a registered one's flagged for an official (the insurer's
    record of another person than signed); a call still to retry is open; a done one,
    nothing."""
    if done.outcome == "registered" and done.code:
        return NEW
    return {"refused": NEW, "retry": OPEN}.get(done.outcome, "")


def _audited(key: str, finding: str, action: str, left: str = "") -> Finding:
    with transaction.atomic():
        audit.record(
            BENEFITS_OUTSIDE_RECONCILED,
            subject=("benefits.outsidecall", key),
            payload={"key": key, "finding": finding, "action": action},
        )
    return Finding(key, finding, action, left)


# The lock space of a call key's lock (the bytes "reco"), `madoguchi.locks.key_lock`.
_KEY_LOCK_SPACE = 0x7265636F


def _incident(
    key: str,
    finding: str,
    call: OutsideCall | None,
    record: InsurerRecord | None,
    *,
    refs: list[str] | None = None,
    suspended: HealthInsuranceRegistration | None = None,
    ours: str = "",
) -> Finding:
    """Record the finding's incident once per call key. A registration call's incident is its
    desk's (the visit that registered it); a case's suspension's (`suspended`) is the city's,
    as the outbox records the insurer's refusal of it (`outbox.suspension_organisation`); one
    with neither (a registration at the insurer this server never asked for) names no
    resident and no city."""
    reg = call.registration if call is not None else None
    visit = reg.visit if reg is not None else None
    organisation = outbox.suspension_organisation(suspended) if suspended is not None else None
    params = {"ours": ours, "theirs": record.registration_ref if record else ""} if ours else {}
    summary, text = incident_text.sentence(INCIDENT_TEXT[finding], **params)
    with transaction.atomic():
        # The check and the record as one step: two runs at once (an overlapping timer, a run
        # by hand) record the incident once (side doors, round 5).
        key_lock(_KEY_LOCK_SPACE, key)
        if Incident.objects.filter(reason_code=f"reconcile_{finding}", detail__key=key).exists():
            return Finding(key, finding, "incident already recorded", OPEN)
        incident_record(
            kind=IncidentKind.OUTSIDE_FAILURE,
            reason_code=f"reconcile_{finding}",
            severity=Severity.HIGH,
            summary=summary,
            visit=visit,
            staff=visit.staff if visit is not None else None,
            organisation=organisation,
            detail={
                "key": key,
                "finding": finding,
                "registration_ref": record.registration_ref if record else None,
                "insurer": record.insurer_number if record else None,
                **({"registration_refs": refs} if refs else {}),
                **({"ours": ours} if ours else {}),
                "text": text,
            },
        )
        audit.record(
            BENEFITS_OUTSIDE_RECONCILED,
            subject=("benefits.outsidecall", key),
            payload={"key": key, "finding": finding, "action": "incident recorded"},
        )
    return Finding(key, finding, "incident recorded", NEW)
