"""Probe B (issue #14 acceptance): the operators' admin page of an outbox call shows a
resident's health-insurance registration (insurer number, masked insured number, the insurer's
reference) with no reason asked and no read recorded, where the registration's own admin page
asks why and records the read (docs/resident.md, "The operators' Django admin")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.desk.models import Procedure
from tests.benefits import builders
from tests.identity.test_admin_reads import operator, reads  # noqa: F401 -- the fixture

pytestmark = pytest.mark.django_db


def _registration():
    h = builders.holder()
    link = builders.link(
        h, programme=builders.programme(), provider=builders.provider(), account="7010000000000009"
    )
    procedure = Procedure.objects.create(
        visit=link.visit, kind="health_insurance", status="committed"
    )
    reg = HealthInsuranceRegistration.objects.create(
        holder=h,
        visit=link.visit,
        procedure=procedure,
        completion=link.completion,
        insurer_number="06139992",
        insured_hash="0" * 64,
        insured_last4="0045",
        registration_ref="INS-REF-7788",
        insurer_status="registered",
        insured_name_kana="ヤマダ タロウ",
    )
    call = OutsideCall.objects.create(
        key="probe-b-1",
        kind="insurer.register",
        payload={},
        state="done",
        next_attempt_at=timezone.now() + timedelta(minutes=1),
        result={"registration_ref": "INS-REF-7788", "status": "registered"},
        registration=reg,
        procedure=procedure,
    )
    return h, reg, call


def test_probe_b_the_admins_outbox_call_page_asks_why_and_records_the_read(operator):  # noqa: F811
    h, reg, call = _registration()
    page = operator.get(f"/admin/benefits/outsidecall/{call.pk}/change/")
    text = page.content.decode()
    shows_resident = "0045" in text or "INS-REF-7788" in text
    assert shows_resident  # the page shows the resident's registration
    # As the registration's own admin page does: a reason first, and the read recorded.
    assert 'data-testid="reason-form"' in text, "no reason asked before the resident's record"
    assert reads(h).exists()
