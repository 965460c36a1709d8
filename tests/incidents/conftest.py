import pytest

from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.benefits.conftest import (  # noqa: F401 (fixtures)
    ORIGIN,
    minor_card,
    providers,
    sims,
    support_keys,
    systems,
)


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.BENEFITS_CERTIFIED_READING = ""


@pytest.fixture
def desk(db):
    return terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )


def login_at_desk(client, desk):
    # The browser is bound to the desk's terminal, as an enrolled terminal's browser is.
    raw = terminal_services.credential_issue(terminal=desk.terminal, actor=None).raw
    assert client.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    client.force_login(desk.staff)
    session = client.session
    session["desk_session_id"] = desk.pk
    session.save()
