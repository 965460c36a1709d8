"""The resident's own page (/me/): thin views over services and selectors.

Every response is `no-store`; every page read is audited; the session is the one bound to the
certificate that signed in (`services.session_current`), so when it ends nothing is shown."""

from __future__ import annotations

import json
from functools import wraps
from typing import Any, Literal, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.accounts.constants import Role
from madoguchi.audit.throttle import client_source
from madoguchi.benefits.receipts import receipt_pdf
from madoguchi.desk.selectors import desk_completion, shown_at_desk
from madoguchi.identity.access import chosen_reason, reason_required, record_read
from madoguchi.incidents.access import roles_required
from madoguchi.language import english, page_language
from madoguchi.once import services as once
from madoguchi.refusals import Refusal
from madoguchi.terminals.binding import bound_desk_session, current_terminal

from . import notices, selectors, services
from .constants import SESSION_KEY, EndReason, ItemKind, NotMeReason
from .models import ResidentSession

KIOSK_KEY = "resident_kiosk"

_SameSite = Literal["Lax", "Strict", "None", False] | None


def validate_email_address(value: str) -> str:
    value = value.strip()
    validate_email(value)
    return value


def _kiosk(request: HttpRequest) -> bool:
    """Whether this browser is a kiosk: one enrolled as a terminal (`/terminal/enrol/`, a
    durable binding kept by its own cookie) is, whatever its address says; an unenrolled one
    (the demo's second browser) when it asked with `?kiosk=1`, for its browser session. Until
    round 22 only the session's flag counted: `/me/?kiosk=0`, typed by anyone at the kiosk,
    turned it off for the next resident, and so did the browser session's expiry overnight;
    their receipt was then downloaded into the kiosk's downloads and their language kept."""
    return current_terminal(request) is not None or bool(request.session.get(KIOSK_KEY))


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return {}
    return body if isinstance(body, dict) else {}


def _refusal(exc: Refusal) -> JsonResponse:
    """A sign-in refusal as the page shows it: in the resident's words (the code stays)."""
    exc = services.in_resident_words(exc)
    return JsonResponse(exc.as_body(), status=exc.status)


def _base_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "agent_origin": services.resident_agent_origin(),
        "demo": settings.DEMO,
        "kiosk": _kiosk(request),
        "lang": page_language(),
        "idle_seconds": settings.RESIDENT_IDLE_SECONDS,
        "presence_seconds": settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS,
        # The idle limit in whole minutes for the start page's sentence, 0 when it is not.
        "idle_minutes": (
            settings.RESIDENT_IDLE_SECONDS // 60 if settings.RESIDENT_IDLE_SECONDS % 60 == 0 else 0
        ),
        "absolute_minutes": max(1, round(settings.RESIDENT_ABSOLUTE_SECONDS / 60)),
        "call_centre": settings.RESIDENT_CALL_CENTRE,
    }
    ctx.update(extra)
    session = extra.get("session")
    if session is not None:
        # The page closes when this runs out with no heartbeat since (its card agent silent).
        ctx["presence_left"] = selectors.presence_left(session)
    return ctx


def _current(request: HttpRequest, *, activity: bool = False) -> ResidentSession | None:
    """This browser's open resident session. One signed in on a kiosk (a browser bound to a
    terminal) is used only from that kiosk's browser: its session cookie copied elsewhere gets
    nothing."""
    session = services.session_current(request.session.get(SESSION_KEY), activity=activity)
    if session is not None and session.terminal_id is not None:
        terminal = current_terminal(request)
        if terminal is None or terminal.pk != session.terminal_id:
            request._resident_elsewhere = True  # type: ignore[attr-defined]
            return None
    return session


def _forget(request: HttpRequest) -> bool:
    """Drop the ended session from this browser's session (not a kiosk's session seen from
    another browser: that would sign the kiosk out). True when there was one to drop."""
    if getattr(request, "_resident_elsewhere", False):
        return False
    return request.session.pop(SESSION_KEY, None) is not None


def _kiosk_language_reset(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """On a kiosk, a session's end forgets the language its resident chose (the language
    cookie): the next resident gets the kiosk's own, Japanese or its browser's preference.
    Kept, A's English was B's start page and records. A resident's own browser keeps it."""
    if _kiosk(request):
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=cast(_SameSite, settings.LANGUAGE_COOKIE_SAMESITE),
        )
    return response


def signed_in(view: Any) -> Any:
    """The open resident session (a page view is activity); otherwise back to the start."""

    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        session = _current(request, activity=True)
        if session is None:
            # Why it ended (the idle limit, the card taken out, …), as the heartbeat's end says
            # it; a session of another browser (a kiosk's cookie copied) is not told.
            why = (
                ""
                if getattr(request, "_resident_elsewhere", False)
                else services.session_end_reason(request.session.get(SESSION_KEY))
            )
            ended = _forget(request)
            # A form sent after the page closed (a "not me" report): the start page says that
            # nothing was sent, where it said only that the page was closed.
            unsent = "&unsent=1" if request.method == "POST" else ""
            response = redirect(reverse("residents:start") + f"?ended={why or 1}" + unsent)
            return _kiosk_language_reset(request, response) if ended else response
        request.resident_session = session  # type: ignore[attr-defined]
        return view(request, session, *args, **kwargs)

    return wrapper


@require_GET
@never_cache
def start(request: HttpRequest) -> HttpResponse:
    if "kiosk" in request.GET:
        request.session[KIOSK_KEY] = request.GET.get("kiosk") == "1"
    if _current(request) is not None:
        return redirect("residents:records")
    if _forget(request):  # ended on the server (the card agent's report, a limit): a new start
        return _kiosk_language_reset(request, redirect(request.get_full_path()))
    return render(
        request,
        "residents/start.html",
        _base_context(
            request,
            ended=request.GET.get("ended", "") in ("1", *EndReason.values),
            ended_reason=request.GET.get("ended", ""),
            unsent=request.GET.get("unsent") == "1",
        ),
    )


@never_cache
@require_POST
def challenge(request: HttpRequest) -> JsonResponse:
    if not request.session.session_key:
        request.session.save()
    try:
        ch = services.challenge_issue(
            session_key=request.session.session_key or "", source=client_source(request)
        )
    except services.ResidentRefused as exc:
        return _refusal(exc)
    return JsonResponse(
        {
            "nonce": ch.value,
            "origin": services.resident_origin(),
            "expires_in": settings.NONCE_LIFETIME_SECONDS,
        }
    )


@never_cache
@require_POST
def sign_in(request: HttpRequest) -> JsonResponse:
    body = _json_body(request)
    old = _current(request)
    try:
        session = services.sign_in(
            token=str(body.get("token", "")),
            nonce=str(body.get("nonce", "")),
            session_key=request.session.session_key or "",
            kiosk=_kiosk(request),
            terminal=current_terminal(request),
        )
    except Refusal as exc:  # the page's own, or identity's (the token, the challenge)
        return _refusal(exc)
    if old is not None:
        services.session_end(old, EndReason.SUPERSEDED)
    kiosk = request.session.get(KIOSK_KEY)
    request.session.cycle_key()
    request.session[SESSION_KEY] = str(session.public_id)
    request.session[KIOSK_KEY] = kiosk
    return JsonResponse({"next": reverse("residents:records")})


@never_cache
@require_POST
def heartbeat(request: HttpRequest) -> JsonResponse:
    session = _current(request)
    if session is not None:
        body = _json_body(request)
        fp = body.get("fingerprint")
        if services.heartbeat(
            session,
            fingerprint=fp if isinstance(fp, str) else None,
            active=body.get("active") is True,
        ):
            session.refresh_from_db(fields=["last_activity_at"])
            return JsonResponse({"open": True, "fingerprint": session.fingerprint})
    # Ended (by the server: the card agent's report, a time limit): the page says why.
    reason = (
        ""
        if getattr(request, "_resident_elsewhere", False)
        else selectors.end_reason(request.session.get(SESSION_KEY))
    )
    return JsonResponse({"open": False, "reason": reason or "ended"}, status=401)


@never_cache
@require_POST
def end(request: HttpRequest) -> HttpResponse:
    reason = _json_body(request).get("reason") or request.POST.get("reason") or "signed_out"
    # The page's own reasons: the card gone, Finish, its idle timer, and its agent silent for
    # the presence limit (the server counts that ended too).
    page_reasons = (
        EndReason.CARD_REMOVED,
        EndReason.SIGNED_OUT,
        EndReason.IDLE,
        EndReason.PRESENCE_LOST,
    )
    if reason not in page_reasons:
        reason = EndReason.SIGNED_OUT
    session = _current(request)
    if session is not None:
        services.session_end(session, EndReason(reason))
    _forget(request)
    target = reverse("residents:start") + f"?ended={reason}"
    response: HttpResponse = (
        JsonResponse({"next": target})
        if request.content_type == "application/json"
        else redirect(target)
    )
    return _kiosk_language_reset(request, response)


def _records_context(request: HttpRequest, session: ResidentSession) -> dict[str, Any]:
    lang = page_language()
    return _base_context(
        request,
        session=session,
        records=selectors.records(session.holder, lang),
        history=selectors.access_history(session.holder),
        fingerprint=session.fingerprint,
        pdf_in_page=session.kiosk,
    )


@signed_in
@require_GET
def records(request: HttpRequest, session: ResidentSession) -> HttpResponse:
    services.page_viewed(session, "records")
    response = render(request, "residents/records.html", _records_context(request, session))
    if session.kiosk:  # its receipts and letters are shown in a frame of this origin (`_pdf`)
        setattr(response, "_csp_update", {"frame-src": ["'self'"]})  # noqa: B010
    return response


def _pdf_alone(request: HttpRequest, session: ResidentSession, anchor: str) -> HttpResponse | None:
    """A kiosk's receipt or letter loaded as a page of its own (`Sec-Fetch-Dest: document`: a
    new tab, a link followed without the page's script): the records page at its record, which
    closes with the card; nothing is rendered or shown. Served as a page, chromium's PDF viewer
    took the page's place with no script watching the card, and the first resident's receipt
    stayed on the screen for the next one (docs/resident.md, "Receipts and letters on a
    kiosk")."""
    if session.kiosk and request.headers.get("Sec-Fetch-Dest") == "document":
        return redirect(reverse("residents:records") + f"#{anchor}")
    return None


def _pdf(session: ResidentSession, content: bytes, filename: str) -> HttpResponse:
    """A receipt or a letter as the resident's device should have it: on a kiosk shown inside
    the records page (a frame of this origin, which the page's script removes with the card),
    on the resident's own device downloaded (the records page stays, still watching the card)."""
    response = HttpResponse(content, content_type="application/pdf")
    if session.kiosk:
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        response["X-Frame-Options"] = "SAMEORIGIN"
        setattr(response, "_csp_replace", {"frame-ancestors": ["'self'"]})  # noqa: B010
    else:
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@signed_in
@require_GET
def receipt(request: HttpRequest, session: ResidentSession, completion_id: int) -> HttpResponse:
    completion = selectors.own_completion(session.holder, completion_id)
    if completion is None:
        raise Http404("No such receipt.")
    alone = _pdf_alone(request, session, f"{ItemKind.COMPLETION}-{completion.pk}")
    if alone is not None:
        return alone
    services.page_viewed(session, "receipt", completion=completion.pk)
    return _pdf(
        session,
        receipt_pdf(completion, page_language()),
        f"receipt-{completion.visit.reference}.pdf",
    )


@signed_in
@require_GET
def notice(request: HttpRequest, session: ResidentSession, notice_id: int) -> HttpResponse:
    row = selectors.own_notice(session.holder, notice_id)
    if row is None:
        raise Http404("No such notice.")
    alone = _pdf_alone(request, session, "h-cases")
    if alone is not None:
        return alone
    services.page_viewed(session, "notice", notice=row.pk)
    return _pdf(session, notices.notice_pdf(row), f"notice-{row.case.reference}-{row.pk}.pdf")


@signed_in
@require_http_methods(["GET", "POST"])
def not_me(request: HttpRequest, session: ResidentSession, kind: str, item_id: int) -> HttpResponse:
    if kind not in ItemKind.values:
        raise Http404("No such item.")
    item = selectors.own_item(session.holder, kind, item_id)
    if item is None:
        raise Http404("No such item.")
    if request.method != "POST":
        # Already reported, its case open: the page says so (when, the reference, how to add
        # anything) rather than offer the form for a report that would add nothing.
        reported_before = selectors.open_not_me_report(session.holder, kind, item.pk)
        if reported_before is not None:
            target = reverse("residents:reported", kwargs={"public_id": reported_before.public_id})
            return redirect(target + "?again=1")
    error = ""
    # After a refusal the form shows what the resident chose and wrote, to correct it (a comment
    # with characters that cannot be stored is not shown again).
    chosen, comment = "", ""
    if request.method == "POST":
        chosen = request.POST.get("reason", "")
        comment = request.POST.get("comment", "")
        asked_at = timezone.now()
        try:
            report = services.not_me_report(
                session, kind=kind, item_id=item_id, reason=chosen, comment=comment
            )
        except services.ResidentRefused as exc:
            error = exc.text()
            if exc.code == "comment_not_allowed":
                comment = ""
        else:
            target = reverse("residents:reported", kwargs={"public_id": report.public_id})
            # An earlier report of this record whose case is open: no second one was made.
            return redirect(target + ("?again=1" if report.created_at < asked_at else ""))
    services.page_viewed(session, "not_me", item=kind, item_id=item_id)
    return render(
        request,
        "residents/not_me.html",
        _base_context(
            request,
            session=session,
            fingerprint=session.fingerprint,
            item=capfirst(selectors.describe_item(kind, item, english=english())),
            reasons=NotMeReason.choices,
            chosen=chosen,
            comment=comment,
            comment_max=services.NOT_ME_COMMENT_MAX,
            error=error,
        ),
    )


@signed_in
@require_GET
def reported(request: HttpRequest, session: ResidentSession, public_id: str) -> HttpResponse:
    report = selectors.own_report(session.holder, public_id)
    if report is None:
        raise Http404("No such report.")
    services.page_viewed(session, "reported", case=report.case.reference)
    # Reported on another record of a visit already reported: added to that report's case.
    first = services.first_report_of_case(report)
    return render(
        request,
        "residents/reported.html",
        _base_context(
            request,
            session=session,
            fingerprint=session.fingerprint,
            report=report,
            again=request.GET.get("again") == "1",
            added_to=first if first.pk != report.pk else None,
        ),
    )


@login_required
@never_cache
@require_POST
def desk_email(request: HttpRequest, completion_id: int) -> HttpResponse:
    """At the desk: tell the resident of this completion by email. Only from the staff
    member's open desk session in the browser bound to its terminal (`bound_desk_session`, the
    rule every desk page follows), and only for a completion of that desk session."""
    desk = bound_desk_session(request)
    completion = desk_completion(completion_id, desk)
    if completion is None or desk is None:
        raise Http404("No such completion for this desk session.")
    if not shown_at_desk(completion, desk):
        # An earlier resident's notice: sent only for the desk's current visit, or the one
        # just ended until the next starts, as its receipt is shown (side doors, round 5).
        messages.error(
            request,
            _(
                "This notice belongs to an earlier visit at this desk; nothing was sent. The "
                "desk emails the notice of the current visit only, or of the visit just ended "
                "until the next one starts. The resident can read their records on their own "
                "page."
            ),
        )
        return redirect("desk:receipt")
    try:
        address = validate_email_address(request.POST.get("address", ""))
    except ValidationError:
        messages.error(request, _("The email address is not valid; nothing was sent."))
    else:
        try:
            sent = services.completion_email(
                completion,
                address,
                actor=request.user,
                once_key=request.POST.get(once.KEY_FIELD, ""),
                lang=page_language(),
            )
        except services.ResidentRefused as exc:
            messages.error(request, exc.text())
        else:
            if sent:
                messages.success(request, _("The resident was told by email."))
            else:
                messages.info(
                    request,
                    _(
                        "This email form was sent twice. The notice was sent once; nothing "
                        "was sent the second time."
                    ),
                )
    # The receipt page it came from: the open visit's, or the one of the visit just ended.
    return redirect("desk:receipt" if completion.visit.ended_at is None else "desk:ended_receipt")


@roles_required(Role.CITY_OFFICIAL)
@require_GET
@never_cache
@reason_required
def case_notice(request: HttpRequest, pk: int, notice_id: int) -> HttpResponse:
    """A city official downloads a notice letter recorded on the case (as the resident got
    it); the read is recorded with the reason given for the case."""
    row = selectors.case_notice(request.user, pk, notice_id)
    if row is None:
        raise Http404("No such notice on this case.")
    record_read(
        request, row.holder, page="cases.notice", reason=chosen_reason(request), subject=row
    )
    response = HttpResponse(notices.notice_pdf(row), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="notice-{row.case.reference}-{row.pk}.pdf"'
    )
    return response
