"""The operators' admin page of an outbox call shows a resident's health-insurance registration
(insurer number, masked insured number, the insurer's reference): it showed them with no reason
asked and no read recorded, where the registration's own admin page asks why and records the
read (docs/resident.md, "The operators' Django admin")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.desk.models import Procedure
from tests.benefits import builders
from tests.identity.test_admin_reads import opened, operator, reads  # noqa: F401 -- the fixture

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
        key="outbox-read-1",
        kind="insurer.register_use",
        payload={},
        state="done",
        next_attempt_at=timezone.now() + timedelta(minutes=1),
        result={"registration_ref": "INS-REF-7788", "status": "registered"},
        registration=reg,
        procedure=procedure,
    )
    return h, reg, call


def test_the_admins_outbox_call_page_asks_why_and_records_the_read(operator):  # noqa: F811
    h, _reg, call = _registration()
    url = f"/admin/benefits/outsidecall/{call.pk}/change/"
    asked = operator.get(url).content.decode()
    assert "0045" not in asked  # nothing shown before a reason
    assert "INS-REF-7788" not in asked
    assert not reads().exists()
    # As the registration's own admin page does: a reason first, and the read recorded.
    text = opened(operator, url, reason="resident_inquiry").content.decode()
    assert "0045" in text or "INS-REF-7788" in text  # the page shows the resident's registration
    (read,) = reads(h)
    assert read.payload["page"] == "admin.benefits.outsidecall"
    assert read.payload["object"] == f"benefits.outsidecall:{call.pk}"
    assert read.payload["reason"] == "resident_inquiry"


def test_the_admins_list_of_outbox_calls_shows_no_resident_and_asks_nothing(operator):  # noqa: F811
    _registration()
    page = operator.get("/admin/benefits/outsidecall/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="reason-form"' not in text
    assert "0045" not in text
    assert "INS-REF-7788" not in text
    assert not reads().exists()


def test_a_cancel_calls_page_is_a_read_of_the_registrations_resident(operator):  # noqa: F811
    h, reg, _call = _registration()
    cancel = OutsideCall.objects.create(
        key="outbox-read-2",
        kind="insurer.cancel_registration",
        payload={},
        state="pending",
        next_attempt_at=timezone.now() + timedelta(minutes=1),
        cancels=reg,
    )
    opened(operator, f"/admin/benefits/outsidecall/{cancel.pk}/change/", reason="case_work")
    (read,) = reads(h)
    assert read.payload["object"] == f"benefits.outsidecall:{cancel.pk}"
