import pytest

from madoguchi.terminals import services as terminal_services
from tests import factories

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN


@pytest.fixture
def desk(db):
    terminal = factories.terminal()
    return terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())


@pytest.fixture
def checklist(db):
    from madoguchi.checklists import services

    return services.template_install_default()
