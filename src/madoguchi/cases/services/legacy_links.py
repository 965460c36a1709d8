"""Links made before signed completion: recorded (a keyed hash and the last 4) and attached
to a case that has no signed link."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit

from .. import remedy
from ..constants import CaseStatus, DatePrecision
from ..events import CASES_LEGACY_LINK_ADDED, CASES_LEGACY_LINK_ATTACHED
from ..models import Case, LegacyLink
from .access import CaseRefused, require_official
from .transitions import _check_date


def legacy_link_add(
    *,
    actor: User,
    resident_label: str,
    provider_name: str,
    account_number: str,
    linked_on: date | None = None,
    linked_on_precision: DatePrecision | str = DatePrecision.UNKNOWN,
    desk_location: str = "",
    session_log: list[dict[str, Any]] | None = None,
    source: str = "",
    holder: Any = None,
    identifier: str = "",
) -> LegacyLink:
    """Record a link made before signed completion. The number is kept only as a keyed hash
    and its last 4 characters; ``identifier``, when given, is what is hashed instead: the one
    string the programme's registration hashed (`remedy.programme_identifier`: a bank account
    or insurance details with the number), so a comparison can find it the same."""
    require_official(actor)
    linked_on, precision = (
        (None, DatePrecision.UNKNOWN.value)
        if DatePrecision(linked_on_precision) == DatePrecision.UNKNOWN
        else _check_date(linked_on, linked_on_precision)
    )
    with transaction.atomic():
        legacy = LegacyLink.objects.create(
            resident_label=resident_label,
            holder=holder,
            provider_name=provider_name,
            account_hash=remedy.identifier_hash(identifier or account_number),
            account_last4=remedy.identifier_last4(account_number),
            linked_on=linked_on,
            linked_on_precision=precision,
            desk_location=desk_location,
            session_log=session_log or [],
            source=source,
        )
        audit.record(
            CASES_LEGACY_LINK_ADDED,
            actor=actor,
            subject=legacy,
            payload={"resident": resident_label},
        )
    return legacy


CASE_CLOSED_LEGACY_LINK = _(
    "This case is closed, and a closed case is not changed: the legacy link was not recorded "
    "or attached. Open a new case for what was found."
)


def case_attach_legacy_link(case: Case, *, actor: User, legacy_link: LegacyLink) -> Case:
    """Attach a pre-signature link record to a case that has no signed link (audited)."""
    require_official(actor)
    with transaction.atomic():
        # Row locks first (the case), the audit event last.
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.payment_link_id is not None:
            raise CaseRefused("link_already_set", _("The case already has a link."))
        if locked.status == CaseStatus.CLOSED:
            raise CaseRefused("case_closed", CASE_CLOSED_LEGACY_LINK)
        locked.legacy_link = legacy_link
        locked.save(update_fields=["legacy_link"])
        audit.record(
            CASES_LEGACY_LINK_ATTACHED,
            actor=actor,
            subject=locked,
            payload={"case": locked.reference, "resident": legacy_link.resident_label},
        )
    case.legacy_link = legacy_link
    return case
