"""The case list asks a city official why before it shows any case (side doors, round 10),
over real HTTP: it names each case's resident as reported, which for a case `scan open-cases`
opened is the scan's resident id, the same the finding's own page asks a reason for."""

import re

import httpx
import pytest
from django_otp.oath import totp

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from tests import factories
from tests.cases.conftest import open_case


@pytest.fixture
def server(live_server, settings):
    settings.MADOGUCHI_ORIGIN = live_server.url
    settings.SECURE_SSL_REDIRECT = False
    return live_server.url


def _reads():
    return AuditEvent.objects.filter(event_name="identity.record_read", payload__page="cases.list")


def test_the_case_list_asks_an_official_why_before_naming_any_resident(server):
    # A reason that is not one of the list is asked for as none.
    official = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(official)
    with httpx.Client(base_url=server, timeout=30, follow_redirects=False) as http:
        signed = factories.sign_in_over_http(http, official, f"{totp(device.bin_key):06d}")
        assert signed.status_code == 302
        # No case yet: nothing of a resident to show, nothing asked.
        assert "理由" not in http.get("/cases/").text

        case = open_case(official, resident_label="R-000123")
        assert 'name="reason"' in http.get("/cases/", params={"reason": "curious"}).text
        page = http.get("/cases/", params={"page": "1"})
        assert page.status_code == 200
        assert "R-000123" not in page.text, "the list named the resident before a reason"
        assert case.reference not in page.text
        assert 'name="reason"' in page.text
        assert 'name="page" value="1"' in page.text  # the reason form keeps the page asked
        assert not _reads().exists()

        listed = http.get("/cases/", params={"page": "1", "reason": "case_work"}).text
        assert "R-000123" in listed
        assert re.search(rf">{case.reference}<", listed)
        read = _reads().get()
        assert read.payload["reason"] == "case_work"
        assert read.payload["object"] == f"cases.case:{case.pk}"
        # Another look in the same sign-in keeps the reason given for the list.
        assert "R-000123" in http.get("/cases/").text


def test_desk_staff_see_their_own_intakes_without_being_asked(server):
    desk = factories.staff(Role.SUPERVISOR)
    open_case(desk, resident_label="B氏")
    with httpx.Client(base_url=server, timeout=30, follow_redirects=False) as http:
        assert factories.sign_in_over_http(http, desk).status_code == 302
        assert "B氏" in http.get("/cases/").text
