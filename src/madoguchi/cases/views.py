"""Case pages: list, intake (contractor staff too), the case with its timeline, findings and
step forms (city officials), the incident report document."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from madoguchi.accounts.constants import Role
from madoguchi.audit.selectors import display
from madoguchi.dates import local_time
from madoguchi.identity.access import ask_reason, chosen_reason, reason_required, record_read
from madoguchi.incidents.access import has_any, roles_required, visible_incident
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.reading import read_incident
from madoguchi.incidents.selectors import incident_by_pk
from madoguchi.incidents.text import incident_text
from madoguchi.language import english, page_language
from madoguchi.once import services as once
from madoguchi.plaintext import long_number
from madoguchi.refusals import Refusal

from . import document, findings, legacy, selectors, services, steps
from .constants import CaseStatus, Channel, DatePrecision, Programme
from .forms import (
    COMPARE_FORMS,
    LEGACY_FORMS,
    CloseForm,
    CompareForm,
    ContactForm,
    IntakeForm,
    RegrantForm,
    ReportEditForm,
    StepForm,
)
from .models import Case, LegacyLink

OFFICIAL = (Role.CITY_OFFICIAL,)

STEPS: dict[str, tuple[type, Any]] = {
    "investigate": (StepForm, services.case_investigate),
    "compare": (CompareForm, services.case_compare_identifier),
    "note": (StepForm, services.case_note),
    "suspend": (StepForm, services.case_suspend),
    "contact": (ContactForm, services.case_contact),
    "return_points": (StepForm, services.case_return_points),
    "correct": (StepForm, services.case_correct),
    "reenable": (StepForm, services.case_reenable),
    "regrant": (RegrantForm, services.case_regrant),
    "notify": (StepForm, services.case_notify),
    "close": (CloseForm, services.case_close),
}


# The comparison each programme's case asks for (a point programme's: STEPS["compare"]).
COMPARE_STEPS: dict[Programme, tuple[type, Any]] = {
    Programme.POINTS: STEPS["compare"],
    Programme.PUBLIC_FUND: (COMPARE_FORMS[Programme.PUBLIC_FUND], services.case_compare_account),
    Programme.HEALTH_INSURANCE: (
        COMPARE_FORMS[Programme.HEALTH_INSURANCE],
        services.case_compare_insured,
    ),
}


def _step(case: Case, name: str) -> tuple[type, Any]:
    """The form and service of step `name` on this case (the comparison follows its programme)."""
    if name == "compare":
        return COMPARE_STEPS[Programme(case.programme)]
    return STEPS[name]


CASES_PER_PAGE = 100  # cases on a page of the list

# What a step form sent and refused (a mistyped day, a step another official recorded first)
# keeps for the case page it returns to, so the official's words are not lost: the words and
# the day only. A number typed for a comparison (a payment service ID, an account) is never
# kept, nor a value with a long number in it, which the form refuses anyway.
DRAFT_FIELDS = (
    "event_date",
    "date_precision",
    "summary",
    "party",
    "party_label",
    "channel",
    "outcome",
    "confirm",  # a re-grant's confirmation, as ticked
    once.KEY_FIELD,  # nothing was recorded with it: the form sent again is still once
)
# A form sent a second time (`madoguchi.once`): what the official sees instead of a second record.
_SENT_TWICE_STEP = gettext_lazy(
    "This form was sent twice: it was recorded once, and the second time recorded nothing."
)
_SENT_TWICE_INTAKE = gettext_lazy(
    "This intake was sent twice: case %(ref)s was opened once, and the second time opened nothing."
)
_SENT_TWICE_LEGACY = gettext_lazy(
    "This legacy link form was sent twice: the link was recorded and attached once, and the "
    "second time recorded nothing."
)
_DRAFT_KEY = "case_step_draft"
LEGACY = "legacy"
# Never kept when a legacy link form is refused: its one-time key, and the card or account
# number (a hidden input, kept only as a keyed hash), which is typed again.
LEGACY_NOT_KEPT = ("once", "account_number")


def _keep_draft(
    request: HttpRequest, case: Case, step: str, fields: tuple[str, ...] = DRAFT_FIELDS
) -> None:
    data = {}
    for name in fields:
        value = request.POST.get(f"{step}-{name}")
        if value is not None and not long_number(value):
            data[name] = value
    request.session[_DRAFT_KEY] = {"case": case.pk, "step": step, "data": data}


def _keep_legacy_draft(request: HttpRequest, case: Case, form: Any) -> None:
    """The refused legacy link form's fields as typed (its pasted session records were lost
    with one bad line), but those in `LEGACY_NOT_KEPT`."""
    fields = tuple(name for name in form.fields if name not in LEGACY_NOT_KEPT)
    _keep_draft(request, case, LEGACY, fields)


def _take_draft(request: HttpRequest, case: Case) -> dict[str, Any] | None:
    """The refused step form kept for this case, once (a reload shows the empty forms)."""
    draft = request.session.pop(_DRAFT_KEY, None)
    if not isinstance(draft, dict) or draft.get("case") != case.pk:
        return None
    return draft


def _step_form(case: Case, name: str, draft: dict[str, Any] | None) -> Any:
    cls = _step(case, name)[0]
    if draft is None or draft.get("step") != name:
        return cls(prefix=name)
    return cls({f"{name}-{k}": v for k, v in draft["data"].items()}, prefix=name)


@roles_required(Role.DESK_STAFF, Role.SUPERVISOR, Role.CITY_OFFICIAL)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    can_run = services.can_run(request.user)
    # `scan open-cases` opens a case per mis-link found: a page at a time, newest first.
    page = Paginator(
        selectors.listed_cases(request.user, official=can_run), CASES_PER_PAGE
    ).get_page(request.GET.get("page"))
    if can_run and page.object_list:
        # Each row names a resident as reported (a scan's case: the scan's resident id, which
        # the finding's own page asks a reason for): the official says why first, as on a
        # case's page, and each case shown is a read recorded with that reason.
        asked = ask_reason(request)
        if asked is not None:
            return asked
        for case in page.object_list:
            record_read(
                request, case.holder, page="cases.list", reason=chosen_reason(request), subject=case
            )
    return render(
        request,
        "cases/list.html",
        {
            "cases": page,
            "page": page,
            "can_run": can_run,
            # A case opened from the list, and the list's other pages, read for the reason
            # given here: the official was asked again on the case they had just chosen.
            "read_reason": chosen_reason(request) if can_run and page.object_list else "",
        },
    )


@roles_required(Role.DESK_STAFF, Role.SUPERVISOR, Role.CITY_OFFICIAL)
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    if request.GET.get("incident"):
        if request.method != "POST":
            return _case_from_incident(request)
        incident = _incident_posted(request)
        if isinstance(incident, HttpResponse):
            return incident
    else:
        incident = None
    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case, now = once.record_once(
                d[once.KEY_FIELD],
                Case,
                lambda: services.case_open(
                    actor=request.user,  # type: ignore[arg-type]
                    title=d["title"],
                    resident_label=d["resident_label"],
                    reported_by=d["reported_by"],
                    summary=d["summary"],
                    event_date=d["event_date"],
                    date_precision=d["date_precision"],
                    channel=d["channel"],
                    desk_location=d["desk_location"],
                    other_resident_label=d["other_resident_label"],
                    # A desk's incident makes its case that desk's, whoever opens it: the
                    # case belongs to the desk's city, not the opener's organisation.
                    terminal=_incident_desk(incident),
                    incident=incident,
                ),
                # An intake's key is its own form's (of its incident, if it has one).
                target="intake" if incident is None else f"intake of incident {incident.pk}",
            )
        except Refusal as exc:
            existing = selectors.case_of_incident(incident) if incident is not None else None
            if existing is not None and exc.code == "incident_has_case":
                return _incident_has_case(request, incident, existing)
            messages.error(request, exc.text())
        else:
            if now:
                messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
            else:
                messages.info(request, _SENT_TWICE_INTAKE % {"ref": case.reference})
            if services.can_run(request.user):
                return redirect("cases:detail", pk=case.pk)
            return redirect("cases:list")
    return render(
        request,
        "cases/new.html",
        {"form": form, "incident": incident, "subject": selectors.intake_subject(incident)},
    )


def _incident_desk(incident: Any) -> Any:
    """The desk of the incident a case is opened from (its own, else its visit's), or None."""
    if incident is None:
        return None
    if incident.terminal_id is not None:
        return incident.terminal
    return incident.visit.terminal if incident.visit_id is not None else None


def _desk_place(terminal: Any) -> str:
    """Where the incident's desk is, as the city's report names it: the terminal's location.
    Never its name (desk-07), an id staff use: a terminal without a location leaves the field
    to the official (the report then reads 「市の支援窓口」)."""
    return str(terminal.location) if terminal is not None else ""


def _incident_posted(request: HttpRequest) -> Any:
    """The incident an intake filled from it is sent for (its address keeps ``?incident=``):
    who may read it, as for the form; the read was recorded when the form was shown."""
    try:
        pk = int(request.GET["incident"])
    except ValueError:
        return redirect("cases:new")
    if not has_any(request.user, Role.SUPERVISOR, Role.CITY_OFFICIAL):
        raise PermissionDenied("Your role does not allow reading incidents.")
    incident = incident_by_pk(pk)
    if incident is None:
        raise Http404("No such incident.")
    if not visible_incident(request.user, incident):
        raise Http404("No such incident.")  # another organisation's, as a missing one
    return incident


def _incident_has_case(
    request: HttpRequest, incident: Any, case: Case, status: int = 409
) -> HttpResponse:
    """The intake of an incident that has its case already: no form, the refusal saying why
    and the way to that case (a city official's; others see its reference)."""
    return render(
        request,
        "cases/new.html",
        {
            "incident": incident,
            "existing": case,
            "refusal": services.incident_has_case(case).text(),
            "existing_visible": selectors.visible_cases(request.user).filter(pk=case.pk).exists()
            and services.can_run(request.user),
        },
        status=status,
    )


def _case_from_incident(request: HttpRequest) -> HttpResponse:
    """The intake filled from an incident (its page's button): when, where, what the system
    recorded; the official adds the resident as the report names them. An incident of a
    resident's visit is read as on its own page: officials say why, and the read is recorded."""
    try:
        pk = int(request.GET["incident"])
    except ValueError:
        return redirect("cases:new")
    if not has_any(request.user, Role.SUPERVISOR, Role.CITY_OFFICIAL):  # who read incidents
        raise PermissionDenied("Your role does not allow reading incidents.")
    incident = read_incident(request, pk, page="cases.new_from_incident")
    if isinstance(incident, HttpResponse):
        return incident
    existing = selectors.case_of_incident(incident)
    if existing is not None:
        return _incident_has_case(request, incident, existing, status=200)
    # What the system fills in is the city's record, in Japanese whatever the page's language
    # (as the scan's cases are): filled in English on the English page, the case and its
    # Japanese report carried "Incident #3" and the incident's English sentence.
    with translation.override("ja"):
        reported_by = _("Incident #%(pk)s") % {"pk": incident.pk}
        summary = incident_text(incident)
        title = str(incident.get_kind_display())
    channel = Channel.SYSTEM
    complained_by = (incident.detail or {}).get("reported_by", "")
    if incident.kind == IncidentKind.COMPLAINT and complained_by:
        # A complaint is a person's words: the case names them, as told in person (the
        # official changes the channel if it came by phone or letter).
        reported_by, channel = complained_by, Channel.IN_PERSON
    form = IntakeForm(
        initial={
            "event_date": timezone.localtime(incident.occurred_at).date(),
            "date_precision": DatePrecision.DAY,
            "reported_by": reported_by,
            "channel": channel,
            "summary": summary,
            "desk_location": _desk_place(_incident_desk(incident)),
            "title": title,
        }
    )
    return render(
        request,
        "cases/new.html",
        {"form": form, "incident": incident, "subject": selectors.intake_subject(incident)},
    )


@roles_required(*OFFICIAL)
@require_GET
@reason_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visible = selectors.visible_cases(request.user)
    case = get_object_or_404(
        visible.select_related("payment_link", "legacy_link", "incident", "scan_origin"), pk=pk
    )
    # A public-fund or insurance case's registration (the one the resident reported, or the
    # one its suspension acted on), shown with its visit's trail as a point link is.
    registration = selectors.case_registration(case) if case.programme != Programme.POINTS else None
    record_read(
        request,
        case.holder,
        page="cases.case",
        reason=chosen_reason(request),
        subject=case,
        others=selectors.residents_shown(case, registration),
    )
    trail: list[Any] = []
    made_in = case.payment_link or registration
    if made_in is not None and case.legacy_link_id is None:
        trail = [(e, display(e)) for e in selectors.visit_trail(made_in.visit)]
    allowed = steps.allowed(case.status, case.programme)
    regrant = _regrant_offer(case) if "regrant" in allowed else None
    if regrant is None or regrant["why"]:
        allowed = [name for name in allowed if name != "regrant"]
    draft = _take_draft(request, case)
    return render(
        request,
        "cases/detail.html",
        {
            "case": case,
            "status": case.status,
            # The forensic scan's finding a case was opened from (the scans app's record of it),
            # named where an incident's case names its incident.
            "scan_origin": getattr(case, "scan_origin", None),
            "timeline": case.timeline.select_related("actor").order_by("seq"),
            "findings": findings.findings_for(case),
            # The notice letters recorded on the case (by the residents app, if installed);
            # their links carry the reason given for this page.
            "notices": list(case.notices.order_by("pk")) if hasattr(case, "notices") else [],
            "read_reason": chosen_reason(request),
            "trail": trail,
            "holder_kana": selectors.holder_kana(case, registration),
            "registration": registration,
            "insurer_suspension": selectors.insurer_suspension(case, page_language()),
            "steps": [
                {
                    "name": name,
                    "title": steps.title(name, case.programme, legacy=bool(case.legacy_link_id)),
                    "form": _step_form(case, name, draft),
                }
                for name in allowed
            ],
            "step_names": allowed,
            # The re-grant of a point case's returned points: what it grants and to which of
            # the resident's links, or why it cannot now (its form then not offered).
            "regrant": regrant,
            # A refused step no longer offered (recorded meanwhile from another page): what was
            # typed is shown to copy, never sent again by itself.
            "unsent": (
                draft["data"] if draft and draft["step"] not in (*allowed, LEGACY) else None
            ),
            "session_log": [
                {
                    **r,
                    "event_label": steps.session_event(str(r.get("event", ""))),
                    "at_text": _session_time(str(r.get("at", ""))),
                }
                for r in (case.legacy_link.session_log if case.legacy_link else [])
                if isinstance(r, dict)
            ],
            "legacy_form": (
                LEGACY_FORMS[Programme(case.programme)](
                    prefix=LEGACY,
                    # A refused form's fields as typed (the message above says why), to put
                    # right; the card or account number is typed again.
                    initial=draft["data"] if draft and draft["step"] == LEGACY else None,
                )
                if case.payment_link_id is None
                and case.legacy_link_id is None
                and selectors.reported_registration(case) is None
                and case.status != CaseStatus.CLOSED
                else None
            ),
        },
    )


# The re-grant's refusals the case page says in the step's place (no form): the resident has
# not linked again yet, or the points were granted again already. A case with no returned
# points, or none in madoguchi's ledger, has no re-grant to speak of.
_REGRANT_SAID = frozenset({"regrant_no_link", "already_regranted"})


def _regrant_offer(case: Case) -> dict[str, Any] | None:
    """The re-grant step as the case page shows it, while the table allows it: the points
    waiting and the link they go to (`link`, in the page's language), or `why` not now (the
    step's own refusal, and no form); None when the page says nothing of it."""
    state = selectors.regrant_state(case)
    refused = services.regrant_refusal(state, case.status)
    if state is None or (refused is not None and refused.code not in _REGRANT_SAID):
        return None
    if refused is not None:
        return {"why": refused.text()}
    return {"why": "", "points": state.points, "link": str(services.link_words(state.target))}


def _form_errors(form: Any) -> str:
    """A form's errors as the page says them: each field by its label, in the page's language
    (not its code: event_date, date_precision), with the language's own colon."""
    # English sentences end in a full stop: joined by a space, not "; " (「….; …」).
    colon, sep = (": ", " ") if english() else ("：", "　")
    return sep.join(
        (f"{form.fields[k].label}{colon}" if k in form.fields else "") + " ".join(str(e) for e in v)
        for k, v in form.errors.items()
    )


@roles_required(*OFFICIAL)
@require_POST  # a GET is told the address takes POST (405 with the reason), not "no permission"
def case_legacy_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a link made before signed completion (from the old system) and attach it."""
    case = get_object_or_404(selectors.visible_cases(request.user), pk=pk)
    form = LEGACY_FORMS[Programme(case.programme)](request.POST, prefix="legacy")
    key = request.POST.get(f"legacy-{once.KEY_FIELD}", "")
    target = f"case {case.pk} legacy link"  # the key is this case's form's
    # The same form sent again (a double click, the back button) is told so first: the case
    # has the link the first one attached, which `refuse_unattachable` would refuse.
    if once.sent_before(key, LegacyLink, target=target):
        messages.info(request, _SENT_TWICE_LEGACY)
        return redirect("cases:detail", pk=case.pk)
    try:
        # A case that has a link already, or is closed, is refused before the form's fields
        # (the command's order: `legacy.refuse_unattachable`).
        legacy.refuse_unattachable(case)
    except services.CaseRefused as exc:
        messages.error(request, exc.text())
        return redirect("cases:detail", pk=case.pk)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        _keep_legacy_draft(request, case, form)
        return redirect("cases:detail", pk=case.pk)
    try:
        now = once.record_once(
            key,
            LegacyLink,
            lambda: legacy.attach_from_form(case, actor=request.user, data=form.cleaned_data),
            target=target,
        )[1]
    except services.CaseRefused as exc:
        # Both sends at once: the second waited for the case's row lock, then found the link
        # the first attached (with its key, committed together).
        if exc.code == "link_already_set" and once.sent_before(key, LegacyLink, target=target):
            messages.info(request, _SENT_TWICE_LEGACY)
        else:
            messages.error(request, exc.text())
            _keep_legacy_draft(request, case, form)
    else:
        if now:
            messages.success(request, _("The legacy link was recorded and attached to the case."))
        else:
            messages.info(request, _SENT_TWICE_LEGACY)
    return redirect("cases:detail", pk=case.pk)


@roles_required(*OFFICIAL)
@require_POST
def case_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404("No such step.")
    case = get_object_or_404(selectors.visible_cases(request.user), pk=pk)
    cls, fn = _step(case, step)
    form = cls(request.POST, prefix=step)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        _keep_draft(request, case, step)
        return redirect("cases:detail", pk=case.pk)
    d = dict(form.cleaned_data)
    key = d.pop(once.KEY_FIELD)
    for name in getattr(form, "confirmation_fields", ()):
        d.pop(name)  # the form's own check (a re-grant's confirmation)
    try:
        # The key is this case's step's: sent with another case's or step's form, it is that
        # form's first send (docs/cases.md, "Recorded once").
        now = once.record_once(
            key,
            Case,
            lambda: fn(case, actor=request.user, **d).case,
            target=f"case {case.pk} step {step}",
        )[1]
    except Refusal as exc:
        messages.error(request, exc.text())
        _keep_draft(request, case, step)
    else:
        messages.success(request, _("Recorded.") if now else _SENT_TWICE_STEP)
    return redirect("cases:detail", pk=case.pk)


def _lines(text: str) -> list[str]:
    """A text's non-empty lines, stripped: a textarea sends CRLF and may add a last newline."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def shown_digest(text: str) -> str:
    """A digest of a report field's text as the edit compares it (its non-empty lines,
    stripped), carried by the form to tell, after a stale save's refusal, which fields the
    official left as their page showed them."""
    return hashlib.sha256("\n".join(_lines(text)).encode()).hexdigest()


@roles_required(*OFFICIAL)
@require_http_methods(["GET", "POST"])
@reason_required
def case_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The report page (edit, preview). It carries the resident's comment and labels, so an
    official says why first, as on the case page; its Markdown and PDF links carry that reason."""
    case = get_object_or_404(selectors.visible_cases(request.user), pk=pk)
    # What the official leaves as it was offered is saved empty, so the report keeps following
    # the case (its programme's title, a check's once it is closed with no error found; the
    # findings' measures).
    title = document.default_title(case)
    prevention = "\n".join(document.default_prevention(case))
    initial = {
        "title": case.report_title or title,
        "prevention": case.report_prevention or prevention,
        "revision": case.report_revision,
    }
    initial["title_shown"] = shown_digest(initial["title"])
    initial["prevention_shown"] = shown_digest(initial["prevention"])
    form = ReportEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            now = once.record_once(
                d[once.KEY_FIELD],
                Case,
                lambda: services.case_report_edit(
                    case,
                    actor=request.user,  # type: ignore[arg-type]
                    title="" if d["title"].strip() == title else d["title"],
                    prevention=""
                    if _lines(d["prevention"]) == _lines(prevention)
                    else d["prevention"],
                    # A form without its revision (a script's) saves as before, as one without
                    # its one-time key does.
                    revision=d["revision"],
                ),
                target=f"case {case.pk} report",
            )[1]
        except Refusal as exc:
            # Someone saved meanwhile: the page shows their save, and keeps this official's
            # edits in the form with the revision now saved, so that sending it again saves
            # them. A field the official left as their page showed it takes the value now
            # saved, so that sending the form again does not write over the other save.
            messages.error(request, exc.text())
            case.refresh_from_db()
            saved = {
                "title": case.report_title or title,
                "prevention": case.report_prevention or prevention,
            }
            data = request.POST.copy()
            for name, value in saved.items():
                if d[f"{name}_shown"] and shown_digest(d[name]) == d[f"{name}_shown"]:
                    data[name] = value
                data[f"{name}_shown"] = shown_digest(value)
            data["revision"] = str(case.report_revision)
            form = ReportEditForm(data, initial=initial)
        else:
            messages.success(request, _("Saved.") if now else _SENT_TWICE_STEP)
            return redirect("cases:report", pk=case.pk)
    doc = document.build(case)
    reason = chosen_reason(request)
    record_read(
        request,
        case.holder,
        page="cases.report",
        reason=reason,
        subject=case,
        others=selectors.residents_shown(case),
    )
    return render(
        request,
        "cases/report.html",
        {
            "case": case,
            "form": form,
            "markdown": document.to_markdown(doc),
            "read_reason": reason,
        },
    )


@roles_required(*OFFICIAL)
@require_GET
@reason_required
def case_report_md(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(selectors.visible_cases(request.user), pk=pk)
    record_read(
        request,
        case.holder,
        page="cases.report",
        reason=chosen_reason(request),
        subject=case,
        others=selectors.residents_shown(case),
    )
    response = HttpResponse(
        document.to_markdown(document.build(case)), content_type="text/markdown; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{case.reference}.md"'
    return response


@roles_required(*OFFICIAL)
@require_GET
@reason_required
def case_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(selectors.visible_cases(request.user), pk=pk)
    record_read(
        request,
        case.holder,
        page="cases.report",
        reason=chosen_reason(request),
        subject=case,
        others=selectors.residents_shown(case),
    )
    response = HttpResponse(document.to_pdf(document.build(case)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{case.reference}.pdf"'
    return response


def _session_time(at: str) -> str:
    """An old terminal's record time, stored as ISO 8601 in the city's time (2022-08-10T10:02):
    令和4年8月10日 10:02 on a Japanese page, 2022-08-10 10:02 on an English one. A time the old
    system wrote otherwise is shown as it was written."""
    shown = local_time(at)
    return at.replace("T", " ", 1) if shown == at else shown
