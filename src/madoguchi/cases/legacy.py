"""Getting a legacy link (made before signed completion) onto a case: from the case page's form
or `madoguchi case legacy-link`. Both go through `attach`: the link is recorded
(`services.legacy_link_add`: the card number only as a keyed hash + last 4) and attached to the
case (`services.case_attach_legacy_link`) in one transaction, or neither."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User

from . import remedy, selectors, services
from .constants import DatePrecision, Programme, too_early
from .findings import wall_clock
from .models import Case, LegacyLink
from .steps import SESSION_EVENTS

_SPLIT = re.compile(r"\s*[,、，\t]\s*")


def parse_session_log(text: str) -> list[dict[str, Any]]:
    """One record per line: `time, event, resident` (time ISO 8601, e.g. 2022-08-10 10:02, on
    Japan's clock; one with a zone is read as Japan's time of that instant; event one of login, card_read, card_removed, committed, logout). Blank lines are skipped. A line dated before
    明治6年1月1日 is refused, naming it."""
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = _SPLIT.split(line, maxsplit=2)
        at = None
        if len(parts) >= 2:
            try:
                at = wall_clock(datetime.fromisoformat(parts[0].replace(" ", "T", 1)))
            except ValueError:
                at = None
        if len(parts) < 2 or at is None or parts[1] not in SESSION_EVENTS:
            raise services.CaseRefused(
                "session_log_invalid",
                _(
                    "Line %(line)s of the session records cannot be read: write 'time, event, "
                    "resident', the event one of %(events)s."
                ),
                params={"line": number, "events": ", ".join(SESSION_EVENTS)},
            )
        if too_early(at.date()):
            # Taken before, the case's page, its report and the PDF failed for good: the era
            # dates begin there, and a case takes one legacy link.
            raise services.CaseRefused(
                "session_log_too_early",
                _(
                    "Line %(line)s of the session records is dated before 1873-01-01 "
                    "(明治6年1月1日), the earliest day a case records. Check the year."
                ),
                params={"line": number},
            )
        records.append(
            {
                "at": at.isoformat(timespec="minutes"),
                "event": parts[1],
                "resident": parts[2] if len(parts) > 2 else "",
            }
        )
    return records


# What a legacy link of each programme must give besides its number, said when it is missing.
_PARTS_REQUIRED = {
    Programme.POINTS: _("Enter the payment card number."),
    Programme.PUBLIC_FUND: _(
        "This is a public-fund account case: enter the bank code, branch code, account type "
        "and account number of the registered account (the registration is kept as all four "
        "together, so the number alone could never be compared with it)."
    ),
    Programme.HEALTH_INSURANCE: _(
        "This is a health-insurance registration case: enter the insurer number, symbol, "
        "number and branch number that were registered (the registration is kept as all four "
        "together, so the number alone could never be compared with it)."
    ),
}


def refuse_unattachable(case: Case) -> None:
    """The refusals that hold whatever was typed, said before anything about what was typed
    (the programme's number, the session records): a case that already has a link
    (`link_already_set`), then a closed case (`case_closed`). The case page's POST and
    `madoguchi case legacy-link` both ask this first; `attach` asks it again under the case's
    row lock."""
    if case.legacy_link_id is not None or case.payment_link_id is not None:
        raise services.CaseRefused("link_already_set", LINK_ALREADY_SET)
    if selectors.reported_registration(case) is not None:
        # The case is about the signed registration the resident reported (its page shows
        # it): a legacy link attached would take its place as the case's subject.
        raise services.CaseRefused("link_already_set", REGISTRATION_REPORTED)
    if case.closed:
        raise services.CaseRefused("case_closed", services.CASE_CLOSED_LEGACY_LINK)


LINK_ALREADY_SET = _("The case already has a link.")
REGISTRATION_REPORTED = _(
    "The case is about the registration the resident reported, made with their card's "
    "signature (shown under the link under investigation): no legacy link is attached to it. "
    "Open a new case for a link from before signed completion."
)


def attach(
    case: Case,
    *,
    actor: User,
    account_number: str,
    desk_location: str = "",
    parts: dict[str, str] | None = None,
    **fields: Any,
) -> LegacyLink:
    """Record the legacy link and attach it to the case, both or neither. ``account_number``
    is the number the link registered (a payment card's, a bank account's, an insured
    person's); ``parts`` the case's programme's other parts of it (`remedy.IDENTIFIER_PARTS`:
    bank, branch and account type; insurer number, symbol and branch), hashed together as its
    registration hashed them. ``fields`` are ``services.legacy_link_add``'s (resident_label,
    provider_name, linked_on, …); the desk location defaults to the case's."""
    refuse_unattachable(case)
    programme = Programme(case.programme)
    identifier = remedy.programme_identifier(programme, account_number, parts or {})
    if not account_number.strip() or identifier is None:
        raise services.CaseRefused("account_number_required", _PARTS_REQUIRED[programme])
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        refuse_unattachable(locked)
        link = services.legacy_link_add(
            actor=actor,
            account_number=account_number,
            identifier=identifier,
            desk_location=desk_location or locked.desk_location,
            **fields,
        )
        services.case_attach_legacy_link(locked, actor=actor, legacy_link=link)
    case.legacy_link = link
    return link


def attach_from_form(case: Case, *, actor: Any, data: dict[str, Any]) -> LegacyLink:
    refuse_unattachable(case)  # before the session records are read
    return attach(
        case,
        actor=actor,
        resident_label=data["resident_label"],
        provider_name=data["provider_name"],
        account_number=data["account_number"],
        parts={k: data[k] for k in remedy.IDENTIFIER_PARTS[str(case.programme)] if k in data},
        linked_on=data.get("linked_on"),
        linked_on_precision=data.get("linked_on_precision") or DatePrecision.UNKNOWN,
        desk_location=data.get("desk_location", ""),
        session_log=parse_session_log(data.get("session_log", "")),
        source=data.get("source", ""),
    )
