"""A case's system-made words in the page's language.

A case's title, its resident as named, and its intake's "reported by" and summary are stored in
Japanese: the city's record, kept as it is. Where the system wrote them from structured data (a
scan finding, a resident's "this was not me", the title by programme), the case also keeps a
language-neutral form beside them: `Case.texts` for the title and the resident, an entry's
`detail["text"]` for its summary, who reported (`party_label`) and who recorded it (`actor`, a
system account such as the resident page's; `Case.texts["opened_by"]` the same for the list). Each form is the English
message id and its parameters, a parameter differing by language kept as `{"ja": ..., "en": ...}`
(the shape `incidents.text` keeps, rendered by its `render`). A Japanese page shows the stored record; another language
renders the neutral form, and falls back to the stored words for a case opened before the forms
were kept, an unknown id or a broken parameter. Words an official typed have no neutral form and
show as typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_noop

from madoguchi.incidents import text as incident_text
from madoguchi.incidents.text import by_language  # noqa: F401  (the same parameter shape)
from madoguchi.language import page_language

SCAN_TITLE = gettext_noop("Possible mis-link found by the forensic scan: %(cause)s")
SCAN_REPORTED_BY = gettext_noop("Forensic scan %(run)s")
# A finding's reasoning: the scan's Japanese sentence and the scans app's English one.
SCAN_SUMMARY = gettext_noop("%(reasoning)s")
NOT_ME_TITLE = gettext_noop("The resident's report: a record they do not recognise")
NOT_ME_RESIDENT = gettext_noop("The resident who reported")
# The system account that opens the resident page's cases (its display name is Japanese).
NOT_ME_ACTOR = gettext_noop("Resident's page (the resident's own report)")
NOT_ME_REPORTED_BY = gettext_noop("The resident (on the resident's page, identified by their card)")
NOT_ME_SUMMARY = gettext_noop(
    "The resident reported on the resident's page that this was not them: %(item)s. "
    "Reason: %(reason)s"
)
NOT_ME_SUMMARY_COMMENT = gettext_noop(
    "The resident reported on the resident's page that this was not them: %(item)s. "
    "Reason: %(reason)s. The resident's comment: %(comment)s"
)
NOT_ME_ADDED = gettext_noop(
    "The resident also reported another record of the same visit as not them (added to this "
    "case): %(item)s. Reason: %(reason)s"
)
NOT_ME_ADDED_COMMENT = gettext_noop(
    "The resident also reported another record of the same visit as not them (added to this "
    "case): %(item)s. Reason: %(reason)s. The resident's comment: %(comment)s"
)
NOT_ME_ON_CASE = gettext_noop(
    "The resident reported on the resident's page that a record of this case was not them "
    "(added to this case): %(item)s. Reason: %(reason)s"
)
NOT_ME_ON_CASE_COMMENT = gettext_noop(
    "The resident reported on the resident's page that a record of this case was not them "
    "(added to this case): %(item)s. Reason: %(reason)s. The resident's comment: %(comment)s"
)
INTAKE_TITLE_POINTS = gettext_noop("A reported mis-grant of Mynapoint at a support desk")
INTAKE_TITLE_PUBLIC_FUND = gettext_noop(
    "A reported wrong public-fund account registration at a support desk"
)
INTAKE_TITLE_HEALTH_INSURANCE = gettext_noop(
    "A reported wrong health-insurance use registration at a support desk"
)
# A point case's re-grant step, as the system records it (the typed summary follows it). It
# names no payment service or account digits: the city's published report copies it.
REGRANT_SUMMARY = gettext_noop(
    "The %(points)s points returned from the wrong link were granted again to the payment "
    "service the resident applied for themselves."
)

# Only these ids are rendered; anything else shows the stored words.
KNOWN = frozenset(
    {
        SCAN_TITLE,
        SCAN_REPORTED_BY,
        SCAN_SUMMARY,
        NOT_ME_TITLE,
        NOT_ME_RESIDENT,
        NOT_ME_ACTOR,
        NOT_ME_REPORTED_BY,
        NOT_ME_SUMMARY,
        NOT_ME_SUMMARY_COMMENT,
        NOT_ME_ADDED,
        NOT_ME_ADDED_COMMENT,
        NOT_ME_ON_CASE,
        NOT_ME_ON_CASE_COMMENT,
        INTAKE_TITLE_POINTS,
        INTAKE_TITLE_PUBLIC_FUND,
        INTAKE_TITLE_HEALTH_INSURANCE,
        REGRANT_SUMMARY,
    }
)


def neutral(message_id: str, **params: Any) -> dict[str, Any]:
    """The neutral form to keep beside the stored Japanese words."""
    return {"id": message_id, "params": params}


def render(text: Any) -> str | None:
    """The neutral form in the active language; None when it cannot be rendered."""
    return incident_text.render(text, known=KNOWN)


def shown(texts: Any, key: str, stored: str) -> str:
    """What a page shows for one of a case's words: the stored Japanese on a Japanese page,
    else the neutral form kept under ``key`` rendered, else the stored words."""
    if page_language() == "ja" or not isinstance(texts, Mapping):
        return stored
    return render(texts.get(key)) or stored
