"""Desk pages: waiting for a card, the visit, procedure forms, confirmation, receipt, end.

Every page that shows anything of a visit is sent with `Cache-Control: no-store` (never_cache),
and redirects away once the visit has ended: the back button shows nothing of an ended visit.
The card operations themselves run in the browser (static/desk/desk.js) between the agent and
the JSON API; these views only render and record what staff do.
"""

from __future__ import annotations

import inspect
import json
from functools import cache, wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.accounts.constants import Role
from madoguchi.accounts.selectors import load_roles_and_permissions
from madoguchi.era import format_local_time
from madoguchi.identity.access import record_read, representative_holder_ids
from madoguchi.incidents.constants import IncidentKind
from madoguchi.language import english, page_language
from madoguchi.refusals import Refusal
from madoguchi.terminals.binding import (
    bound_desk_session,
    current_terminal,
    lost_binding,
)
from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.models import DeskSession
from madoguchi.terminals.selectors import desk_sign_in_end

from . import procedures as registry
from . import services
from .constants import (
    CHECKLIST_AFTER_COMPLETION,
    CHECKLIST_BEFORE_COMPLETION,
    CHECKLIST_STAGES,
    ProcedureStatus,
    VisitEndReason,
)
from .forms import FALLBACK_FORMS
from .models import Visit
from .selectors import latest_visit, shown_at_desk


def desk_page(view):
    """Signed-in staff with an open desk session on this (bound) terminal; never cached."""

    @never_cache
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The bound desk session first: one query that also loads request.user (issue 15).
        desk = bound_desk_session(request)
        if desk is None:
            if not request.user.is_authenticated:  # as login_required answers
                # Back to this page after signing in; a form's or a tick's address takes no
                # GET (a 405 page after the sign-in): the desk's waiting page instead.
                get = request.method == "GET"
                return redirect_to_login(
                    request.get_full_path() if get else desk_urls()["terminal"]
                )
            if request.user.has_role(Role.DESK_STAFF):
                # Desk staff sign in only on a registered terminal: signed in here without a
                # desk session, theirs ended (the sweeper's idle limit, a sign-out elsewhere).
                # "Sign in on a registered terminal" read on this terminal as if it were not one.
                messages.error(request, _sign_in_ended(request))
            else:
                messages.error(request, _("Sign in on a registered terminal to use the desk."))
            return redirect("accounts:login")
        request.desk_session = desk  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _sign_in_ended(request: HttpRequest) -> str:
    """What the sign-in page tells desk staff whose desk sign-in on this terminal is gone: why
    it ended, as its close recorded it. A colleague taking over a desk at lunch, or the staff
    member's own sign-in on another desk, read "signed out, or idle too long" (a walk of the
    desk day, 2026-12-02)."""
    terminal = current_terminal(request)
    if terminal is None and (lost := lost_binding(request)) is not None:
        return lost.refusal().text()
    end = None if terminal is None else desk_sign_in_end(terminal=terminal, staff=request.user)
    reason = None if end is None else end.reason
    if end is not None and end.elsewhere is not None:
        return _(
            "Your sign-in at the desk on this terminal has ended: you signed in on another "
            "terminal (%(terminal)s). To serve residents here, sign in again on this terminal."
        ) % {"terminal": end.elsewhere.name}
    if reason == DeskSessionCloseReason.SUPERSEDED:
        return _(
            "Your sign-in at the desk on this terminal has ended: another staff member signed "
            "in on it. Sign in again to use it."
        )
    if reason == DeskSessionCloseReason.IDLE:
        return _(
            "Your sign-in at the desk on this terminal has ended: this browser made no request "
            "for too long. Sign in again."
        )
    if reason == DeskSessionCloseReason.EXPIRED:
        return _(
            "Your sign-in at the desk on this terminal has ended: its time limit passed. Sign "
            "in again."
        )
    return _(
        "Your sign-in at the desk on this terminal has ended (signed out, or idle too long). "
        "Sign in again."
    )


def _desk(request: HttpRequest) -> DeskSession:
    return request.desk_session  # type: ignore[attr-defined]


def _visit_or_redirect(request: HttpRequest) -> Visit | HttpResponse:
    visit = services.visit_current(desk_session=_desk(request))
    if visit is None:
        messages.error(request, services.VisitRefused.of("no_open_visit").text())
        return redirect("desk:ended")
    return visit


def _shown_for_another_visit(
    request: HttpRequest, visit: Visit, *, back: str = "desk:visit"
) -> HttpResponse | None:
    """The refusal of a form shown for another visit than `visit` (the desk's current one, or
    the one that just ended for its after-completion checklist): a tab left open for the
    previous resident, a second tab, or None. Each form of the visit's pages carries the visit
    it was shown for; acting on the current visit instead would prepare one resident's account
    into the next resident's visit, tick their checklist or end it. A form that names no visit
    (sent by hand, or by a page from before forms carried one) is refused the same way: it
    cannot show which visit it was meant for."""
    if request.POST.get("visit") == visit.reference:
        return None
    return _refused_as_stale(request, back=back)


def _form_visit(request: HttpRequest) -> str:
    """The visit a form was shown for, as the writing services compare it again under the
    visit's lock (`services.refuse_unless_expected`); "" when it names none (refused)."""
    return request.POST.get("visit", "")


def _refused_as_stale(request: HttpRequest, *, back: str = "desk:visit") -> HttpResponse:
    """The page of a form shown for another visit: refused by the early check above, or by the
    service under the visit's lock when that visit started between the check and the act
    (`visit_changed`)."""
    messages.error(
        request,
        _(
            "This page was for an earlier visit; another visit is open at this desk now, so "
            "nothing was recorded. Check the current visit on this page and enter it again "
            "if it is this resident's."
        ),
    )
    return redirect(back)  # an htmx tick's: HX-Redirect (core.middleware.HtmxRedirectMiddleware)


def agent_origin(terminal_name: str) -> str:
    """The card agent's origin for this terminal: CARD_AGENT_ORIGINS (terminal name -> origin,
    for several terminals on one machine, as in the demo) or CARD_AGENT_ORIGIN."""
    per_terminal: dict[str, str] = getattr(settings, "CARD_AGENT_ORIGINS", {}) or {}
    return per_terminal.get(terminal_name, settings.CARD_AGENT_ORIGIN)


def _record_read(request: HttpRequest, visit: Visit, *, page: str, subject: Any) -> None:
    """`record_read` of the visit's resident and of its legal representative (the second
    card), whose name and account the page shows too; the staff member's roles (which it
    records) read together with the permissions the page's template asks for: one query
    instead of three (issue 15)."""
    load_roles_and_permissions(request.user)  # type: ignore[arg-type]
    record_read(
        request,
        visit.holder,
        page=page,
        subject=subject,
        others=representative_holder_ids(visit),
    )


# The desk's URLs without arguments, which its templates link to (`{{ urls.visit }}`).
_FIXED_URLS = (
    "checklist",
    "confirm",
    "end",
    "ended",
    "ended_checklist",
    "ended_receipt",
    "receipt",
    "terminal",
    "visit",
)


@cache
def _fixed_urls(script_prefix: str, urlconf: Any) -> dict[str, str]:
    return {name: reverse(f"desk:{name}", urlconf=urlconf) for name in _FIXED_URLS}


def desk_urls() -> dict[str, str]:
    """The desk's fixed URLs, reversed once per process for each script prefix and URL
    configuration (issue 15, ninth round: `{% url %}` reversed them again on every page, 15
    on the confirmation page)."""
    return _fixed_urls(get_script_prefix(), get_urlconf())


def _context(request: HttpRequest, visit: Visit | None, **extra: Any) -> dict[str, Any]:
    desk = _desk(request)
    load_roles_and_permissions(request.user)  # type: ignore[arg-type]  # for the template's perms
    lang = page_language()
    ctx: dict[str, Any] = {
        "terminal": desk.terminal,
        "desk_session": desk,
        "visit": visit,
        "agent_origin": agent_origin(desk.terminal.name),
        "demo": settings.DEMO,
        "lang": lang,
        "has_test_pins": False,
        "urls": desk_urls(),
    }
    if visit is not None:
        # The name of the card read the server verified in this visit, never the desk's word.
        ctx["resident_name"] = visit.card_name
        ctx["seconds_left"] = left = services.seconds_left(visit)
        ctx["time_left"] = f"{left // 60}:{left % 60:02d}"
        ctx["card_fingerprint"] = visit.certificate.fingerprint
        ctx["handover"] = visit.handover_at is not None
        if visit.companion_certificate_id is not None:  # the representative's card (2nd signer)
            ctx["second_fingerprint"] = visit.companion_certificate.fingerprint  # type: ignore[union-attr]
    ctx.update(extra)
    return ctx


def lang_en() -> bool:
    return english()


def _label(handler: Any) -> str:
    return registry.label(handler.kind)


# --- waiting -------------------------------------------------------------------------------


@desk_page
@require_GET
def terminal(request: HttpRequest) -> HttpResponse:
    """Waiting for the next resident: insert the card, then start the card authentication."""
    if services.visit_current(desk_session=_desk(request)) is not None:
        return redirect("desk:visit")
    return render(request, "desk/terminal.html", _context(request, None))


@desk_page
@require_GET
def ended(request: HttpRequest) -> HttpResponse:
    """Where a page goes when its visit ended: why, and that nothing more can be done in it."""
    if services.visit_current(desk_session=_desk(request)) is not None:
        return redirect("desk:visit")
    last = _latest_visit(request)
    discarded = last.procedures.filter(status=ProcedureStatus.DISCARDED).count() if last else 0
    # What the card did commit (card taken right after the PIN): its count and kinds, and its
    # receipt until the next visit starts (`ended_receipt`, the `shown_at_desk` rule).
    committed = (
        sorted(
            last.procedures.filter(status=ProcedureStatus.COMMITTED).values_list("kind", flat=True)
        )
        if last
        else []
    )
    refusal = None
    if last is not None and last.end_reason == VisitEndReason.COMPLETION_REFUSED:
        incident = last.incidents.filter(kind=IncidentKind.COMPLETION_REFUSED).first()
        if incident is not None:
            known = incident.reason_code in services.VisitRefused.messages
            refusal = services.VisitRefused.of(incident.reason_code).text() if known else None
            if incident.reason_code == "checklist_incomplete":
                refusal = _("Required checklist items were not ticked; nothing was committed.")
            refusal = refusal or _("The card's signature was not accepted; nothing was committed.")
    return render(
        request,
        "desk/ended.html",
        _context(
            request,
            None,
            last=last,
            discarded=discarded,
            refusal=refusal,
            committed=len(committed),
            committed_labels=list(dict.fromkeys(registry.label(kind) for kind in committed)),
            **_after_end_rows(request),
        ),
    )


def _after_end_rows(request: HttpRequest) -> dict[str, Any]:
    """The after-completion checklist of the visit that just ended, while it may still be
    ticked (`VisitChecklist.ended_open_to_ticks`: until the next visit starts); else none."""
    ended_visit = registry.checklist().ended_open_to_ticks(_desk(request))
    if ended_visit is None:
        return {"rows": []}
    return {
        "rows": registry.checklist().rows(ended_visit, CHECKLIST_AFTER_COMPLETION),
        "stage": CHECKLIST_AFTER_COMPLETION,
        "checklist_post": desk_urls()["ended_checklist"],
        "ended_visit": ended_visit,
    }


@desk_page
@require_POST
def ended_checklist(request: HttpRequest) -> HttpResponse:
    """Record the after-completion checklist of the visit that just ended (the resident took
    the card back right after the PIN, before the receipt was handed over): by the rule of its
    receipt, until the next visit starts; audited as every tick (htmx: answers the fieldset).
    The form carries the ended visit it was shown for: a tab left on one resident's ended page
    ticks nothing on a later visit that ended since."""
    ended_visit = registry.checklist().ended_open_to_ticks(_desk(request))
    if ended_visit is not None and (
        stale := _shown_for_another_visit(request, ended_visit, back="desk:ended")
    ):
        return stale
    try:
        registry.checklist().tick_after_end(
            desk_session=_desk(request),
            codes=set(request.POST.getlist("item")),
            staff=request.user,
            expected_visit=_form_visit(request),
            shown=_shown(request),
        )
    except Refusal as exc:
        if exc.code == "visit_changed":
            return _refused_as_stale(request, back="desk:ended")
        messages.error(request, exc.text())
        return redirect("desk:ended")
    if request.htmx:  # type: ignore[attr-defined]
        context = {**_after_end_rows(request), "saved": True, "urls": desk_urls()}
        context.setdefault("stage", CHECKLIST_AFTER_COMPLETION)
        return render(request, "desk/_checklist.html", context)
    messages.success(request, _("Checklist saved."))
    back = "desk:ended_receipt" if request.POST.get("next") == "receipt" else "desk:ended"
    return redirect(back)


def _latest_visit(request: HttpRequest) -> Visit | None:
    """This desk session's latest visit (as `selectors.shown_at_desk` orders them)."""
    return latest_visit(_desk(request))


# --- the visit -----------------------------------------------------------------------------


MASK = "＊＊＊＊"


def _masked_account(procedure: Any) -> str:
    """The masked account a procedure carries (＊＊＊＊0005), to tell its row from another of the
    same kind: a resident who changed the number had two identical rows, and staff could not see
    which to remove (a walk of the desk day, 2026-12-02). Only the masked form, never another
    field."""
    account = (procedure.fields or {}).get("account")
    return account if isinstance(account, str) and account.startswith(MASK) else ""


@desk_page
@require_GET
def visit(request: HttpRequest) -> HttpResponse:
    found = _visit_or_redirect(request)
    if isinstance(found, HttpResponse):
        return found
    _record_read(request, found, page="desk.visit", subject=found)
    procs = list(found.procedures.order_by("pk"))
    available = [{"kind": h.kind, "label": _label(h)} for h in registry.available()]
    labels = {h.kind: _label(h) for h in registry.available()}
    rows = [
        {"p": p, "label": labels.get(p.kind, p.kind), "account": _masked_account(p)} for p in procs
    ]
    return render(
        request,
        "desk/visit.html",
        _context(
            request,
            found,
            available=available,
            rows=rows,
            pending=sum(1 for p in procs if p.status == ProcedureStatus.PENDING),
            completions=found.completions.count(),
            second_card_label=(
                registry.second_card_label(found) if found.companion_certificate_id else ""
            ),
            second_card_roles=[
                (value, en if lang_en() else ja) for value, ja, en in registry.SECOND_CARD_ROLES
            ],
            basic_four_read=found.card_birth_date is not None,
        ),
    )


def _form_class(handler: Any) -> Any:
    return getattr(handler, "form_class", None) or FALLBACK_FORMS.get(handler.kind)


def _make_form(form_class: Any, data: Any, visit: Visit) -> Any:
    params = inspect.signature(form_class.__init__).parameters
    kwargs: dict[str, Any] = {"visit": visit} if "visit" in params else {}
    form = form_class(data, **kwargs)
    # The name of the verified card read (if any), as the page sends it back; the server fills
    # it in itself and refuses a different one (benefits' `resident_name_of`).
    if visit.card_name and "resident_name" in form.fields:
        form.initial.setdefault("resident_name", visit.card_name)
    return form


@desk_page
@require_http_methods(["GET", "POST"])
def procedure(request: HttpRequest, kind: str) -> HttpResponse:
    found = _visit_or_redirect(request)
    if isinstance(found, HttpResponse):
        return found
    handler = registry.get(kind)
    form_class = _form_class(handler) if handler else None
    if handler is None or form_class is None:
        raise Http404("no such procedure")
    if request.method == "POST" and (stale := _shown_for_another_visit(request, found)):
        return stale
    form = _make_form(form_class, request.POST or None, found)
    error = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            fields = json.loads(json.dumps(form.cleaned_data, cls=DjangoJSONEncoder))
            try:
                services.procedure_prepare(
                    desk_session=_desk(request),
                    kind=kind,
                    fields=fields,
                    expected_visit=_form_visit(request),
                )
            except Refusal as exc:
                if exc.code == "visit_changed":
                    return _refused_as_stale(request)
                if exc.code == "no_open_visit":
                    messages.error(request, exc.text())
                    return redirect("desk:ended")
                error = exc.text()
                status = 400
                if isinstance(exc, services.FieldsRefused):
                    # The fields by their labels on this page, not their codes.
                    error = exc.text_naming({n: f.label for n, f in form.fields.items()})
                    for name in exc.form_fields & set(form.fields):
                        form.add_error(name, str(services.FIELD_MESSAGE))
            else:
                messages.success(
                    request,
                    _(
                        "%(label)s was added. It is committed only after the resident "
                        "confirms it with the card."
                    )
                    % {"label": _label(handler)},
                )
                return redirect("desk:visit")
        else:
            status = 400
    return render(
        request,
        "desk/procedure.html",
        _context(request, found, form=form, label=_label(handler), kind=kind, error=error),
        status=status,
    )


@desk_page
@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a pending procedure (取り消す). The form carries the visit it was shown for, as
    every form of a visit's pages: a tab left on the previous resident's visit is told so,
    not that the procedure is not pending (side doors, round 22)."""
    found = _visit_or_redirect(request)
    if isinstance(found, HttpResponse):
        return found
    if stale := _shown_for_another_visit(request, found):
        return stale
    try:
        services.procedure_discard(
            desk_session=_desk(request), procedure_id=pk, expected_visit=_form_visit(request)
        )
    except Refusal as exc:
        if exc.code == "visit_changed":
            return _refused_as_stale(request)
        messages.error(request, exc.text())
    return redirect("desk:visit")


def _shown(request: HttpRequest) -> set[str]:
    """The items the checklist form showed ticked (`shown`, one per ticked box): the form
    changes only the boxes that differ from it, so a second tab, or a page shown before another
    tab's tick, withdraws nothing it did not touch. A form without them (an older page) only
    ticks: it cannot say which box was unticked."""
    return set(request.POST.getlist("shown"))


def _form_round(request: HttpRequest) -> int:
    """The completion round the checklist form was shown for (`round`, its rows'); -1, which no
    visit has, when it names none or not a number (refused as stale: a page from before forms
    carried it cannot show which completion its boxes were for)."""
    value = request.POST.get("round", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else -1


def _form_summary(request: HttpRequest, stage: str) -> str | None:
    """The summary a before-completion form was shown for (`summary`, the confirmation page's
    `summary_stamp`); "" when it names none (refused as stale)."""
    return request.POST.get("summary", "") if stage == CHECKLIST_BEFORE_COMPLETION else None


def _stale_checklist(request: HttpRequest, exc: Refusal, stage: str) -> HttpResponse:
    """The page of a checklist form shown for an earlier summary or completion: nothing was
    recorded; the page is shown again as it is now, with why."""
    messages.error(request, exc.text())
    back = "desk:confirm" if stage == CHECKLIST_BEFORE_COMPLETION else "desk:receipt"
    return redirect(back)  # an htmx tick's: HX-Redirect (core.middleware.HtmxRedirectMiddleware)


@desk_page
@require_POST
def checklist(request: HttpRequest) -> HttpResponse:
    """Record the checklist form of one stage (htmx: answers the fieldset; else redirects).
    The form carries the completion round and (before completion) the summary it showed: a form
    of an earlier summary or completion is refused as stale, except an earlier completion's
    receipt, whose boxes tick that completion's items."""
    found = _visit_or_redirect(request)
    if isinstance(found, HttpResponse):
        return found
    if stale := _shown_for_another_visit(request, found):
        return stale
    stage = request.POST.get("stage", "")
    if stage not in CHECKLIST_STAGES:
        raise BadRequest("unknown checklist stage")  # handler400: the reason, on a page
    shown_round = _form_round(request)
    try:
        registry.checklist().tick_many(
            visit=found,
            stage=stage,
            codes=set(request.POST.getlist("item")),
            staff=request.user,
            shown=_shown(request),
            completion_round=shown_round,
            summary=_form_summary(request, stage),
        )
    except Refusal as exc:
        if exc.code == "checklist_stale":
            return _stale_checklist(request, exc, stage)
        messages.error(request, exc.text())
        return redirect("desk:ended")
    if request.htmx:  # type: ignore[attr-defined]
        after = stage == CHECKLIST_AFTER_COMPLETION
        return render(
            request,
            "desk/_checklist.html",
            {
                # An earlier completion's receipt keeps showing that completion's boxes.
                "rows": registry.checklist().rows(found, stage, shown_round if after else None),
                "stage": stage,
                "saved": True,
                "urls": desk_urls(),
            },
        )
    return redirect("desk:confirm" if stage == CHECKLIST_BEFORE_COMPLETION else "desk:receipt")


@desk_page
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """Exactly what the card will sign (the transaction's display lines), and the checklist."""
    found = _visit_or_redirect(request)
    if isinstance(found, HttpResponse):
        return found
    try:
        tx = services.build_transaction(found)
    except Refusal as exc:
        messages.error(request, exc.text())
        return redirect("desk:visit")
    if not tx["procedures"]:
        messages.info(request, services.VisitRefused.of("nothing_pending").text())
        return redirect("desk:visit")
    _record_read(request, found, page="desk.confirm", subject=found)
    return render(
        request,
        "desk/confirm.html",
        _context(
            request,
            found,
            # The summary shown, which the checklist form sends back (`summary_stamp`).
            summary=registry.summary_stamp(found, (p["id"] for p in tx["procedures"])),
            lines=tx["display"],
            lines_json=json.dumps(tx["display"], ensure_ascii=False),
            rows=registry.checklist().rows(found, CHECKLIST_BEFORE_COMPLETION),
            stage=CHECKLIST_BEFORE_COMPLETION,
        ),
    )


@desk_page
@require_GET
def receipt(request: HttpRequest) -> HttpResponse:
    found = _visit_or_redirect(request)
    if isinstance(found, HttpResponse):
        return found
    completion = found.completions.order_by("-committed_at").first()
    if completion is None:
        return redirect("desk:visit")
    return _receipt_page(request, found, completion)


@desk_page
@require_GET
def ended_receipt(request: HttpRequest) -> HttpResponse:
    """The receipt of the visit that just ended (the card was taken right after the PIN), by
    the rule of the receipt PDF and the notice email (`shown_at_desk`): this desk session's
    latest visit only, so only until the next visit starts; read-audited as the receipt page.
    Nothing in it reopens the ended visit; only its after-completion checklist may still be
    ticked, by the same rule (`ended_checklist`)."""
    if services.visit_current(desk_session=_desk(request)) is not None:
        return redirect("desk:receipt")
    last = _latest_visit(request)
    completion = last.completions.order_by("-committed_at").first() if last else None
    if completion is None or not shown_at_desk(completion, _desk(request)):
        messages.error(request, _("The visit that ended committed nothing; there is no receipt."))
        return redirect("desk:ended")
    return _receipt_page(request, None, completion)


def _receipt_page(request: HttpRequest, found: Visit | None, completion: Any) -> HttpResponse:
    """The receipt page: of the open visit `found`, or (None) of the visit just ended."""
    signed = json.loads(bytes(completion.transaction_bytes))
    _record_read(request, completion.visit, page="desk.receipt", subject=completion)
    return render(
        request,
        "desk/receipt.html",
        _context(
            request,
            found,
            completion=completion,
            receipt_visit=completion.visit,
            committed_at=format_local_time(
                timezone.localtime(completion.committed_at),
                japanese=not english(),
                seconds=True,
            ),
            lines=signed.get("display", []),
            status_lines=registry.status_lines(completion, page_language()),
            pdf_url=registry.receipt_url(completion),
            **(
                {
                    "rows": registry.checklist().rows(found, CHECKLIST_AFTER_COMPLETION),
                    "stage": CHECKLIST_AFTER_COMPLETION,
                }
                if found
                else _after_end_rows(request)
            ),
        ),
    )


@desk_page
@require_POST
def end(request: HttpRequest) -> HttpResponse:
    """Next resident: record the after-completion checklist, end the visit, wait again. The
    boxes of an earlier completion's receipt (a tab left on it) tick that completion's items;
    what the last completion left unticked is named at the end. A form whose boxes changed and
    that names no completion is refused, the visit left open."""
    visit = services.visit_current(desk_session=_desk(request))
    if visit is not None and (stale := _shown_for_another_visit(request, visit)):
        return stale
    if visit is not None:
        codes = set(request.POST.getlist("item"))
        shown = _shown(request)
        if codes != shown:
            try:
                registry.checklist().tick_many(
                    visit=visit,
                    stage=CHECKLIST_AFTER_COMPLETION,
                    codes=codes,
                    staff=request.user,
                    shown=shown,
                    completion_round=_form_round(request),
                )
            except Refusal as exc:
                if exc.code == "checklist_stale":
                    return _stale_checklist(request, exc, CHECKLIST_AFTER_COMPLETION)
                # Ended meanwhile (card removed): ending is what was asked anyway.
        services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT, actor=request.user)
        messages.success(request, _("The visit ended. Ready for the next resident."))
    return redirect("desk:terminal")
