"""Writes: record a scan run with its findings; open remediation cases from findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.cases import services as cases
from madoguchi.cases import text as case_text
from madoguchi.cases.constants import (
    Channel,
    DatePrecision,
    HolderKanaMissing,
    Programme,
    too_early,
)
from madoguchi.cases.events import CASES_LEGACY_LINK_ADDED
from madoguchi.cases.models import LegacyLink
from madoguchi.logsafe import as_read
from madoguchi.plaintext import long_number
from madoguchi.scan.labels import CAUSE_JA, MISLINK_CAUSES, PROGRAMME_JA, recorded_check

from . import report as scan_report
from . import selectors
from .events import SCANS_RUN_RECORDED
from .models import Finding, FindingCase, RunReport, ScanRun
from .names import CAUSE_NAMES, reasoning

if TYPE_CHECKING:
    from madoguchi.scan.run import RunResult

__all__ = [
    "CASE_PROGRAMME",
    "Opened",
    "open_case",
    "open_cases",
    "record_run",
    "report_stamp",
    "stored_report",
]

CASE_PROGRAMME = {
    "mynapoint_2": Programme.POINTS,
    "public_fund": Programme.PUBLIC_FUND,
    "health_insurance": Programme.HEALTH_INSURANCE,
}
"""A finding's programme (the scan's input) as its case names it."""

ANOTHER_MUNICIPALITY = gettext_lazy(
    "This finding is of another municipality than the official's city, so no case is opened: "
    "a finding's case is the record of the finding's own city, opened by an official of that "
    "city (the superuser flag reads every city's findings but opens none of their cases)."
)

_SESSION_EVENT = {
    "login": "login",
    "logout": "logout",
    "card_read": "card_read",
    "card_removed": "card_removed",
    "commit": "committed",
}


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def record_run(result: RunResult, *, os_user: str = "") -> ScanRun:
    """Store a run and all its findings (one transaction), an audit event naming who ran it
    (`os_user`, the shell's user): the run's findings go before the officials."""
    # Here, not at the top: the officials' pages import this module, and the report module
    # loads PyArrow (the scan's engines stay out of the server processes: ``scan.labels``).
    from madoguchi.scan.report import explain_ja

    s = result.summary
    with transaction.atomic():
        run = ScanRun.objects.create(
            started_at=_aware(s.started),
            engine=s.engine,
            input_dir=s.input_dir,
            out_dir=str(result.out),
            # The links not scanned (resident not in residents) beside the input's rows.
            rows={**s.rows, "links_unscanned": s.unscanned},
            counts=result.counts,
            seconds=round(result.seconds, 2),
        )
        rows = result.findings.to_pylist()
        Finding.objects.bulk_create(
            (
                Finding(
                    run=run,
                    link_id=r["link_id"],
                    cause=r["cause"],
                    score=r["score"],
                    rule=r["rule"],
                    resident_id=r["resident_id"],
                    other_resident_id=r["other_resident_id"] or "",
                    programme=r["programme"],
                    channel=r["channel"],
                    municipality_code=r["municipality_code"],
                    terminal_id=r["terminal_id"] or "",
                    staff_id=r["staff_id"] or "",
                    session_staff=r["session_staff"] or "",
                    linked_at=_aware(r["linked_at"]),
                    # No check (null): the link's resident is not in residents (a lent
                    # terminal is flagged without one); recorded as not checkable.
                    holder_check=recorded_check(r["holder_check"]),
                    account_hash=(r.get("account_hash") or "")[:128],
                    account_last4=(r.get("account_last4") or "")[-8:],
                    holder_kana=(r.get("holder_kana") or "")[:100],
                    explanation=explain_ja(r),
                    timeline=[
                        {**e, "at": e["at"].isoformat()}
                        for e in result.timelines.get(r["link_id"], [])
                    ],
                )
                for r in rows
            ),
            batch_size=2000,
        )
        audit.record(
            SCANS_RUN_RECORDED,
            actor=None,
            terminal=None,
            subject=run,
            payload={
                "run": run.pk,
                "findings": len(rows),
                "input_dir": s.input_dir,
                "engine": s.engine,
                "os_user": os_user,
            },
        )
    return run


def _session_log(finding: Finding) -> list[dict[str, Any]]:
    """The finding's timeline (before and after the flagged commit, as its page shows it) in
    the shape of LegacyLink.session_log, other links' commits left out: the case's own findings
    read the records up to the commit, and the official reads the evidence the reasoning names
    (a wrong card's other resident is often served just after the commit). Resident and staff
    ids that are long numbers are masked (`_masked`), as in the case's labels and summary."""
    return [
        {
            "at": e["at"],
            "event": _SESSION_EVENT[e["event"]],
            "resident": _masked(e.get("resident_id") or ""),
            "staff": _masked(e.get("staff_id") or ""),
        }
        for e in finding.timeline
        if e["event"] != "commit" or e.get("link_id") == finding.link_id
    ]


def _holder(finding: Finding) -> dict[str, str]:
    """The account holder's name the finding carries for its legacy link, or why there is
    none: the input gave none, or the run was recorded before findings kept it."""
    if finding.holder_kana:
        return {"holder_kana": finding.holder_kana}
    missing = HolderKanaMissing.NOT_REPORTED
    if not finding.run.holder_kana_kept:
        missing = HolderKanaMissing.NOT_CARRIED
    return {"holder_kana": "", "holder_kana_missing": missing}


def _masked(value: str) -> str:
    """An id of the scan's input as a case names it: as it is, unless it is a long number (a
    city's 宛名番号 of 15 digits as its resident id), which every official form refuses in what
    the case and the city's report carry (`plaintext.long_number`): then its last 4 digits only,
    ＊＊＊＊2345, as an account is masked. The finding's own page, which asks why, shows it
    whole."""
    if not long_number(value):
        return value
    digits = "".join(char for char in as_read(value) if char.isdigit())
    if len(digits) < 12:  # written in kanji digits (`long_number` reads them apart)
        digits = "".join(char for char in as_read(value, kanji=True) if char.isdigit())
    return "＊＊＊＊" + digits[-4:]


def _ids(finding: Finding) -> list[str]:
    """The finding's ids that its case's words may carry, longest first (one that holds another
    is masked whole)."""
    values = {
        finding.resident_id,
        finding.other_resident_id,
        finding.staff_id,
        finding.session_staff,
        finding.terminal_id,
        finding.link_id,
    }
    return sorted((v for v in values if v and long_number(v)), key=len, reverse=True)


def _without_long_ids(text: str, finding: Finding) -> str:
    """`text` (the finding's reasoning, the legacy link's source) with each of the finding's
    ids that is a long number masked (`_masked`)."""
    for value in _ids(finding):
        text = text.replace(value, _masked(value))
    return text


def _case_texts(finding: Finding) -> dict[str, Any]:
    with translation.override("en"):
        cause_en = str(CAUSE_NAMES[finding.cause])
        reasoning_en = _without_long_ids(reasoning(finding), finding)
    return {
        "summary": case_text.neutral(
            case_text.SCAN_SUMMARY,
            reasoning=case_text.by_language(
                ja=_without_long_ids(finding.explanation, finding), en=reasoning_en
            ),
        ),
        "title": case_text.neutral(
            case_text.SCAN_TITLE,
            cause=case_text.by_language(ja=CAUSE_JA[finding.cause], en=cause_en),
        ),
        "reported_by": case_text.neutral(case_text.SCAN_REPORTED_BY, run=finding.run_id),
    }


def linked_on(finding: Finding) -> date:
    """The finding's link date, the day its case's intake and legacy link are dated: the
    link's day in the city's time."""
    return timezone.localtime(finding.linked_at).date()


def _refuse_its_date(finding: Finding) -> None:
    """Refuse a finding whose link date no case can carry: after today (the intake's
    `date_in_future`, meant for a day an official typed, stopped `open-cases` at it), or
    before 明治6年1月1日 (the case's pages, report and PDF then failed for good). The scan's
    input dated the link so; the refusal says which link and why."""
    day = linked_on(finding)
    params = {"link": finding.link_id, "day": day.isoformat()}
    if day > timezone.localdate():
        raise cases.CaseRefused(
            "finding_dated_after_today",
            gettext_lazy(
                "Link %(link)s is dated %(day)s, after today, in the scan's input: a case records "
                "what has happened, so none was opened for it. Check the link's linked_at in the "
                "input's links table."
            ),
            params=params,
        )
    if too_early(day) or any(
        too_early(_day_of(event.get("at"))) for event in finding.timeline or []
    ):
        raise cases.CaseRefused(
            "finding_dated_too_early",
            gettext_lazy(
                "Link %(link)s (or a desk event beside it) is dated before 1873-01-01 "
                "(明治6年1月1日), the earliest day a case records, in the scan's input: no case "
                "was opened for it. Check the link's linked_at in the input's links table."
            ),
            params=params,
        )


def _day_of(at: Any) -> date | None:
    """A timeline event's day as stored (ISO), None when it cannot be read."""
    try:
        return datetime.fromisoformat(str(at)).date()
    except ValueError:
        return None


def _open_one(finding: Finding, actor: User, account_hash: str, last4: str) -> FindingCase:
    day = linked_on(finding)
    resident = _masked(finding.resident_id)
    legacy = LegacyLink.objects.create(
        resident_label=resident,
        provider_name=PROGRAMME_JA.get(finding.programme, finding.programme),
        account_hash=account_hash[:64],
        account_last4=last4[-4:],
        linked_on=day,
        linked_on_precision=DatePrecision.DAY,
        desk_location=_masked(finding.terminal_id),
        session_log=_session_log(finding),
        **_holder(finding),
        source=_("Forensic scan %(run)s, rule %(rule)s, link %(link)s")
        % {"run": finding.run_id, "rule": finding.rule, "link": _masked(finding.link_id)},
    )
    audit.record(
        CASES_LEGACY_LINK_ADDED,
        actor=actor,
        subject=legacy,
        payload={"resident": resident},
    )
    case = cases.case_open(
        actor=actor,
        title=_("Possible mis-link found by the forensic scan: %(cause)s")
        % {"cause": CAUSE_JA[finding.cause]},
        # The resident's ids as the official forms take them: a long number masked (`_masked`).
        resident_label=resident,
        reported_by=_("Forensic scan %(run)s") % {"run": finding.run_id},
        summary=_without_long_ids(finding.explanation, finding),
        # The title, who reported and the reasoning, for an official's page in English
        # (cases.text); the stored Japanese stays the record.
        texts=_case_texts(finding),
        event_date=day,
        date_precision=DatePrecision.DAY,
        channel=Channel.SYSTEM,
        desk_location=_masked(finding.terminal_id),
        legacy_link=legacy,
        other_resident_label=_masked(finding.other_resident_id),
        programme=CASE_PROGRAMME.get(finding.programme, Programme.POINTS),
    )
    return FindingCase.objects.create(
        link_id=finding.link_id, finding=finding, case=case, opened_by=actor
    )


def open_case(finding: Finding, *, actor: User) -> tuple[FindingCase, bool]:
    """Open the case for one mis-link finding from its page (what `open_cases` does for each
    finding over a score). Returns (its case, whether it was opened now); a link with a case
    already (from any run) gets no second one. A family account is not a mis-link: refused."""
    cases.require_official(actor)
    if finding.cause not in MISLINK_CAUSES:
        raise cases.CaseRefused(
            "not_a_mislink",
            gettext_lazy(
                "An account in a family member's name is not a mis-link, so no case is opened."
            ),
        )
    if not selectors.own_findings(actor).filter(pk=finding.pk).exists():
        raise cases.CaseRefused("another_municipality", ANOTHER_MUNICIPALITY)
    return _case_for(finding, actor, finding.account_hash, finding.account_last4)


def _case_for(
    finding: Finding, actor: User, account_hash: str, last4: str
) -> tuple[FindingCase, bool]:
    """The finding's link's case: the one it has (from any run), else opened now. Returns
    (the case, whether it was opened now)."""
    existing = FindingCase.objects.filter(link_id=finding.link_id).first()
    if existing:
        return existing, False
    _refuse_its_date(finding)
    try:
        # The case is the city's record in Japanese (its title, who reported, the legacy
        # link's source), whichever language the official who opened it reads.
        with transaction.atomic(), translation.override("ja"):
            return _open_one(finding, actor, account_hash, last4), True
    except IntegrityError:  # opened concurrently (the command, or another official)
        return FindingCase.objects.get(link_id=finding.link_id), False


@dataclass
class Opened:
    """What `open_cases` did: cases opened now, links that had one, and the findings set aside
    (refused one by one: the link id and the refusal, which says why)."""

    opened: int = 0
    existing: int = 0
    set_aside: list[tuple[str, cases.CaseRefused]] = field(default_factory=list)


def open_cases(
    run: ScanRun,
    *,
    actor: User,
    min_score: float,
    accounts: dict[str, tuple[str, str]] | None = None,
) -> Opened:
    """Open a case for each mis-link finding of ``run`` scoring at least ``min_score``, unless
    its link already has one (from this run or an earlier one). Family accounts are not
    mis-links and get none. The account comes from the stored finding; ``accounts``
    (link_id -> (account_hash, last 4), from the run's findings.parquet) only for findings
    recorded before they kept it. Only the findings of ``actor``'s city's municipality code
    (the superuser flag too: `selectors.own_findings`); refused when their city has none. A
    finding refused on its own (its link dated after today, or before 明治6年1月1日, in the
    input) is set aside with its refusal, and the others are opened: one such finding stopped
    every later one's case."""
    cases.require_official(actor)
    if not selectors.municipality_of(actor):
        raise cases.CaseRefused(
            "no_municipality_code",
            gettext_lazy(
                "The official's city has no municipality code, so none of the scan's findings "
                "is theirs: an administrator sets the city's municipality code "
                "(全国地方公共団体コード) on its organisation in the admin."
            ),
        )
    # Only the findings of the official's own city (another city's are not theirs to open,
    # with the superuser flag neither: the case would be the opener's city's record).
    mine = selectors.own_findings(actor).filter(run=run)
    done = Opened()
    wanted = mine.filter(score__gte=min_score, cause__in=MISLINK_CAUSES).select_related("run")
    for finding in wanted.order_by("link_id"):
        account_hash, last4 = finding.account_hash, finding.account_last4
        if not account_hash:  # a run recorded before findings kept their account
            account_hash, last4 = (accounts or {}).get(finding.link_id, ("", ""))
        try:
            _, new = _case_for(finding, actor, account_hash, last4)
        except cases.CaseRefused as exc:
            done.set_aside.append((finding.link_id, exc))
            continue
        done.opened += new
        done.existing += not new
    return done


REPORT_FORMAT = 3  # 3: dates in the era (令和8年12月2日 16:45), not 2026年12月02日
"""The stored reports' format: raised when ``scans.report`` changes what a report shows, so
the reports stored before are rendered again at their next request."""


def report_scope(user: Any) -> str:
    """Whose findings `user`'s report holds: "*" every municipality's (the superuser flag),
    else their city's municipality code (the view gives none to a city without one)."""
    return "*" if selectors.sees_every_municipality(user) else selectors.municipality_of(user)


def report_stamp(run: ScanRun, user: Any) -> str:
    """What `user`'s report of `run` is built from: the format, and the findings `user` sees
    (how many, their largest id, the sum of their ids; one indexed aggregate). A recorded run's
    findings are written once (``record_run``); a finding added, removed or moved to another
    municipality changes the stamp, and the stored report is rendered again."""
    agg = selectors.findings(run, user).aggregate(n=Count("pk"), top=Max("pk"), ids=Sum("pk"))
    return f"v{REPORT_FORMAT}:{agg['n']}:{agg['top'] or 0}:{agg['ids'] or 0}"


def stored_report(run: ScanRun, user: Any, kind: str) -> bytes:
    """`user`'s report of `run` (``kind`` "html" or "pdf"), rendered at its first request for
    the reader's scope (``report_scope``) and stored: later requests of any reader with that
    scope are served the stored one while the run's findings are unchanged
    (``report_stamp``). One request renders at a time per run: a second waits for the first
    and is served what it stored."""
    scope = report_scope(user)
    stamp = report_stamp(run, user)
    row = RunReport.objects.filter(run=run, scope=scope, stamp=stamp).first()
    if row is not None and (kind == "html" or row.pdf is not None):
        return _stored(row, kind)
    with transaction.atomic():
        ScanRun.objects.select_for_update().filter(pk=run.pk).exists()
        row = RunReport.objects.filter(run=run, scope=scope).first()
        if row is None or row.stamp != stamp:
            row, _new = RunReport.objects.update_or_create(
                run=run,
                scope=scope,
                defaults={"stamp": stamp, "html": scan_report.html(run, user), "pdf": None},
            )
        if kind == "pdf" and row.pdf is None:
            row.pdf = scan_report.to_pdf(row.html)
            row.save(update_fields=["pdf", "made_at"])
    return _stored(row, kind)


def _stored(row: RunReport, kind: str) -> bytes:
    if kind == "html":
        return row.html.encode()
    return bytes(row.pdf or b"")  # stored by the caller
