"""Side doors, round 18: a superuser (the demo's operator; every page lets one in) opened the
incident lists, an incident and a desk's daily report of residents' visits without being asked
why, and each read was recorded with no reason."""

import pytest
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEvent
from madoguchi.incidents.models import Incident
from tests import factories
from tests.officials.test_pages import _origin, two_visits  # noqa: F401

pytestmark = pytest.mark.django_db


def _reads():
    return list(
        AuditEvent.objects.filter(event_name="identity.record_read").values_list(
            "payload__reason", flat=True
        )
    )


@pytest.mark.parametrize(
    "path",
    ["/officials/incidents/", "/incidents/", "/incidents/{pk}/", "/reports/{terminal}/{day}/"],
)
def test_a_superuser_is_asked_why_before_residents_records(client, two_visits, path):  # noqa: F811
    admin = User.objects.create_superuser("root", password=factories.PASSWORD)
    factories.verified_login(client, admin)
    incident = Incident.objects.filter(visit=two_visits[0]).first()
    url = path.format(
        pk=incident.pk,
        terminal=two_visits[0].terminal_id,
        day=timezone.localdate(two_visits[0].started_at).isoformat(),
    )
    before = _reads()
    html = client.get(url).content.decode()
    assert 'data-testid="reason-form"' in html
    assert _reads() == before
    response = client.get(url, {"reason": "audit"})
    assert response.status_code == 200
    new = _reads()[len(before) :]
    assert new
    assert set(new) == {"audit"}
