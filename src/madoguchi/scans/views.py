"""City officials' pages: scan runs, their findings per cause and municipality, each finding's
reasoning and evidence timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from madoguchi.accounts.constants import Role
from madoguchi.cases.models import Case
from madoguchi.cases.services import CaseRefused
from madoguchi.identity.access import ask_reason, chosen_reason, reason_required, record_read
from madoguchi.identity.selectors import holder_ids_by_public_id
from madoguchi.incidents.access import roles_required
from madoguchi.plaintext import bad_character
from madoguchi.scan.labels import CAUSES, MISLINK_CAUSES

from . import selectors, services
from .models import ScanRun
from .names import (
    CAUSE_NAMES,
    CHECK_NAMES,
    EVENT_NAMES,
    PROGRAMME_NAMES,
    check_sentence,
    reasoning,
)


def _case(pk: int | None) -> Case | None:
    """The case a finding opened, as the page names it (CASE-00003, not its row number)."""
    return Case(pk=pk) if pk is not None else None


def _record_finding_reads(
    request: HttpRequest, findings: list[Any], *, page: str, subject: Any
) -> None:
    """The read of findings, as the resident's own page shows it: a finding names a resident
    and perhaps another by their ids, and an id `scan export` wrote is a card holder's public
    id here (`identity.selectors.holder_ids_by_public_id`): each such resident sees the read
    under "who looked at my records", naming what was read (`subject`). A finding naming no
    holder here (another system's export) is recorded with what was read as its subject, in
    the audit log only (docs/resident.md)."""
    reason = chosen_reason(request)
    named = [(f.resident_id, f.other_resident_id) for f in findings]
    holders = holder_ids_by_public_id(i for pair in named for i in pair if i)
    if not holders:
        record_read(request, None, page=page, reason=reason, subject=subject)
        return
    for holder in holders:
        record_read(
            request, ("identity.holder", str(holder)), page=page, reason=reason, subject=subject
        )


def _cause_rows(counts: dict[str, int]) -> list[tuple[str, Any, int]]:
    return [(c, CAUSE_NAMES[c], counts.get(c, 0)) for c in CAUSES]


def _scope(request: HttpRequest) -> dict[str, Any]:
    """Whose findings the pages show: `scope_code` the official's city's municipality code,
    "" for every municipality (the superuser flag), None when their city has none (nothing
    is shown, and the page says why); `operator_view` whether the run's input and totals show."""
    if selectors.sees_every_municipality(request.user):
        return {"scope_code": "", "operator_view": True}
    # A run's input directory on the server and its link totals (every municipality's) are
    # the operators' detail: an official sees their own city's counts and findings only.
    return {"scope_code": selectors.municipality_of(request.user) or None, "operator_view": False}


def _ask_reason(request: HttpRequest, run: ScanRun) -> HttpResponse | None:
    """The page asking the official's reason, before a page or report that lists findings of
    `run` (each names a resident and another resident by their ids, as a finding's page does):
    None when a reason was given, or when the reader sees no finding of the run (a page of
    counts only). The run list shows counts only and asks nothing."""
    if not selectors.findings(run, request.user).exists():
        return None
    return ask_reason(request)


@roles_required(Role.CITY_OFFICIAL)
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    scoped = _scope(request)
    recorded = list(selectors.runs()[:100]) if scoped["scope_code"] is not None else []
    counts = selectors.counts_by_cause(request.user, recorded)
    runs = [(r, _cause_rows(counts[r.pk])) for r in recorded]
    return render(
        request,
        "scans/list.html",
        {"runs": runs, "causes": [CAUSE_NAMES[c] for c in CAUSES], **scoped},
    )


@roles_required(Role.CITY_OFFICIAL)
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(selectors.runs(), pk=pk)
    asked = _ask_reason(request, run)
    if asked is not None:
        return asked
    reason = chosen_reason(request)
    cause = request.GET.get("cause", "")
    municipality = request.GET.get("municipality", "")
    if bad_character(cause + municipality):  # a NUL in the filter was a server error
        messages.warning(
            request,
            _("The filter contains characters that cannot be used; all findings are shown."),
        )
        cause = municipality = ""
    found = selectors.findings(run, request.user, cause=cause, municipality=municipality)
    page = Paginator(found, 100).get_page(request.GET.get("page"))
    case_of = selectors.cases_for([f.link_id for f in page])
    if page.object_list:  # the rows name residents by their ids: the read is recorded
        _record_finding_reads(request, list(page.object_list), page="scans.run", subject=run)
    rows = [
        (
            f,
            CAUSE_NAMES[f.cause],
            CHECK_NAMES.get(f.holder_check, ""),
            _case(case_of.get(f.link_id)),
        )
        for f in page
    ]
    munis = [
        (m["municipality"], [m["counts"].get(c, 0) for c in CAUSES])
        for m in selectors.counts_by_municipality(run, request.user)
    ]
    return render(
        request,
        "scans/run.html",
        {
            "run": run,
            "causes": _cause_rows(selectors.counts_by_cause(request.user, [run])[run.pk]),
            "cause_names": [CAUSE_NAMES[c] for c in CAUSES],
            "municipalities": munis,
            "rows": rows,
            "page": page,
            "cause": cause,
            # The filter's heading names the cause as the table does, not by its code.
            "cause_name": CAUSE_NAMES.get(cause, cause),
            "municipality": municipality,
            # The finding pages and the report ask the same reason: their links carry it.
            "read_reason": reason,
            **_scope(request),
        },
    )


def _run_report(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """The run's report as `scan run` writes it, built for the reader: a city official's
    holds their own city's findings only, without the run's input on the server or its
    totals (the files the run wrote hold every municipality's)."""
    run = get_object_or_404(selectors.runs(), pk=pk)
    if _scope(request)["scope_code"] is None:
        messages.error(
            request,
            _(
                "No report is given: your city has no municipality code, so no finding is "
                "yours. An administrator sets the city's municipality code on its organisation."
            ),
        )
        return redirect("scans:run", pk=pk)
    # The report names residents by their ids, as the run's page does: the official says why
    # first, and the read is recorded with it.
    asked = _ask_reason(request, run)
    if asked is not None:
        return asked
    record_read(request, None, page="scans.report", reason=chosen_reason(request), subject=run)
    # Rendered at the first request of the reader's scope and stored (a PDF took about 100 s
    # on a loaded machine): served from the store while the run's findings are unchanged.
    response = HttpResponse(
        services.stored_report(run, request.user, kind),
        content_type="application/pdf" if kind == "pdf" else "text/html; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="scan-{run.pk}-report.{kind}"'
    response["Cache-Control"] = "no-store"
    return response


@roles_required(Role.CITY_OFFICIAL)
@require_GET
def run_report_html(request: HttpRequest, pk: int) -> HttpResponse:
    return _run_report(request, pk, "html")


@roles_required(Role.CITY_OFFICIAL)
@require_GET
def run_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _run_report(request, pk, "pdf")


@roles_required(Role.CITY_OFFICIAL)
@require_GET
@reason_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One finding: the resident's and the other resident's ids, the account's holder name and
    last 4, the desk's events around the commit. Asked a reason first, as a case is, and the
    read recorded with it."""
    visible = selectors.visible_findings(request.user)
    finding = get_object_or_404(visible.select_related("run"), pk=pk)
    _record_finding_reads(request, [finding], page="scans.finding", subject=finding)
    opened = selectors.case_of_finding(finding)
    timeline = [
        {
            **e,
            "label": EVENT_NAMES.get(e["event"], e["event"]),
            "at": str(e.get("at", "")).replace("T", " "),  # as stored: ISO 8601
            "hit": e.get("link_id") == finding.link_id,
        }
        for e in finding.timeline
    ]
    own = selectors.own_findings(request.user).filter(pk=finding.pk).exists()
    return render(
        request,
        "scans/finding.html",
        {
            "finding": finding,
            "cause": CAUSE_NAMES[finding.cause],
            "check": CHECK_NAMES.get(finding.holder_check, ""),
            "check_sentence": check_sentence(finding),
            "reasoning": reasoning(finding),
            "programme": PROGRAMME_NAMES.get(finding.programme, finding.programme),
            "timeline": timeline,
            "case": _case(opened.case_id if opened else None),
            "mislink": finding.cause in MISLINK_CAUSES,
            # The superuser flag reads every city's findings; only their own city's cases open,
            # and only their own city's officials read the holder's name (as on the case page).
            "own": own,
            # The rule's id is its name and a version (logout_omission.v1; a cause may have
            # several rules: logout_omission_by_commit.v1): the page names the cause in its
            # heading and its reasoning says which evidence the rule read (a card read or
            # another resident's commit), so only the version is shown here.
            "rule_version": finding.rule.rpartition(".")[2] or finding.rule,
        },
    )


@roles_required(Role.CITY_OFFICIAL)
@require_POST
def finding_open_case(request: HttpRequest, pk: int) -> HttpResponse:
    """The finding page's button: the case `madoguchi scan open-cases` would open for it."""
    finding = get_object_or_404(selectors.visible_findings(request.user), pk=pk)
    try:
        link, new = services.open_case(finding, actor=request.user)  # type: ignore[arg-type]
    except CaseRefused as exc:
        messages.error(request, exc.text())
        return redirect("scans:finding", pk=pk)
    if new:
        messages.success(request, _("Case %(ref)s opened.") % {"ref": link.case.reference})
    else:
        messages.info(request, _("This link already has a case."))
    return redirect("cases:detail", pk=link.case_id)
