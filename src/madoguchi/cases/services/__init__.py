"""Remediation case steps. Every step is one appended timeline entry, checked against the one
transition table by `case_transition` (`transitions`), with its audit event in the same
transaction.

City officials run cases; contractor staff (desk staff, supervisors) may only open an intake.

One module per stage of the workflow: `access` (who may act, the refusal), `transitions` (the
table's one writer), `intake`, `legacy_links`, `review` (investigation and comparisons),
`remediation` (the steps that act through benefits), `closing` (the steps that only record) and
`reports`. Callers import the steps from here."""

from .access import (
    INTAKE_ROLES,
    CaseRefused,
    can_open,
    can_run,
    incident_has_case,
    require_official,
)
from .closing import case_close, case_contact, case_note, case_notify
from .intake import INTAKE_TITLE_TEXTS, INTAKE_TITLES, case_open, case_report_added
from .legacy_links import CASE_CLOSED_LEGACY_LINK, case_attach_legacy_link, legacy_link_add
from .remediation import (
    case_correct,
    case_reenable,
    case_regrant,
    case_return_points,
    case_suspend,
    link_words,
    regrant_ready,
    regrant_refusal,
)
from .reports import case_report_edit
from .review import (
    case_compare_account,
    case_compare_identifier,
    case_compare_insured,
    case_investigate,
)
from .transitions import case_transition, step_allowed

__all__ = [
    "CASE_CLOSED_LEGACY_LINK",
    "INTAKE_ROLES",
    "INTAKE_TITLES",
    "INTAKE_TITLE_TEXTS",
    "CaseRefused",
    "can_open",
    "can_run",
    "case_attach_legacy_link",
    "case_close",
    "case_compare_account",
    "case_compare_identifier",
    "case_compare_insured",
    "case_contact",
    "case_correct",
    "case_investigate",
    "case_note",
    "case_notify",
    "case_open",
    "case_reenable",
    "case_regrant",
    "case_report_added",
    "case_report_edit",
    "case_return_points",
    "case_suspend",
    "case_transition",
    "incident_has_case",
    "legacy_link_add",
    "link_words",
    "regrant_ready",
    "regrant_refusal",
    "require_official",
    "step_allowed",
]
