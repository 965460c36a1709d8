"""A recorded run's report through the officials' pages asks the reason first, over real
HTTP (side doors, round 7): it holds, for up to 200 findings, what a finding's page shows
(the residents' ids, the desk's events around the commit with other residents' ids), and the
finding page asks a reason before showing one."""

import httpx
import pytest
from django.urls import reverse
from django_otp.oath import totp

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from tests import factories
from tests.scan.test_scans_app import _record


@pytest.fixture
def official_http(live_server, settings):
    settings.MADOGUCHI_ORIGIN = live_server.url
    settings.SECURE_SSL_REDIRECT = False
    official = factories.staff(Role.CITY_OFFICIAL)  # テスト市, the scan's municipality code
    device = factories.totp_device(official)
    with httpx.Client(base_url=live_server.url, timeout=30, follow_redirects=False) as http:
        signed_in = factories.sign_in_over_http(http, official, f"{totp(device.bin_key):06d}")
        assert signed_in.status_code == 302
        yield http


@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_the_runs_report_asks_the_reason_before_giving_the_findings(official_http, tmp_path, kind):
    run = _record(tmp_path)
    url = reverse(f"scans:run_report_{kind}", args=[run.pk])
    reads = AuditEvent.objects.filter(event_name="identity.record_read")

    asked = official_http.get(url)
    assert asked.status_code == 200
    assert "Content-Disposition" not in asked.headers, "the report was given without a reason"
    assert asked.headers["Content-Type"].startswith("text/html")
    assert 'name="reason"' in asked.text
    # The finding's link id as page text (a bare "L3" can occur in a random CSRF token).
    assert ">L3<" not in asked.text
    assert "カードの読み取り" not in asked.text
    assert not reads.exists()

    given = official_http.get(url, params={"reason": "audit"})
    assert given.headers["Content-Disposition"] == (
        f'attachment; filename="scan-{run.pk}-report.{kind}"'
    )
    if kind == "html":
        assert ">L3<" in given.text, "the check above looks for what the report shows"
    read = reads.get()
    assert read.payload["page"] == "scans.report"
    assert read.payload["reason"] == "audit"
