"""Officials' pages in chromium with a record whose text is long and unbroken (a pasted
address, a long kana run): the page stays within the window, the text wraps in its cell."""

from __future__ import annotations

import pytest

from madoguchi.cases import services as cases
from madoguchi.incidents import services as incidents
from madoguchi.incidents.models import Incident
from tests import factories

from .test_case_page import official_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = "https://example.invalid/" + "a" * 400


def test_a_long_unbroken_text_wraps_inside_the_page(official_page):  # noqa: F811
    """A complaint or case holding a 400-character word widened its table past the window: the
    page scrolled sideways and the other columns left the screen."""
    page, official, url = official_page
    terminal = factories.terminal()
    incidents.incident_complaint(
        recorded_by=official, terminal=terminal, summary=LONG, reported_by="ア" * 200
    )
    case = cases.case_open(
        actor=official,
        title=LONG[:250],
        resident_label="A氏",
        reported_by="A氏",
        summary=LONG,
        date_precision="unknown",
    )
    incident = Incident.objects.get()
    for path in (
        "/incidents/",
        "/officials/incidents/",
        "/cases/?reason=case_work",
        f"/incidents/{incident.pk}/?reason=incident",
        f"/cases/{case.pk}/?reason=case_work",
        f"/reports/{terminal.pk}/{incident.occurred_at.date().isoformat()}/",
    ):
        page.goto(url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
