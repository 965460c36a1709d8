"""Reads for the resident page: everything recorded for one card holder (all of their
certificates, renewals included), and who looked at it. Nothing here takes anything but the
signed-in holder, so nothing can reach another resident's records."""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.constants import (
    RELATIONSHIP_EN,
    RELATIONSHIP_JA,
    GrantStatus,
    LinkStatus,
    NameException,
)
from madoguchi.benefits.identifiers import masked
from madoguchi.benefits.models import (
    Grant,
    HealthInsuranceRegistration,
    PaymentLink,
    PublicFundAccount,
)
from madoguchi.benefits.states import state_text as registration_state_text
from madoguchi.cases.constants import CaseStatus, CloseOutcome, EntryKind, Programme
from madoguchi.cases.models import Case
from madoguchi.cases.selectors import visible_cases
from madoguchi.desk.models import Completion
from madoguchi.era import format_era_time
from madoguchi.identity.access import READ_PAGES, READ_REASONS, SHELL_READER
from madoguchi.identity.events import RECORD_READ
from madoguchi.identity.selectors import holder_ids_merged_into
from madoguchi.language import english, page_language
from madoguchi.namecheck.reasons import (
    Outcome,
    Reason,
    resident_outcome_text,
    resident_reason_text,
)

from .constants import REPORTED_BY, ItemKind
from .models import Notice, NotMeReport, ResidentSession

CASE_STAGE_TEXT: dict[str, Any] = {
    CaseStatus.INTAKE: _("Your report has been received; the city will look into it."),
    CaseStatus.INVESTIGATION: _("The city is investigating what happened."),
    CaseStatus.SUSPENDED: _("The link in question has been stopped while the city investigates."),
    CaseStatus.CONTACTING: _("The city is contacting the people and companies concerned."),
    CaseStatus.POINTS_RETURNED: _("Points given by mistake have been taken back."),
    CaseStatus.CORRECTED: _("The registration made by mistake has been corrected."),
    CaseStatus.REENABLED: _("You can apply again with your own card at a desk."),
    CaseStatus.NOTIFIED: _("The city has told you the outcome."),
    CaseStatus.CLOSED: _("This case is closed."),
}

# A public-fund or insurance case's stages where the point words would mislead: what is stopped
# is a registration, and an insurance registration is stopped by its insurer, at the city's
# request (docs/cases.md).
_REGISTRATION_STAGE_TEXT: dict[str, dict[str, Any]] = {
    Programme.PUBLIC_FUND: {
        CaseStatus.SUSPENDED: _(
            "The registration in question has been stopped while the city investigates."
        ),
    },
    Programme.HEALTH_INSURANCE: {
        CaseStatus.SUSPENDED: _(
            "The city is asking the insurer to stop the registration in question while it "
            "investigates."
        ),
    },
}


# A closed case, by what its closing found (as its letter says it).
CLOSED_STAGE_TEXT: dict[str, Any] = {
    CloseOutcome.CORRECTED: _("This case is closed: the error found has been put right."),
    CloseOutcome.NO_ERROR: _("This case is closed: the city found no error."),
}


# The intake's stage for a resident who did not report the case: it was opened from what the
# account's owner, the call centre or a payment service told the city, from an incident, or from
# a legal representative's "this was not me" about a minor's record. Until round 22 every case
# read 「お申し出を受け付けました。」 to its resident, thanked for a report they never made.
INTAKE_NOT_REPORTED_TEXT = _("The city has started looking into this matter.")


# Who reported, as an official records the resident themselves reporting (besides the resident
# label they gave the case) or as the resident's own page records it.
_THEMSELVES = frozenset({REPORTED_BY, "本人", "ご本人"})


def holder_reported(case: Any) -> bool:
    """Whether the case's resident reported the case themselves: from their own page (the
    intake or a further report), or at an intake whose "who reported" is the case's resident.
    A case opened from an incident, or from what another person reported (the account's owner,
    the call centre, the payment service), was not: its closing letter does not thank them for
    a report they never made, and their page does not call it their report."""
    resident = case.resident_label.strip()
    for kind, label in case.timeline.filter(
        kind__in=(EntryKind.INTAKE, EntryKind.NOTE)
    ).values_list("kind", "party_label"):
        label = label.strip()
        if label in _THEMSELVES or (kind == EntryKind.INTAKE and label and label == resident):
            return True
    return False


def case_stage(case: Any, *, reported: bool = True) -> Any:
    """The case's stage in the resident's words, by what the case is about (a closed one by
    what its closing found). `reported`: whether the resident reading it reported the case
    (their own "this was not me" joined it, or they are its resident and `holder_reported`);
    an intake they did not report is not called their report."""
    if case.status == CaseStatus.INTAKE and not reported:
        return INTAKE_NOT_REPORTED_TEXT
    if case.status == CaseStatus.CLOSED:
        close = case.timeline.filter(kind=EntryKind.CLOSE).order_by("-seq").first()
        found = CLOSED_STAGE_TEXT.get(close.outcome) if close else None
        if found is not None:
            return found
    by_programme = _REGISTRATION_STAGE_TEXT.get(case.programme, {})
    return by_programme.get(case.status) or CASE_STAGE_TEXT.get(case.status, case.status)


LINK_STATUS_TEXT: dict[str, Any] = {
    LinkStatus.EFFECTIVE: _("In use"),
    LinkStatus.SUSPENDED: _("Stopped while a case is investigated"),
    LinkStatus.REPLACED: _("Ended through a case"),
}

NOT_ME_REASONS_JA = {
    "never_applied": "この手続を申し込んでいない",
    "not_my_account": "口座が自分のものではない",
    "not_at_desk": "その日時に窓口に行っていない",
    "other": "その他",
}

READER_ROLES: dict[str, Any] = {
    "desk_staff": _("Desk staff"),
    "supervisor": _("Contractor supervisor"),
    "city_official": _("City official"),
    "operator": _("Operator"),
    SHELL_READER: _("Operator, with a command at the server"),
}


def name_check_text(row: Any, lang: str) -> str:
    """The holder-name check result in words (never a code)."""
    try:
        text = resident_outcome_text(Outcome(row.name_outcome), lang)
    except ValueError:
        return str(_("No name check was recorded."))
    with contextlib.suppress(ValueError):
        # The outcome is a word (一致, Match) and the reason a sentence: a colon between them,
        # where a space ran them together ("Match The account's name was compared …").
        colon = ": " if lang == "en" else "："
        text += colon + resident_reason_text(Reason(row.name_reason), lang)
    if getattr(row, "close_confirmed", False):
        text += " " + str(_("You confirmed the account name at the desk."))
    return text


def representative_exception(row: Any, lang: str) -> dict[str, Any] | None:
    """A link or public-fund account made for the resident (a minor) into their legal
    representative's own account under the minor-representative exception, as the minor's page
    says it: the relationship, the representative's reading the account's name was checked
    against (what the resident's card signed) and that check's outcome
    (`representative_outcome`). None for any other row. The minor's own reading was compared
    too and does not match (the account is not theirs), and the page read 「不一致：名義が一致
    しません。別の方の口座の可能性があります。」 with no word of the exception until round 22."""
    if row.name_exception != NameException.MINOR_REPRESENTATIVE or row.representative is None:
        return None
    rep = row.representative
    names = RELATIONSHIP_EN if english(lang) else RELATIONSHIP_JA
    try:
        check = resident_outcome_text(Outcome(row.representative_outcome), lang)
    except ValueError:
        check = str(_("No name check was recorded."))
    else:
        colon = ": " if english(lang) else "："
        check += colon + str(
            _("the account's name was compared with your legal representative's name (kana).")
        )
        if row.close_confirmed:
            check += " " + str(_("The account name was confirmed at the desk."))
    return {
        "relationship": names.get(rep.relationship, names.get("parent", "")),
        "kana": rep.kana,
        "name_check": check,
    }


def insured_name_check_text(fields: dict[str, Any], lang: str) -> str:
    """An insurance registration's name check in words, from what the resident signed: the
    outcome, and that the resident confirmed a close name at the desk. (The reasons' resident
    sentences speak of an account's name, which an insurer's record is not.)"""
    try:
        text = resident_outcome_text(Outcome(str(fields.get("name_outcome", ""))), lang)
    except ValueError:
        return str(_("No name check was recorded."))
    if fields.get("close_confirmed"):
        text += " " + str(_("You confirmed the insured person's name at the desk."))
    return text


def bank_and_branch(account: Any) -> str:
    """A public-fund account's bank and branch by name (their codes only when unnamed)."""
    return f"{account.bank_name or account.bank_code} {account.branch_name or account.branch_code}"


def _desk(row: Any, lang: str = "ja", *, terminal_name: bool = False) -> str:
    """Where it was done: the desk's location, as the resident reads it. The terminal's
    internal name (desk-01) is an id only staff use: it is added, in the page's punctuation,
    for the incident and the case, and stands alone only when the terminal has no location."""
    terminal = row.visit.terminal
    if not terminal.location or not terminal_name:
        return terminal.place
    if not english(lang):
        return f"{terminal.location}（{terminal.name}）"
    return f"{terminal.location} ({terminal.name})"


def signed_lines(completion: Completion) -> list[str]:
    try:
        data = json.loads(bytes(completion.transaction_bytes))
    except ValueError:
        return []
    lines = data.get("display", [])
    return [str(x) for x in lines] if isinstance(lines, list) else []


def grant_status_text(grant: Grant) -> Any:
    if grant.status == GrantStatus.RETURNED:
        return _("Returned")
    if grant.link is not None and grant.link.status == LinkStatus.SUSPENDED:
        return _("Suspended for a case")
    if grant.regrant_of_id is not None:
        return _("Granted again")
    return _("Granted")


def _in_language(row: Any, field: str, lang: str) -> str:
    """A name kept in both languages (`<field>_ja`, `<field>_en`): the page's, else Japanese."""
    japanese = str(getattr(row, f"{field}_ja"))
    return (getattr(row, f"{field}_en") or japanese) if english(lang) else japanese


@dataclass
class Records:
    links: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    completions: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    # Each report as the page shows it: the row, the record it is about, its case's stage.
    reports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.links or self.accounts or self.registrations or self.completions or self.cases
        )


def _own_or_represented(holder: Any) -> Q:
    """A link or public-fund account of the holder's, or one made into the holder's own
    account for another resident they were the legal representative of (their own card
    authenticated in that visit, `representative`): both are records of the holder's."""
    return Q(holder=holder) | Q(representative__certificate__holder=holder)


def _signed_by(holder: Any) -> Q:
    """A completion the holder's card signed: as the visit's resident, or as the second signer,
    another resident's legal representative (`Completion.second_certificate`)."""
    return Q(visit__holder=holder) | Q(second_certificate__holder=holder)


def records(holder: Any, lang: str = "ja") -> Records:
    lang = page_language(lang)
    out = Records()
    if holder is None:
        return out
    for link in (
        PaymentLink.objects.filter(_own_or_represented(holder))
        .select_related(
            "programme", "programme_version", "provider", "visit__terminal", "representative"
        )
        .order_by("-created_at")
    ):
        out.links.append(
            {
                "row": link,
                "kind": ItemKind.LINK,
                # What the page's "This was not me" names for a screen reader (every button
                # reads the same otherwise).
                "label": describe_item(ItemKind.LINK, link, english=lang == "en"),
                "programme": _in_language(link.programme_version, "name", lang),
                "provider": _in_language(link.provider, "display_name", lang),
                "account": link.masked_account,
                "name_check": name_check_text(link, lang),
                "status": LINK_STATUS_TEXT.get(link.status, link.status),
                "desk": _desk(link, lang),
                "as_representative": link.holder_id != holder.pk,
                # Made for them into their legal representative's account (they are a minor).
                "exception": representative_exception(link, lang),
            }
        )
    for acc in (
        PublicFundAccount.objects.filter(_own_or_represented(holder))
        .select_related("visit__terminal", "representative")
        .order_by("-created_at")
    ):
        out.accounts.append(
            {
                "row": acc,
                "kind": ItemKind.PUBLIC_FUND,
                # What the page's "This was not me" names for a screen reader (every button
                # reads the same otherwise).
                "label": describe_item(ItemKind.PUBLIC_FUND, acc, english=lang == "en"),
                "bank": bank_and_branch(acc),
                "account": masked(acc.account_last4),
                "name_check": name_check_text(acc, lang),
                "status": LINK_STATUS_TEXT.get(acc.status, acc.status),
                "desk": _desk(acc, lang),
                "as_representative": acc.holder_id != holder.pk,
                # Made for them into their legal representative's account (they are a minor).
                "exception": representative_exception(acc, lang),
            }
        )
    for reg in (
        HealthInsuranceRegistration.objects.filter(holder=holder)
        .select_related("visit__terminal", "outside_call", "procedure")
        .order_by("-created_at")
    ):
        # The name check of a registration is in what the resident signed (the row keeps no
        # reading of the resident's name): the reading compared and the outcome.
        signed = reg.procedure.fields if isinstance(reg.procedure.fields, dict) else {}
        out.registrations.append(
            {
                "row": reg,
                "kind": ItemKind.HEALTH_INSURANCE,
                # What the page's "This was not me" names for a screen reader (every button
                # reads the same otherwise).
                "label": describe_item(ItemKind.HEALTH_INSURANCE, reg, english=lang == "en"),
                "insurer": reg.insurer_number,
                "insured": masked(reg.insured_last4),
                "compared_kana": str(signed.get("resident_kana") or ""),
                "name_check": insured_name_check_text(signed, lang),
                "state": registration_state_text(reg, lang),
                "desk": _desk(reg, lang),
            }
        )
    for grant in (
        Grant.objects.filter(holder=holder)
        .select_related("programme", "programme_version", "link__provider")
        .order_by("-created_at")
    ):
        out.grants.append(
            {
                "row": grant,
                "programme": _in_language(grant.programme_version, "name", lang),
                "category": grant.category_text(lang),
                "points": _("%(points)s points") % {"points": f"{grant.points:,}"},
                "status": grant_status_text(grant),
            }
        )
    for completion in (
        Completion.objects.filter(_signed_by(holder))
        .select_related("visit__terminal")
        .order_by("-committed_at")
    ):
        out.completions.append(
            {
                "row": completion,
                "kind": ItemKind.COMPLETION,
                # What the page's "This was not me" names for a screen reader (every button
                # reads the same otherwise).
                "label": describe_item(ItemKind.COMPLETION, completion, english=lang == "en"),
                "lines": signed_lines(completion),
                "desk": _desk(completion, lang),
                "reference": completion.visit.reference,
                # Signed as another resident's legal representative, the second card: the
                # lines their card signed, nothing more of that resident (no receipt).
                "as_representative": completion.visit.holder_id != holder.pk,
            }
        )
    # A case their own "this was not me" joined is theirs to follow too (a legal
    # representative's report of a minor's link joins the minor's case): its stage only.
    reported = set(NotMeReport.objects.filter(holder=holder).values_list("case_id", flat=True))
    for case in (
        Case.objects.filter(Q(holder=holder) | Q(payment_link__holder=holder) | Q(pk__in=reported))
        .distinct()
        .order_by("-opened_at")
    ):
        # Called their report only when it was theirs: a case about their link opened from
        # what someone else told the city (or their representative's report) is not.
        theirs = case.pk in reported or (case.holder_id == holder.pk and holder_reported(case))
        out.cases.append({"row": case, "stage": case_stage(case, reported=theirs)})
    out.notices = list(Notice.objects.filter(holder=holder).select_related("case"))
    _with_reports(out, holder)
    return out


def _with_reports(out: Records, holder: Any) -> None:
    """The resident's "this was not me" reports, newest first, each with the record it is about
    (an anchor on this page) and its case's stage in words; and on each record its latest
    report: while that case is open the page says it was reported, and when, instead of
    offering the button again (a second press adds nothing: `open_not_me_report`)."""
    items = {
        (entry["kind"], entry["row"].pk): entry
        for entry in (*out.links, *out.accounts, *out.registrations, *out.completions)
    }
    for entry in items.values():
        entry["anchor"] = f"{entry['kind']}-{entry['row'].pk}"
    for report in (
        NotMeReport.objects.filter(holder=holder)
        .select_related("case")
        .order_by("-created_at", "-pk")
    ):
        item = items.get((report.item_kind, report.item_id))
        shown = {
            "row": report,
            "item": item,
            "open": report.case.status != CaseStatus.CLOSED,
            "stage": case_stage(report.case),
        }
        out.reports.append(shown)
        if item is not None and "report" not in item:  # the newest report of that record
            item["report"] = shown


def open_not_me_report(holder: Any, kind: str, item_id: int) -> NotMeReport | None:
    """The holder's earlier report on this item whose case is not closed: reporting the same
    record again (a double press, a reload, many presses) opens no second case."""
    for report in NotMeReport.objects.select_related("case").filter(
        holder=holder, item_kind=kind, item_id=item_id
    ):
        if report.case.status != CaseStatus.CLOSED:
            return report
    return None


# The desk's pages ask no reason: the resident's own visit is why they show the records. The
# resident's page says so instead of an empty cell (a dash read as "no reason given").
_DESK_PAGES = ("desk.", "benefits.receipt_pdf")


def _desk_read(payload: dict[str, Any]) -> Any:
    if str(payload.get("page", "")).startswith(_DESK_PAGES):
        return _("Your visit to the desk (the desk asks no other reason)")
    # The contractor's supervisor watching its own desks (their daily reports, incidents) is
    # asked no reason, as a city official is (docs/resident.md): said, not a dash.
    if "supervisor" in str(payload.get("role", "")).split(","):
        return _("The contractor checking its own desks (its supervisor is asked no other reason)")
    return ""


# Reads of one page by one person, for one reason, each within this long of the one after it,
# are one row on the resident's page: the times of the first and the latest, and how many. An
# official working a case reads its page after every step; the resident read a dozen rows a
# minute apart saying the same, and the 200 newest reads pushed the desk's out of sight.
READ_GROUP_GAP = timedelta(minutes=30)


class ReadHistory(list[dict[str, Any]]):
    """`access_history`'s rows, and how many older reads were left out of them (0: none), the
    page saying so: the history read the newest 1,000 reads and showed no sign of the rest, so
    an official's read vanished behind a thousand of a list's."""

    left_out: int = 0


# How many rows the resident's page shows at most, and how many reads it groups into them.
HISTORY_ROWS = 500
HISTORY_READS = 100_000


def access_history(
    holder: Any, rows_at_most: int | None = None, reads_at_most: int | None = None
) -> ReadHistory:
    """Who opened a page or export showing this holder's data (staff and officials), newest
    first, with the reads recorded under a holder merged into it (a renewed card used at a
    desk before its renewal was linked). A person's reads of one page for one reason in a run
    (`READ_GROUP_GAP` apart at most, nobody else's read between) are one row: `time` the
    latest, `first` the earliest, `count` how many. At most `rows_at_most` rows, grouped from
    at most `reads_at_most` reads (`HISTORY_ROWS`, `HISTORY_READS` unless given); `left_out`
    counts the older reads not in them."""
    rows_at_most = HISTORY_ROWS if rows_at_most is None else rows_at_most
    reads_at_most = HISTORY_READS if reads_at_most is None else reads_at_most
    rows = ReadHistory()
    if holder is None:
        return rows
    reads = AuditEvent.objects.filter(
        event_name=RECORD_READ.name,
        subject_type="identity.holder",
        subject_id__in=[str(pk) for pk in holder_ids_merged_into(holder.pk)],
    )
    grouped = 0
    for event in reads.order_by("-time", "-pk").iterator(chunk_size=2000):
        p = event.payload or {}
        key = (event.actor_id, event.terminal_id, p.get("page", ""), p.get("reason", ""))
        last = rows[-1] if rows else None
        if last is not None and last["key"] == key and last["first"] - event.time <= READ_GROUP_GAP:
            last["first"] = event.time
            last["count"] += 1
            grouped += 1
            if grouped >= reads_at_most:
                break
            continue
        if len(rows) >= rows_at_most or grouped >= reads_at_most:
            break
        roles = [READER_ROLES.get(r, r) for r in str(p.get("role", "")).split(",") if r]
        rows.append(
            {
                "key": key,
                "time": event.time,
                "first": event.time,
                "count": 1,
                "organisation": p.get("organisation") or "—",
                "role": ", ".join(str(r) for r in roles) or "—",
                "page": READ_PAGES.get(p.get("page", ""), p.get("page", "")),
                "reason": READ_REASONS.get(p.get("reason", ""), "") or _desk_read(p),
                "terminal": event.terminal_label,
            }
        )
        grouped += 1
    else:
        return rows
    rows.left_out = reads.count() - grouped
    return rows


_ITEM_MODELS: dict[str, Any] = {
    ItemKind.LINK: PaymentLink,
    ItemKind.PUBLIC_FUND: PublicFundAccount,
    ItemKind.HEALTH_INSURANCE: HealthInsuranceRegistration,
}


def own_item(holder: Any, kind: str, item_id: int) -> Any:
    """The holder's own item of this kind, or None (another's and a missing one look alike):
    as the records page shows it, one their card signed or made into their account as another
    resident's legal representative included."""
    if holder is None:
        return None
    if kind == ItemKind.COMPLETION:
        return (
            Completion.objects.select_related("visit__terminal")
            .filter(_signed_by(holder), pk=item_id)
            .first()
        )
    model = _ITEM_MODELS.get(kind)
    if model is None:
        return None
    # A link or account made into the holder's account as another resident's legal
    # representative is theirs to report too; an insurance registration has no representative.
    mine = _own_or_represented(holder) if kind != ItemKind.HEALTH_INSURANCE else Q(holder=holder)
    return model.objects.select_related("visit__terminal").filter(mine, pk=item_id).first()


# kind -> (Japanese, English) pattern of the one-line description; {what} is the item's own part.
_DESCRIBED: dict[str, tuple[str, str]] = {
    ItemKind.LINK: (
        "決済サービスの紐付け（{what}、{when}、{desk}）",
        "payment service link ({what}, {when}, {desk})",
    ),
    ItemKind.PUBLIC_FUND: (
        "公金受取口座の登録（{what}、{when}、{desk}）",
        "public-fund account registration ({what}, {when}, {desk})",
    ),
    ItemKind.HEALTH_INSURANCE: (
        "健康保険証利用登録（保険者 {what}、{when}、{desk}）",
        "health-insurance use registration (insurer {what}, {when}, {desk})",
    ),
}
_SIGNED = (
    "カードで署名された手続（受付 {what}、{when}、{desk}）",
    "procedure signed by the card (visit {what}, {when}, {desk})",
)


def describe_item(
    kind: str, item: Any, *, english: bool = False, terminal_name: bool = False
) -> str:
    """A one-line description for the incident and the case (masked numbers only), in
    Japanese (the case's language) or English. It names the record as the records page does
    (bank and branch by name, the time the record was made or the completion committed), so
    the resident can tell which one they reported. The resident's page names the desk by its
    location; the incident and the case add the terminal's name (``terminal_name``)."""
    moment = getattr(item, "committed_at", None) or getattr(item, "created_at", None)
    started = timezone.localtime(moment or item.visit.started_at)
    when = f"{started:%Y-%m-%d %H:%M}" if english else format_era_time(started)
    desk = _desk(item, "en" if english else "ja", terminal_name=terminal_name)
    if kind == ItemKind.LINK:
        # A provider with no English name is named in Japanese, as its receipt names it (its
        # code, `sim-pay`, read as nothing a resident knows).
        provider = item.provider.display_name_ja
        if english:
            provider = item.provider.display_name_en or item.provider.display_name_ja
        what = f"{provider} {item.masked_account}"
    elif kind == ItemKind.PUBLIC_FUND:
        what = f"{bank_and_branch(item)} {masked(item.account_last4)}"
    elif kind == ItemKind.HEALTH_INSURANCE:
        what = item.insurer_number
    else:
        what = item.visit.reference
    pattern = _DESCRIBED.get(kind, _SIGNED)[1 if english else 0]
    return pattern.format(what=what, when=when, desk=desk)


def own_completion(holder: Any, completion_id: int) -> Completion | None:
    if holder is None:
        return None
    return Completion.objects.filter(pk=completion_id, visit__holder=holder).first()


def own_notice(holder: Any, notice_id: int) -> Notice | None:
    if holder is None:
        return None
    return Notice.objects.select_related("case").filter(pk=notice_id, holder=holder).first()


def own_report(holder: Any, public_id: str) -> NotMeReport | None:
    """The resident's own "not me" report, with its case; None for anyone else's."""
    if holder is None:
        return None
    return (
        NotMeReport.objects.select_related("case")
        .filter(public_id=public_id, holder=holder)
        .first()
    )


def case_notice(user: Any, case_id: int, notice_id: int) -> Notice | None:
    """A notice letter recorded on a case the official may see (`visible_cases`), with its case
    and holder; None otherwise."""
    return (
        Notice.objects.select_related("case", "holder")
        .filter(pk=notice_id, case_id=case_id, case__in=visible_cases(user))
        .first()
    )


def end_reason(public_id: str | None) -> str:
    """Why this browser's resident session ended ("" if unknown or still open)."""
    if not public_id:
        return ""
    row = ResidentSession.objects.filter(public_id=public_id).values_list("end_reason").first()
    return str(row[0]) if row else ""


def presence_left(session: ResidentSession) -> int:
    """Whole seconds left of the presence limit (`RESIDENT_PRESENCE_TIMEOUT_SECONDS` since the
    last heartbeat) before the server counts the session ended as `presence_lost`: what the
    page counts down from when its card agent says nothing (me.js, `untold`)."""
    seen = session.last_seen_at + timedelta(seconds=settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS)
    return max(0, math.ceil((seen - timezone.now()).total_seconds()))
