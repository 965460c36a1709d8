"""Writes of the resident page: card sign-in, the session bound to that certificate and its
end, page reads (audited), "this was not me" reports, notice letters, completion emails.

The resident authenticates with the same Web eID-format token as at a desk, but over this
page's own challenge (`SignInChallenge`, bound to the browser session) and its own origin
(`settings.RESIDENT_ORIGIN`): a token made for a desk can never sign in here, nor the reverse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.audit import selectors as audit_selectors
from madoguchi.audit import services as audit
from madoguchi.audit import throttle
from madoguchi.cases import remedy
from madoguchi.cases import selectors as case_selectors
from madoguchi.cases import text as case_text
from madoguchi.cases.constants import CaseStatus, Channel, Party, Programme
from madoguchi.cases.models import Case
from madoguchi.cases.services import case_open, case_report_added
from madoguchi.dates import zone_words
from madoguchi.era import format_era_time, format_local_time
from madoguchi.identity.models import Holder, HolderCertificate
from madoguchi.identity.services import IdentityRefused, build_validator, nonce_shaped
from madoguchi.identity.tokens import NonceRecord, TokenValidationError, generate_nonce
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.language import english
from madoguchi.once import services as once
from madoguchi.plaintext import bad_character, blank, long_number
from madoguchi.refusals import Refusal, Text

from . import selectors
from .constants import REPORTED_BY, EndReason, ItemKind, NotMeReason
from .events import (
    CHALLENGE_ISSUED,
    COMPLETION_EMAILED,
    NOT_ME_REPORTED,
    PAGE_VIEWED,
    SESSION_ENDED,
    SIGN_IN_REFUSED,
    SIGNED_IN,
)
from .models import NotMeReport, ResidentSession, SignInChallenge


class ResidentRefused(Refusal):
    """A refusal of the resident page's own."""

    code = "resident_refused"
    message = _("The resident page refused this.")
    status = 400
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        "challenge_unknown": (_("This sign-in challenge was never issued; start again."), 403),
        "challenge_other_session": (
            _("This sign-in challenge was issued to another screen; start again."),
            403,
        ),
        "challenge_rate": (
            _("Too many sign-in attempts from this computer; wait a minute and try again."),
            429,
        ),
        "item_not_found": (_("No such record."), 404),
        "reason_required": (_("Choose a reason."), 400),
        "email_limit": (
            _(
                "This completion's notice was already sent %(count)s times; nothing was sent. "
                "The resident can see it on their own page."
            ),
            429,
        ),
        "comment_not_allowed": (
            _(
                "The comment contains characters that cannot be accepted (control characters "
                "or broken characters). Nothing was sent; write it again."
            ),
            400,
        ),
        "comment_too_long": (
            _(
                "The comment is longer than %(limit)s characters (it has %(count)s). Nothing "
                "was sent; shorten it and send it again."
            ),
            400,
        ),
        "comment_number": (
            _(
                "The comment contains a long number (an individual number, an account number "
                "or a payment service ID). Do not write numbers here: the city asks for what "
                "it needs. Nothing was sent; write it again without the number."
            ),
            400,
        ),
    }


def in_resident_words(exc: Refusal) -> Refusal:
    """A sign-in refusal (the page's own or identity's) with the same code and status and the
    sentence a resident reads on the sign-in page: the token library's and the server's own
    sentences speak of challenges, formats and origins, which say nothing to a resident about
    what to do next."""
    if exc.code in ResidentRefused.messages and exc.code not in SIGN_IN_TEXT_OF:
        return exc  # the page's own refusals already say it plainly (challenge_rate)
    text = RESIDENT_SIGN_IN_TEXTS[SIGN_IN_TEXT_OF.get(exc.code, "card_not_checked")]
    return ResidentRefused(
        exc.code,
        text,
        status=exc.status,
        detail=exc.detail,
        params={"call_centre": settings.RESIDENT_CALL_CENTRE},
    )


# What a resident reads when the sign-in is refused, by the refusal's code (the audit event
# keeps the code itself). Anything not listed reads "card_not_checked".
RESIDENT_SIGN_IN_TEXTS: Mapping[str, Text] = {
    "start_again": _(
        "The check took too long or was started on another screen, so it has to be done "
        'again. Press "Confirm with my card" once more.'
    ),
    "certificate_expired": _(
        "Your card's electronic certificate has expired, so your records cannot be shown. "
        "Renew it at your city or town office, then try again."
    ),
    "certificate_not_yet_valid": _(
        "Your card's electronic certificate cannot be used yet. Try again later; if this "
        "goes on, ask at your city or town office."
    ),
    "certificate_revoked": _(
        "Your card's electronic certificate can no longer be used, so your records cannot be "
        "shown. Ask at your city or town office."
    ),
    "revocation_unknown": _(
        "Your card cannot be checked at the moment. Wait a few minutes and try again."
    ),
    "not_a_my_number_card": _(
        "This card cannot be used to see your records. Put your own My Number card on the "
        "reader and try again."
    ),
    "card_not_checked": _(
        "Your card could not be checked. Put it on the reader again and press "
        '"Confirm with my card" once more. If this goes on, call the call centre '
        "(%(call_centre)s)."
    ),
}
SIGN_IN_TEXT_OF: Mapping[str, str] = {
    "challenge_unknown": "start_again",
    "challenge_other_session": "start_again",
    "nonce_unknown": "start_again",
    "nonce_other_session": "start_again",
    "nonce_wrong_purpose": "start_again",
    "nonce_missing": "start_again",
    "nonce_used": "start_again",
    "nonce_expired": "start_again",
    "nonce_wrong": "start_again",
    "challenge_mismatch": "start_again",
    "certificate_expired": "certificate_expired",
    "certificate_not_yet_valid": "certificate_not_yet_valid",
    "certificate_revoked": "certificate_revoked",
    "revocation_unknown": "revocation_unknown",
    "certificate_wrong_key_usage": "not_a_my_number_card",
    "certificate_wrong_policy": "not_a_my_number_card",
    "ca_not_trusted": "not_a_my_number_card",
    "ca_not_yet_valid": "not_a_my_number_card",
    "ca_expired": "not_a_my_number_card",
}


def resident_origin() -> str:
    """The origin the resident page's card tokens are signed over."""
    return str(settings.RESIDENT_ORIGIN or settings.MADOGUCHI_ORIGIN)


def resident_agent_origin() -> str:
    return str(settings.RESIDENT_AGENT_ORIGIN or settings.CARD_AGENT_ORIGIN)


def _hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


# --- sign-in --------------------------------------------------------------------------------


def challenge_issue(*, session_key: str, source: str = "local") -> SignInChallenge:
    """A sign-in challenge for this browser session. Unauthenticated, so limited per client
    address (``RESIDENT_CHALLENGES_PER_MINUTE``) and audited through the rate-limited path: the
    first of a minute is an event, repeats are tallied into one summary event."""
    now = timezone.now()
    if (
        throttle.count_this_minute(CHALLENGE_ISSUED, source=source, now=now)
        >= settings.RESIDENT_CHALLENGES_PER_MINUTE
    ):
        raise ResidentRefused.of("challenge_rate")
    with transaction.atomic():
        challenge = SignInChallenge.objects.create(
            value=generate_nonce(),
            session_key_hash=_hash(session_key),
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.NONCE_LIFETIME_SECONDS),
        )
        throttle.record_unauthenticated(CHALLENGE_ISSUED, source=source, subject=challenge, now=now)
    return challenge


def _spend(value: str, session_key: str) -> NonceRecord:
    """Mark the challenge used (committed at once, whatever the token turns out to be)."""
    if not nonce_shaped(value):  # not one of ours; a NUL would be a 500 in PostgreSQL
        raise ResidentRefused.of("challenge_unknown")
    with transaction.atomic():
        challenge = SignInChallenge.objects.select_for_update().filter(value=value).first()
        if challenge is None:
            raise ResidentRefused.of("challenge_unknown")
        record = NonceRecord(
            value=challenge.value,
            issued_at=challenge.issued_at,
            expires_at=challenge.expires_at,
            used=challenge.used_at is not None,
        )
        if challenge.used_at is None:
            challenge.used_at = timezone.now()
            challenge.save(update_fields=["used_at"])
    if challenge.session_key_hash != _hash(session_key):
        raise ResidentRefused.of("challenge_other_session")
    return record


def _refused(exc: Refusal) -> Refusal:
    with transaction.atomic():
        audit.record(
            SIGN_IN_REFUSED,
            actor=None,
            terminal=None,
            subject=("residents.page", "sign-in"),
            payload={"code": exc.code, "detail": exc.detail[:300]},
        )
    return exc


def sign_in(
    *, token: str, nonce: str, session_key: str, kiosk: bool = False, terminal: Any = None
) -> ResidentSession:
    """Validate the card token over this page's challenge and origin; open a session bound to
    the certificate. A certificate no desk has seen yet signs in to an empty page. Refused
    (audited) with the page's own refusal or identity's, as raised."""
    try:
        record = _spend(nonce, session_key)
        validated = build_validator().validate_authentication(
            token,
            origin=resident_origin(),
            nonce=record,
            now=timezone.now(),
            # only to name a refusal: a token signed for the desk pages
            alternative_origins=[settings.MADOGUCHI_ORIGIN],
        )
    except TokenValidationError as exc:
        raise _refused(IdentityRefused(str(exc.code), exc.detail)) from exc
    except (IdentityRefused, ResidentRefused) as exc:
        raise _refused(exc) from exc
    cert = HolderCertificate.objects.filter(fingerprint=validated.fingerprint_sha256).first()
    now = timezone.now()
    with transaction.atomic():
        session = ResidentSession.objects.create(
            fingerprint=validated.fingerprint_sha256,
            holder=cert.holder if cert is not None else None,
            kiosk=kiosk,
            terminal=terminal,
            started_at=now,
            last_activity_at=now,
            last_seen_at=now,
        )
        audit.record(
            SIGNED_IN,
            actor=None,
            terminal=None,
            subject=session.holder if session.holder is not None else session,
            payload={
                "session": str(session.public_id)[:8],
                "kiosk": kiosk,
                "terminal": terminal.name if terminal is not None else None,
            },
        )
    return session


# --- the session: bound to the certificate, ends on removal or 2 minutes idle -----------------


def lapse(session: ResidentSession, now: datetime) -> tuple[EndReason, datetime] | None:
    idle = session.last_activity_at + timedelta(seconds=settings.RESIDENT_IDLE_SECONDS)
    seen = session.last_seen_at + timedelta(seconds=settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS)
    # However active and present: the page's heartbeat is the page's word where no terminal's
    # agent reports the card (a resident's own computer), so a session lasts no longer than this.
    limit = session.started_at + timedelta(seconds=settings.RESIDENT_ABSOLUTE_SECONDS)
    lapses = [
        (idle, EndReason.IDLE),
        (seen, EndReason.PRESENCE_LOST),
        (limit, EndReason.ABSOLUTE_LIMIT),
    ]
    when, reason = min(lapses, key=lambda x: x[0])
    return (reason, when) if when <= now else None


def _end_locked(
    session: ResidentSession, reason: EndReason, when: datetime, *, reported_by: Any = None
) -> None:
    session.ended_at = when
    session.end_reason = reason
    session.save(update_fields=["ended_at", "end_reason"])
    payload: dict[str, Any] = {"session": str(session.public_id)[:8], "reason": str(reason)}
    if reported_by is not None:
        payload["reported_by"] = "card_agent"
    audit.record(
        SESSION_ENDED,
        actor=None,
        terminal=reported_by,
        subject=session.holder if session.holder is not None else session,
        payload=payload,
    )


def session_current(public_id: str | None, *, activity: bool = False) -> ResidentSession | None:
    """The open session, after applying its time limits; `activity` marks a resident action
    (a page, a report), which restarts the 2-minute idle limit."""
    if not public_id:
        return None
    now = timezone.now()
    with transaction.atomic():
        session = (
            ResidentSession.objects.select_for_update(of=("self",))
            .select_related("holder")
            .filter(public_id=public_id, ended_at__isnull=True)
            .first()
        )
        if session is None:
            return None
        lapsed = lapse(session, now)
        if lapsed is not None:
            _end_locked(session, lapsed[0], lapsed[1])
            return None
        if activity:
            session.last_activity_at = now
            session.save(update_fields=["last_activity_at"])
    return session


def session_end_reason(public_id: str | None) -> str:
    """Why this browser's session ended (`EndReason`), "" when there is no such ended
    session: the start page says it ("closed after N minutes without any action"), where a
    page opened after the end said only that the page was closed."""
    if not public_id:
        return ""
    found = (
        ResidentSession.objects.filter(public_id=public_id, ended_at__isnull=False)
        .values_list("end_reason", flat=True)
        .first()
    )
    return str(found or "")


def heartbeat(session: ResidentSession, *, fingerprint: str | None, active: bool = False) -> bool:
    """The page reports what the card agent sees; another card or none ends the session.
    `active`: the resident clicked, typed, scrolled or touched the page since the last
    heartbeat (writing a "not me" comment loads no page), which restarts the idle limit as a
    page view does. Returns whether the session is still open."""
    now = timezone.now()
    with transaction.atomic():
        row = ResidentSession.objects.select_for_update().get(pk=session.pk)
        if row.ended_at is not None:
            return False
        lapsed = lapse(row, now)
        if lapsed is not None:
            _end_locked(row, lapsed[0], lapsed[1])
            return False
        if fingerprint != row.fingerprint:
            _end_locked(row, EndReason.CARD_REMOVED, now)
            return False
        row.last_seen_at = now
        if active:
            row.last_activity_at = now
        row.save(update_fields=["last_seen_at", "last_activity_at"] if active else ["last_seen_at"])
    return True


def card_reported(
    *, terminal: Any, kind: str, cert_fingerprint: str | None, observed_at: datetime
) -> list[ResidentSession]:
    """A terminal's card agent reported a card event (and no desk visit was open there): end,
    server-side, the resident sessions that card event rules out, whatever their page does.

    - `removed` of a card: every open session of that card (it was in this reader, so it is
      in no other) and every session bound to this terminal (a kiosk);
    - `presence` with no card, or with another card: the sessions bound to this terminal whose
      card it is not.

    Only sessions started before the agent saw it (a report delivered late says nothing about a
    sign-in made after). Returns the sessions ended.

    The common answer is "none" (a desk's agent reports the card before the visit starts and
    after it ends, every 2 s, where no resident page is open): that is found in one hand-written
    statement outside any transaction (issue 15, twelfth round: the ORM's locked query and its
    transaction on every such report); only when it finds an open session are the sessions
    locked, read again and ended as before."""
    bound = Q(terminal=terminal)
    if kind == "removed":
        which = bound | Q(fingerprint=cert_fingerprint) if cert_fingerprint else bound
    elif kind == "presence":
        which = bound & ~Q(fingerprint=cert_fingerprint) if cert_fingerprint else bound
    else:
        return []
    if not _any_open(kind, terminal, cert_fingerprint, observed_at):
        return []
    now = timezone.now()
    ended = []
    with transaction.atomic():
        rows = (
            ResidentSession.objects.select_for_update(of=("self",))
            .select_related("holder")
            .filter(which, ended_at__isnull=True, started_at__lte=observed_at)
            .order_by("pk")
        )
        for row in list(rows):  # every row locked before the first audit record
            _end_locked(row, EndReason.CARD_REMOVED, now, reported_by=terminal)
            ended.append(row)
    return ended


def _any_open(
    kind: str, terminal: Any, cert_fingerprint: str | None, observed_at: datetime
) -> bool:
    """Whether `card_reported` may have a session to end: the conditions of its locked query,
    in one statement without a lock (the locked query reads them again)."""
    if kind == "removed" and cert_fingerprint:
        which, params = "(terminal_id = %s OR fingerprint = %s)", [terminal.pk, cert_fingerprint]
    elif kind == "presence" and cert_fingerprint:
        which, params = "terminal_id = %s AND fingerprint <> %s", [terminal.pk, cert_fingerprint]
    else:
        which, params = "terminal_id = %s", [terminal.pk]
    table = connection.ops.quote_name(ResidentSession._meta.db_table)  # the model's name
    sql = (
        f"SELECT 1 FROM {table} WHERE {which} "  # noqa: S608 -- every value is a parameter
        "AND ended_at IS NULL AND started_at <= %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, connection.ops.adapt_datetimefield_value(observed_at)])
        return cursor.fetchone() is not None


def session_end(session: ResidentSession, reason: EndReason) -> None:
    with transaction.atomic():
        row = ResidentSession.objects.select_for_update().get(pk=session.pk)
        if row.ended_at is None:
            _end_locked(row, reason, timezone.now())


def page_viewed(session: ResidentSession, page: str, **payload: Any) -> None:
    """Every read of the resident page is audited, with the holder as subject."""
    with transaction.atomic():
        audit.record(
            PAGE_VIEWED,
            actor=None,
            terminal=None,
            subject=session.holder if session.holder is not None else session,
            payload={"page": page, "session": str(session.public_id)[:8], **payload},
        )


# --- "this was not me" ----------------------------------------------------------------------

RESIDENT_PAGE_USERNAME = "resident-page"


def _resident_page_user() -> User:
    """The system account that opens intakes reported on the resident page (cannot sign in)."""
    user, created = User.objects.get_or_create(
        username=RESIDENT_PAGE_USERNAME,
        defaults={"display_name": "住民用ページ（本人からの申し出）", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group, _created = Group.objects.get_or_create(name=Role.DESK_STAFF.value)
    user.groups.add(group)
    return user


def _open_visit_report(holder: Any, visit: Any) -> NotMeReport | None:
    """The holder's first report on another record of the same visit whose case is not
    closed: a link and the completion that signed it are one event, so "this was not me" on
    both belongs in one case (the second report is added to it). Each candidate's case row is
    locked before its status is read (and before the audit log's lock): a case an official
    closes meanwhile gets no addition."""
    for report in (
        NotMeReport.objects.select_related("case", "incident")
        .filter(holder=holder, incident__visit=visit)
        .order_by("pk")
    ):
        Case.objects.select_for_update().filter(pk=report.case_id).first()
        if report.case.status != CaseStatus.CLOSED:
            return report
    return None


def first_report_of_case(report: NotMeReport) -> NotMeReport:
    """The first of the same resident's reports in `report`'s case (itself, unless it was
    added to an earlier one of theirs). Never another resident's: a legal representative's
    report of a minor's link joins the minor's case, and neither is told of the other's
    report (that they made one, nor when)."""
    first = (
        NotMeReport.objects.filter(case_id=report.case_id, holder_id=report.holder_id)
        .order_by("pk")
        .first()
    )
    return first or report


# The longest comment a "this was not me" report keeps (NotMeReport.comment's max_length, the
# form's maxlength): a longer one is refused, never cut.
NOT_ME_COMMENT_MAX = 500


def _checked_comment(comment: str) -> str:
    """The resident's comment as kept, or refused saying why (it reaches the case, the
    incident and the report)."""
    if bad_character(comment):  # a NUL was a server error (PostgreSQL cannot store it)
        raise ResidentRefused.of("comment_not_allowed")
    # A browser counts a line break as one character against the form's maxlength and sends it
    # as CR LF: counted (and kept) as one here too.
    comment = comment.replace("\r\n", "\n")
    if len(comment.strip()) > NOT_ME_COMMENT_MAX:  # kept whole or not at all, never cut
        raise ResidentRefused.of(
            "comment_too_long", limit=NOT_ME_COMMENT_MAX, count=len(comment.strip())
        )
    if long_number(comment):
        raise ResidentRefused.of("comment_number")
    # A comment that shows nothing (white space, U+200B, a Hangul filler) is no comment: the
    # case and the incident said 「本人のコメント: 」 and nothing after it.
    return "" if blank(comment) else comment


def not_me_report(
    session: ResidentSession, *, kind: str, item_id: int, reason: str, comment: str = ""
) -> NotMeReport:
    """Record an incident and open a case intake with the item attached; officials see the
    case at once. Only the signed-in holder's own items can be reported."""
    if reason not in NotMeReason.values:
        raise ResidentRefused.of("reason_required")
    comment = _checked_comment(comment)
    holder = session.holder
    item = selectors.own_item(holder, kind, item_id) if holder is not None else None
    if holder is None or item is None:
        raise ResidentRefused.of("item_not_found")
    described = selectors.describe_item(kind, item, terminal_name=True)
    reason_ja = selectors.NOT_ME_REASONS_JA[reason]
    # The case (a Japanese document for the city) keeps the Japanese sentence; the incident
    # keeps its sentence by language (incidents.text), read in the page's language.
    summary = f"本人が住民用ページで「自分ではない」と申し出: {described}。理由: {reason_ja}"
    with translation.override("en"):
        reason_en = str(NotMeReason(reason).label)
    params: dict[str, Any] = {
        "item": incident_text.by_language(
            ja=described, en=selectors.describe_item(kind, item, english=True, terminal_name=True)
        ),
        "reason": incident_text.by_language(ja=reason_ja, en=reason_en),
    }
    if comment.strip():
        # Whole: `_checked_comment` already refused one over NOT_ME_COMMENT_MAX.
        summary += f"。本人のコメント: {comment.strip()}"
        params["comment"] = comment.strip()
    incident_summary, text = incident_text.sentence(
        incident_text.RESIDENT_NOT_ME_COMMENT
        if "comment" in params
        else incident_text.RESIDENT_NOT_ME,
        **params,
    )
    visit = getattr(item, "visit", None)
    # What the case is about: the record reported, or for a whole signed completion the link
    # or registration it committed (its page, findings and steps act on it), if any.
    subject_kind, subject = kind, item
    if kind == ItemKind.COMPLETION:
        programme, subject = remedy.committed_by(item) or (kind, None)
        subject_kind = ItemKind.LINK if programme == Programme.POINTS else programme
    fields = {
        "holder": holder,
        "item_kind": kind,
        "item_id": item.pk,
        "reason": reason,
        "comment": comment.strip(),
    }
    with transaction.atomic():
        # The holder's row serialises two presses at once (row locks before the audit log's).
        Holder.objects.select_for_update().filter(pk=holder.pk).first()
        open_report = selectors.open_not_me_report(holder, kind, item.pk)
        if open_report is not None:  # a second press, or another tab: the case already open
            return open_report
        earlier = _open_visit_report(holder, visit) if visit is not None else None
        if earlier is not None:  # another record of the same visit: one event, one case
            return _add_to_report(
                earlier.case,
                earlier.incident,
                fields,
                described=described,
                reason_ja=reason_ja,
                params=params,
                added_to=str(earlier.public_id)[:8],
                same_visit=True,
            )
        programme = subject_kind if subject_kind in Programme.values else Programme.POINTS
        # The city already works a case about this record (opened from a call, a scan's
        # finding, an incident): the report joins it and its incident, not a second case; a
        # case without an incident of its own gets the complaint's, for the contractor's report.
        city_case = case_selectors.open_case_about(holder, programme, subject)
        incident = city_case.incident if city_case is not None else None
        incident = incident or incident_record(
            kind=IncidentKind.COMPLAINT,
            reason_code="resident_not_me",
            severity=Severity.HIGH,
            summary=incident_summary,
            visit=visit,
            # The staff member who served the visit (the daily report's staff column, which read
            # —); recorded by the resident's page, not by them.
            staff=getattr(visit, "staff", None),
            recorded_by=_resident_page_user(),
            detail={"item": kind, "item_id": item.pk, "reason": reason, "text": text},
        )
        if city_case is not None:
            return _add_to_report(
                city_case,
                incident,
                fields,
                described=described,
                reason_ja=reason_ja,
                params=params,
                added_to=city_case.reference,
                same_visit=False,
            )
        case = case_open(
            actor=_resident_page_user(),
            title="本人からの申し出：身に覚えのない記録",
            resident_label="申し出た本人",
            reported_by=REPORTED_BY,
            summary=summary,
            # The same words' neutral forms, for an official's page in English (cases.text).
            texts={
                "title": case_text.neutral(case_text.NOT_ME_TITLE),
                "resident_label": case_text.neutral(case_text.NOT_ME_RESIDENT),
                "opened_by": case_text.neutral(case_text.NOT_ME_ACTOR),
                "reported_by": case_text.neutral(case_text.NOT_ME_REPORTED_BY),
                "summary": case_text.neutral(
                    case_text.NOT_ME_SUMMARY_COMMENT
                    if "comment" in params
                    else case_text.NOT_ME_SUMMARY,
                    **params,
                ),
            },
            event_date=timezone.localdate(),
            channel=Channel.SYSTEM,
            party=Party.RESIDENT,  # the resident, through the page (a system channel)
            # The report says where it happened as the public reads it (本庁 1階 支援窓口 1番),
            # not the terminal's name.
            desk_location=visit.terminal.place if visit else "",
            terminal=visit.terminal if visit is not None else None,
            holder=holder,
            payment_link=subject if subject_kind == ItemKind.LINK else None,
            # A public-fund account or an insurance registration (the same codes), else points.
            programme=subject_kind if subject_kind in Programme.values else Programme.POINTS,
            # The one reported: the case shows it and its steps act on it.
            registration=subject if subject_kind in Programme.values else None,
            # The complaint incident recorded for this report, kept by the case as an
            # incident's page keeps it (its page links to the case and offers no second one).
            incident=incident,
        )
        report = NotMeReport.objects.create(**fields, incident=incident, case=case)
        _not_me_recorded(report)
    return report


def _add_to_report(
    case: Case,
    incident: Any,
    fields: dict[str, Any],
    *,
    described: str,
    reason_ja: str,
    params: dict[str, Any],
    added_to: str,
    same_visit: bool,
) -> NotMeReport:
    """Inside `not_me_report`'s transaction: the report of a record already under a case (a
    record of a visit already reported, or one the city works a case about), added to that
    case (a note on its timeline) with `incident`."""
    report = NotMeReport.objects.create(**fields, incident=incident, case=case)
    if same_visit:
        summary = (
            f"本人が同じ受付の別の記録についても「自分ではない」と申し出（このケースに追加）: "
            f"{described}。理由: {reason_ja}"
        )
        said, said_comment = case_text.NOT_ME_ADDED, case_text.NOT_ME_ADDED_COMMENT
    else:
        summary = (
            f"本人が住民用ページで、このケースの記録について「自分ではない」と申し出"
            f"（このケースに追加）: {described}。理由: {reason_ja}"
        )
        said, said_comment = case_text.NOT_ME_ON_CASE, case_text.NOT_ME_ON_CASE_COMMENT
    if fields["comment"]:
        summary += f"。本人のコメント: {fields['comment']}"
    case_report_added(
        case,
        actor=_resident_page_user(),
        reported_by=REPORTED_BY,
        summary=summary,
        detail={k: fields[k] for k in ("item_kind", "item_id", "reason")},
        texts={
            "reported_by": case_text.neutral(case_text.NOT_ME_REPORTED_BY),
            "opened_by": case_text.neutral(case_text.NOT_ME_ACTOR),
            "summary": case_text.neutral(
                said_comment if fields["comment"] else said,
                **{**params, "comment": fields["comment"]}
                if fields["comment"]
                else {k: v for k, v in params.items() if k != "comment"},
            ),
        },
    )
    _not_me_recorded(report, added_to=added_to)
    return report


def _not_me_recorded(report: NotMeReport, **extra: Any) -> None:
    audit.record(
        NOT_ME_REPORTED,
        actor=None,
        terminal=None,
        subject=report.holder,
        payload={
            "item": report.item_kind,
            "item_id": report.item_id,
            "case": report.case.reference,
            "incident": report.incident_id,
            **extra,
        },
    )


# --- a signed completion can tell the resident by email ---------------------------------------


def _completion_notice(completion: Any, lang: str) -> tuple[str, str]:
    """The notice e-mail's subject and body, in Japanese or (`lang="en"`) English."""
    lines = [f"  {line}" for line in selectors.signed_lines(completion)]
    committed = timezone.localtime(completion.committed_at)
    if english(lang):
        return "[Notice] Your application at the desk has been confirmed", "\n".join(
            [
                "An application signed with your My Number card has been confirmed.",
                "",
                "What your card signed (in Japanese, as signed):",
                *lines,
                "",
                f"Confirmed at: {format_local_time(committed, japanese=False)} "
                f"({zone_words('en')})",
                "If you did not do this, report it from \u201cThis was not me\u201d on your own "
                "page (My records).",
                f"Call centre: {settings.RESIDENT_CALL_CENTRE}",
            ]
        )
    return "【お知らせ】窓口での手続が確定しました", "\n".join(
        [
            "マイナンバーカードで署名された手続が確定しました。",
            "",
            "署名された内容:",
            *lines,
            "",
            f"確定日時: {format_era_time(committed)}（{zone_words('ja')}）",
            "心当たりがない場合は、住民用ページの「これは自分ではない」からお申し出ください。",
            f"問い合わせ先（コールセンター）: {settings.RESIDENT_CALL_CENTRE}",
        ]
    )


def completion_email(
    completion: Any, address: str, *, actor: Any = None, once_key: str = "", lang: str = "ja"
) -> bool:
    """Tell the resident what their card signed (the exact lines), at an address they gave at
    the desk. The address is used once and not stored. Console backend in the demo.

    At most `RESIDENT_EMAILS_PER_COMPLETION` notices per completion (counted in the audit
    log): the address is free text, so without a limit a desk could send the same notice to
    anyone any number of times.

    `once_key` is the desk form's one-time key: the same form sent again (a double click, the
    back button) sends nothing and returns False; checked once the completion's row is held, so
    two sends at once cannot both pass it before either has sent. True when sent.

    `lang`: the language of the desk's page ("en": the notice in English around the signed
    lines, which stay Japanese as signed)."""
    limit = settings.RESIDENT_EMAILS_PER_COMPLETION
    subject, body = _completion_notice(completion, lang)
    with transaction.atomic():
        # The completion's row is held from the count to the record: two requests at once (a
        # double click, a script's parallel posts) would otherwise both count below the limit.
        type(completion).objects.select_for_update().filter(pk=completion.pk).first()
        # The key is this completion's form's: sent with another completion's form, it is
        # that form's first send.
        target = f"completion {completion.pk} email"
        if once.sent_before(once_key, type(completion), target=target):
            return False
        sent = (
            audit_selectors.events_for_subject(completion)
            .filter(event_id=COMPLETION_EMAILED.id)
            .count()
        )
        if sent >= limit:
            raise ResidentRefused.of("email_limit", detail=f"{sent} sent", count=sent)
        EmailMessage(
            subject=subject,
            body=body,
            from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None),
            to=[address],
        ).send()
        audit.record(
            COMPLETION_EMAILED,
            actor=actor,
            terminal=completion.visit.terminal,
            subject=completion,
            payload={"visit": completion.visit.reference},
        )
        once.remember(once_key, type(completion), completion.pk, target=target)
    return True
