"""An audit event about a resident's record, opened in the admin, is read as that record is
(side doors, round 20): the link's own admin page asks why and records the read, but the same
link's event in the audit log (the masked account, the visit, the name check's outcome),
searchable by the link's id, was served with neither."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.models import PaymentLink
from madoguchi.identity.access import READ_PAGES
from madoguchi.residents.selectors import access_history
from tests.identity.test_admin_reads import opened, operator, reads  # noqa: F401
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.scan.test_scans_app import _exported_link

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("providers", "systems")]


def test_a_links_event_in_the_admins_audit_log_asks_why_and_is_a_read_on_the_residents_page(
    operator,  # noqa: F811
    trusted,
):
    _exported_link(trusted)
    link = PaymentLink.objects.get()
    event = AuditEvent.objects.get(event_name="benefits.link_created", subject_id=str(link.pk))
    url = f"/admin/audit/auditevent/{event.seq}/change/"
    before = reads(link.holder).count()
    page = opened(operator, url, reason="audit").content.decode()  # asked first, then shown
    assert link.masked_account in page
    assert reads(link.holder).count() == before + 1
    read = reads(link.holder).latest("seq")
    assert read.payload["page"] == "admin.audit.auditevent"
    assert read.payload["reason"] == "audit"
    assert read.payload["object"] == f"audit.auditevent:{event.seq}"
    assert access_history(link.holder)[0]["page"] == READ_PAGES["admin.audit.auditevent"]


def test_an_event_about_no_resident_is_shown_without_asking(operator, trusted):  # noqa: F811
    _exported_link(trusted)
    event = AuditEvent.objects.filter(event_name="terminals.registered").latest("seq")
    before = reads().count()
    page = operator.get(f"/admin/audit/auditevent/{event.seq}/change/")
    assert page.status_code == 200
    assert 'data-testid="reason-form"' not in page.content.decode()
    assert reads().count() == before
