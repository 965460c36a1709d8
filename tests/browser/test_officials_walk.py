"""The officials' walk at 1024 px, in Japanese and English: an incident opens one case (two
tabs sending the intake make one, the second told which case it has), the officials' pages and
the daily report stay within the window."""

from __future__ import annotations

import pytest
from django.utils import timezone

from madoguchi.cases.models import Case
from madoguchi.incidents import services as incidents
from madoguchi.incidents.models import Incident
from tests import factories

from .test_case_page import official_page  # noqa: F401
from .test_narrow_window import BROKEN_WORDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_an_incident_opens_one_case_from_two_tabs_at_1024(official_page):  # noqa: F811
    page, official, url = official_page
    page.set_viewport_size({"width": 1024, "height": 800})
    terminal = factories.terminal()
    incidents.incident_complaint(
        recorded_by=official,
        terminal=terminal,
        summary="窓口で別人の口座を案内された",
        reported_by="A氏",
    )
    incident = Incident.objects.get()
    page.goto(f"{url}/incidents/{incident.pk}/")
    page.get_by_test_id("incident-open-case").click()
    other = page.context.new_page()
    other.goto(page.url)  # the same intake in a second tab
    for tab in (page, other):
        tab.fill("input[name=resident_label]", "A氏")
    page.locator("main form.card button[type=submit]").click()
    page.wait_for_url("**/cases/*/")
    other.locator("main form.card button[type=submit]").click()
    case = Case.objects.get()
    assert case.incident_id == incident.pk
    assert f"このインシデントにはすでにケース {case.reference} があります" in other.inner_text(
        "[data-testid=incident-has-case]"
    )
    other.get_by_test_id("incident-case").click()
    other.wait_for_url(f"**/cases/{case.pk}/**")
    page.goto(f"{url}/incidents/{incident.pk}/")
    assert page.get_by_test_id("incident-open-case").count() == 0
    assert page.inner_text("[data-testid=incident-case]") == (
        f"このインシデントからはケース {case.reference} が開かれています。"
    )
    day = timezone.localdate().isoformat()
    for lang in ("ja", "en"):
        for path in (
            f"/incidents/{incident.pk}/",
            f"/cases/new/?incident={incident.pk}",
            "/officials/",
            "/officials/incidents/?reason=daily_check",
            "/incidents/?reason=daily_check",
            f"/reports/{terminal.pk}/{day}/?reason=daily_check",
            "/cases/?reason=case_work",
            f"/cases/{case.pk}/?reason=case_work",
        ):
            sep = "&" if "?" in path else "?"
            page.goto(f"{url}{path}{sep}lang={lang}")
            assert page.evaluate(OVERFLOW) <= 0, (lang, path)
            # An English word or a code breaks between words, never inside one: the daily
            # report read "Complai|nt" and "automaticall|y", the case list "CASE-|00001".
            if lang == "en":
                broken = page.locator("main td, main th, main dd").evaluate_all(BROKEN_WORDS)
                assert broken == [], (path, broken)
    page.goto(f"{url}/officials/?lang=ja")
    assert page.inner_text("[data-testid=visit-count]") == "0 件（受付中 0 件）"
    page.goto(f"{url}/officials/?lang=en")
    assert page.inner_text("[data-testid=visit-count]") == "(0 visits, 0 open)"
