"""The case's published report: its title and prevention measures, edited by an official."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.plaintext import blank

from ..events import CASES_REPORT_EDITED
from ..models import Case
from .access import CaseRefused, require_official

# A save from the edit page shown before another official saved: nothing is written over theirs.
REPORT_SAVED_MEANWHILE = _(
    "Someone saved this report's edit after you opened it (another official, or you in another "
    "tab): yours was not saved, so as not to write over it. The report below is the one now "
    "saved; the fields you changed keep your text in the form, the others show the saved text. "
    "Check them and save again."
)


def case_report_edit(
    case: Case, *, actor: User, title: str, prevention: str, revision: int | None = None
) -> Case:
    """Save the report's title and measures. ``revision``: the edit's revision the form was
    shown with (`Case.report_revision`); when another save came since, refused
    (`report_saved_meanwhile`), nothing written. None saves whatever came before (a script).
    A title or measures that show nothing (`plaintext.blank`) are none: the report's own."""
    require_official(actor)
    title = "" if blank(title) else title
    prevention = "" if blank(prevention) else prevention
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if revision is not None and revision != locked.report_revision:
            raise CaseRefused("report_saved_meanwhile", REPORT_SAVED_MEANWHILE)
        Case.objects.filter(pk=case.pk).update(
            report_title=title,
            report_prevention=prevention,
            report_revision=F("report_revision") + 1,
        )
        audit.record(
            CASES_REPORT_EDITED, actor=actor, subject=case, payload={"case": case.reference}
        )
    case.report_title, case.report_prevention = title, prevention
    case.report_revision = locked.report_revision + 1
    return case
