"""An incident list's statements do not grow with its rows.

A visit that ended with a procedure pending says whether completions it committed stand, so its
sentence needs the visit's count of completions: a list counted them once per row (N+1).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from madoguchi.accounts.constants import Role
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from tests import factories
from tests.benefits.conftest import prepare, start_visit
from tests.incidents.test_incident_text import pages
from tests.visits import commit


def ended_with_pending(desk, card, *, committed: bool) -> None:
    """A visit of the card that ended with a procedure pending (after a completion or not)."""
    visit = start_visit(desk, card)
    if committed:
        prepare(desk, kind="test_link", account="PAY-B-0002", points=1)
        commit(desk, card)
    prepare(desk, kind="test_link", account="PAY-B-0002", points=2)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)


def statements(client, urls) -> dict[str, int]:
    counted = {}
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 200
        counted[name] = len(queries)
    return counted


@pytest.mark.django_db
def test_incident_lists_read_in_statements_constant_in_their_rows(client, trusted, desk, systems):
    card = trusted.card("B")
    ended_with_pending(desk, card, committed=True)
    client.force_login(factories.staff(Role.SUPERVISOR))
    urls = pages((desk.terminal,))
    one = statements(client, urls)
    for committed in (False, True, False):
        ended_with_pending(desk, card, committed=committed)
    assert Incident.objects.filter(kind=IncidentKind.VISIT_ENDED_WITH_PENDING).count() == 4
    many = statements(client, urls)
    assert many == one
    # The counts read at once still say which visits' completions stand.
    html = client.get(urls["incidents:list"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count("committed in the visit (1) stand") == 2
    assert html.count("procedure pending; nothing was committed.") == 2
